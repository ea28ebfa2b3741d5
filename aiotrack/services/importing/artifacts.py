"""`--copy-artifacts`: copy the artifacts of imported runs and logged models from MLflow's
artifact destination to aiotrack's.

Only proxied locations (``mlflow-artifacts:/...``, and http(s) URLs of the proxy route) are
copied: their URIs name a path under the destination, so the same URI then resolves to the copy.
Absolute locations (``s3://``, ``file://``, local paths) are left where they are and keep working
as they did; the summary counts them. A file already present with the same size is not copied
again, so a rerun after an interruption only copies what is missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from aiotrack.artifacts.base import ArtifactRepository
from aiotrack.artifacts.locations import join
from aiotrack.config import Settings
from aiotrack.services.artifact_uris import ArtifactLocations

_PARALLEL = 8


@dataclass
class CopyStats:
    roots: int = 0
    files: int = 0
    bytes: int = 0
    skipped_present: int = 0
    left_in_place: int = 0


class ArtifactCopier:
    def __init__(self, source_destination: str, target_destination: str):
        self._source = ArtifactLocations(Settings(artifacts_destination=source_destination))
        self._target = ArtifactLocations(Settings(artifacts_destination=target_destination))
        self.stats = CopyStats()

    async def start(self) -> None:
        for repo in (*self._source.repositories(), *self._target.repositories()):
            await repo.start()

    async def close(self) -> None:
        for repo in (*self._source.repositories(), *self._target.repositories()):
            await repo.close()

    async def copy_roots(self, uris: Iterable[str | None]) -> None:
        for uri in uris:
            if not uri:
                continue
            src = self._source.resolve_run_root(uri) if _proxied(uri) else None
            dst = self._target.resolve_run_root(uri) if src is not None else None
            if src is None or dst is None:
                self.stats.left_in_place += 1
                continue
            self.stats.roots += 1
            await self._copy_tree(src[0], src[1], dst[0], dst[1])

    async def _copy_tree(self, src: ArtifactRepository, src_root: str, dst: ArtifactRepository, dst_root: str) -> None:
        files: list[tuple[str, int | None]] = []
        pending = [src_root]
        while pending:
            path = pending.pop()
            for info in await src.list(path):
                (pending.append(info.path) if info.is_dir else files.append((info.path, info.file_size)))
        if not files and not await src.is_dir(src_root) and await src.stat(src_root) is None:
            return
        gate = asyncio.Semaphore(_PARALLEL)

        async def one(path: str, size: int | None) -> None:
            rel = path[len(src_root) :].lstrip("/") if src_root else path
            target = join(dst_root, rel)
            async with gate:
                present = await dst.stat(target)
                if present is not None and size is not None and present.size == size:
                    self.stats.skipped_present += 1
                    return
                written = await dst.write(target, src.read(path))
            self.stats.files += 1
            self.stats.bytes += written

        await asyncio.gather(*(one(p, s) for p, s in files))


def _proxied(uri: str) -> bool:
    return uri.startswith("mlflow-artifacts:") or (
        uri.startswith(("http://", "https://")) and "/mlflow-artifacts/artifacts" in uri
    )
