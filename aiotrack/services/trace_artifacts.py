"""A trace's files in the artifact repositories: the ``traces.json`` a client uploaded to
``<experiment location>/traces/<trace_id>/artifacts`` (read when its spans are not in the
database), and the whole trace folder (deleted with the trace)."""

from __future__ import annotations

import logging

from aiotrack.artifacts.locations import join
from aiotrack.services.artifact_uris import ArtifactLocations

log = logging.getLogger("aiotrack.traces")

# A traces.json larger than this is not loaded into memory to answer a request.
MAX_TRACE_DATA_BYTES = 256 * 1024 * 1024


class TraceArtifacts:
    def __init__(self, locations: ArtifactLocations):
        self.locations = locations

    async def read(self, uri: str) -> bytes | None:
        """The file at ``uri`` (an artifact URI), or None when it does not exist or this server
        cannot reach the location."""
        head, _, name = uri.rpartition("/")
        resolved = self.locations.resolve_run_root(head)
        if resolved is None:
            return None
        repo, base = resolved
        path = join(base, name)
        stat = await repo.stat(path)
        if stat is None:
            return None
        if stat.size > MAX_TRACE_DATA_BYTES:
            log.warning("Trace data %s is %d bytes; not loaded", uri, stat.size)
            return None
        chunks = [chunk async for chunk in repo.read(path)]
        return b"".join(chunks)

    async def delete(self, location: str) -> None:
        """Remove a deleted trace's folder (``.../traces/<id>``, its ``artifacts`` included)."""
        folder = location[: -len("/artifacts")] if location.endswith("/artifacts") else location
        resolved = self.locations.resolve_run_root(folder)
        if resolved is None:
            return
        repo, path = resolved
        if not path:
            return
        try:
            await repo.delete(path)
        except Exception:  # the database rows are gone already; a leftover file is only logged
            log.exception("Could not delete the artifacts of a deleted trace at %s", location)
