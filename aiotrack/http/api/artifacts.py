"""Artifacts: the mlflow-artifacts proxy API, run artifact listing, and the UI's file endpoints.

Under /api/2.0/mlflow-artifacts/ (and /ajax-api/): PUT/GET/DELETE ``artifacts/<path>``, GET
``artifacts?path=`` (list), POST ``mpu/create|complete|abort/<path>``, GET ``presigned/<path>``.
Bodies stream both ways in ~1 MiB chunks: uploads go from ``request.content`` to the repository
without being held; local downloads are sent with sendfile (FileResponse, Range honoured), S3
downloads stream chunk by chunk with Range handled here.

Every client path passes :func:`aiotrack.artifacts.locations.relative_path` (400 "Invalid path")
before touching a repository. Served files are always attachments with ``nosniff`` and a
sandboxing CSP; HTML-like types are sent as text/plain.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from collections.abc import AsyncIterator
from email.utils import formatdate
from pathlib import Path
from typing import Any, Literal

from aiohttp import web
from aiohttp.typedefs import Handler

from aiotrack.artifacts.base import CHUNK_SIZE, ArtifactRepository
from aiotrack.artifacts.content import ARTIFACT_CSP, content_disposition, guess_content_type
from aiotrack.artifacts.locations import INVALID_PATH, join, relative_path
from aiotrack.errors import RESOURCE_DOES_NOT_EXIST, AiotrackError, invalid
from aiotrack.http import keys
from aiotrack.http.codec import Args, empty_response, json_response, read_args
from aiotrack.http.routing import Routes
from aiotrack.services.artifact_uris import ArtifactLocations

routes = Routes()

PRESIGNED_DOWNLOAD_EXPIRES = 300

_RULE_ARTIFACT = "/api/2.0/mlflow-artifacts/artifacts/<path:artifact_path>"
_RULE_LIST = "/api/2.0/mlflow-artifacts/artifacts"
_RULE_MPU = "/api/2.0/mlflow-artifacts/mpu/{}/<path:artifact_path>"
_RULE_PRESIGNED = "/api/2.0/mlflow-artifacts/presigned/<path:artifact_path>"


def _disabled(rule: str, why: str, enable: str) -> web.Response:
    """MLflow's 503 (text/html) for an endpoint the server's mode turns off."""
    return web.Response(status=503, content_type="text/html", text=f"Endpoint: {rule} disabled due to {why}. {enable}")


def artifacts_only_refusal(rule: str) -> web.Response:
    """MLflow's answer to a tracking endpoint on an `--artifacts-only` server."""
    return _disabled(
        rule,
        "the mlflow server running in `--artifacts-only` mode",
        "To enable tracking server functionality, run `mlflow server` without `--artifacts-only`",
    )


def _no_serve_refusal(rule: str) -> web.Response:
    return _disabled(
        rule,
        "the mlflow server running with `--no-serve-artifacts`",
        "To enable artifacts server functionality, run `mlflow server` with `--serve-artifacts`",
    )


class _Refused(Exception):
    def __init__(self, response: web.Response):
        self.response = response


def _locations(request: web.Request) -> ArtifactLocations:
    return request.app[keys.ARTIFACTS]


def _proxy(request: web.Request, rule: str) -> ArtifactRepository:
    repo = _locations(request).proxy
    if repo is None:
        raise _Refused(_no_serve_refusal(rule))
    return repo


def _refusable(handler: Handler) -> Handler:
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except _Refused as r:
            return r.response

    wrapper.__name__ = handler.__name__
    wrapper.__doc__ = handler.__doc__
    return wrapper


def _artifact_path(request: web.Request) -> str:
    path = relative_path(request.match_info["artifact_path"])
    if not path:
        raise invalid(INVALID_PATH)
    return path


async def _body_chunks(request: web.Request) -> AsyncIterator[bytes]:
    """The request body in chunks of about CHUNK_SIZE (small network reads are gathered)."""
    buf = bytearray()
    while True:
        data = await request.content.read(CHUNK_SIZE)
        if not data:
            break
        buf += data
        if len(buf) >= CHUNK_SIZE:
            yield bytes(buf)
            buf.clear()
    if buf:
        yield bytes(buf)


# ---------------------------------------------------------------------- serving files


class _PlainFileResponse(web.FileResponse):
    """FileResponse that always sends the named file: aiohttp's default would send a sibling
    ``<name>.gz``/``<name>.br`` instead when the client accepts that encoding, which for
    artifacts would be another artifact's bytes."""

    def _get_file_path_stat_encoding(self, accept_encoding: str) -> tuple[Path | None, os.stat_result, str | None]:
        return super()._get_file_path_stat_encoding("")


def _file_headers(name: str) -> dict[str, str]:
    return {
        "Content-Type": guess_content_type(name),
        "Content-Disposition": content_disposition(posixpath.basename(name)),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": ARTIFACT_CSP,
        "Cache-Control": "no-cache",
    }


def _parse_range(header: str | None, size: int) -> tuple[int, int] | Literal[False] | None:
    """(start, end_exclusive) for one satisfiable range; None to send everything (no header,
    an unparsable one, or several ranges); False when unsatisfiable."""
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, sep, last = spec.strip().partition("-")
    if not sep:
        return None
    try:
        if first == "":
            n = int(last)
            if n <= 0:
                return False
            return (max(0, size - n), size) if size else False
        start = int(first)
        end = int(last) + 1 if last else size
    except ValueError:
        return None
    if start < 0 or end <= start:
        return None if end <= start and last else False
    if start >= size:
        return False
    return start, min(end, size)


async def serve_artifact(request: web.Request, repo: ArtifactRepository, path: str) -> web.StreamResponse:
    """Send the file at the canonical relative ``path`` of ``repo`` as a download: sendfile for
    local files, a chunked stream otherwise; Range honoured; 404 when missing, 400 for a
    directory. Reusable by any endpoint that serves artifact bytes (run and model-version)."""
    st = await repo.stat(path) if path else None
    if st is None:
        if not path or await repo.is_dir(path):
            raise invalid(f"Artifact path refers to a directory, not a file: '{path}'")
        raise AiotrackError(f"No such artifact: '{path}'", RESOURCE_DOES_NOT_EXIST)
    headers = _file_headers(path)
    local = repo.local_path(path)
    if local is not None:
        return _PlainFileResponse(local, chunk_size=256 * 1024, headers=headers)

    size = st.size
    rng = _parse_range(request.headers.get("Range"), size)
    resp = web.StreamResponse(headers=headers)
    resp.headers["Accept-Ranges"] = "bytes"
    if st.etag:
        resp.headers["ETag"] = st.etag
    if st.mtime is not None:
        resp.headers["Last-Modified"] = formatdate(st.mtime, usegmt=True)
    if rng is False:
        resp.set_status(416)
        resp.headers["Content-Range"] = f"bytes */{size}"
        resp.content_length = 0
        await resp.prepare(request)
        return resp
    start, end = rng if rng else (0, size)
    if rng:
        resp.set_status(206)
        resp.headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    resp.content_length = end - start
    await resp.prepare(request)
    if end > start:
        async with contextlib.aclosing(repo.read(path, start, end)) as chunks:
            async for chunk in chunks:
                await resp.write(chunk)
    await resp.write_eof()
    return resp


# ---------------------------------------------------------------------- mlflow-artifacts proxy


@routes.put("2.0/mlflow-artifacts/artifacts/{artifact_path:.+}")
@_refusable
async def upload_artifact(request: web.Request) -> web.Response:
    repo = _proxy(request, _RULE_ARTIFACT)
    path = _artifact_path(request)
    await repo.write(path, _body_chunks(request))
    return empty_response()


@routes.get("2.0/mlflow-artifacts/artifacts/{artifact_path:.+}")
@_refusable
async def download_artifact(request: web.Request) -> web.StreamResponse:
    repo = _proxy(request, _RULE_ARTIFACT)
    return await serve_artifact(request, repo, _artifact_path(request))


@routes.get("2.0/mlflow-artifacts/artifacts")
@_refusable
async def list_artifacts(request: web.Request) -> web.Response:
    repo = _proxy(request, _RULE_LIST)
    path = relative_path(request.query.get("path"))
    infos = await repo.list(path)
    files = [f.to_json(posixpath.basename(f.path)) for f in infos]
    return json_response({"files": files} if files else {})


@routes.delete("2.0/mlflow-artifacts/artifacts/{artifact_path:.+}")
@_refusable
async def delete_artifact(request: web.Request) -> web.Response:
    repo = _proxy(request, _RULE_ARTIFACT)
    await repo.delete(_artifact_path(request))
    return empty_response()


def _upload_name(local_file: str) -> str:
    """The file name part of the client's local path (the client sends its own path; S3 keys
    get its base name, as with MLflow). Either separator counts, for Windows clients."""
    name = local_file.replace("\\", "/").rsplit("/", 1)[-1]
    name = relative_path(name)
    if not name or "/" in name:
        raise invalid(INVALID_PATH)
    return name


async def _multipart_request(request: web.Request, action: str) -> tuple[ArtifactRepository, Args, str]:
    """(repository, arguments, key) of an ``mpu/<action>`` request. The key is the artifact path
    joined with the base name of the client's file; for a repository without multipart uploads
    it is the bare path, and the repository's call answers MLflow's NOT_IMPLEMENTED refusal."""
    repo = _proxy(request, _RULE_MPU.format(action))
    path = _artifact_path(request)
    args = await read_args(request)
    local_file = args.str("path", required=True)
    return repo, args, join(path, _upload_name(local_file)) if repo.supports_multipart else path


@routes.post("2.0/mlflow-artifacts/mpu/create/{artifact_path:.+}")
@_refusable
async def create_multipart_upload(request: web.Request) -> web.Response:
    repo, args, target = await _multipart_request(request, "create")
    upload_id, creds = await repo.create_multipart(target, args.int("num_parts", default=1))
    return json_response({"upload_id": upload_id, "credentials": [c.to_json() for c in creds]})


@routes.post("2.0/mlflow-artifacts/mpu/complete/{artifact_path:.+}")
@_refusable
async def complete_multipart_upload(request: web.Request) -> web.Response:
    repo, args, target = await _multipart_request(request, "complete")
    upload_id = args.str("upload_id", required=True)
    raw_parts = args.raw("parts")
    if raw_parts is None:
        args.str("parts", required=True)
    parts = []
    for i, p in enumerate(args.obj_list("parts")):
        number, etag = p.get("part_number"), p.get("etag")
        if isinstance(number, str) and number.isdigit():
            number = int(number)
        if not isinstance(number, int) or isinstance(number, bool) or not isinstance(etag, str):
            raise invalid(f"Invalid value for parts[{i}]: expected part_number (int) and etag (string).")
        parts.append((number, etag))
    await repo.complete_multipart(target, upload_id, parts)
    return empty_response()


@routes.post("2.0/mlflow-artifacts/mpu/abort/{artifact_path:.+}")
@_refusable
async def abort_multipart_upload(request: web.Request) -> web.Response:
    repo, args, target = await _multipart_request(request, "abort")
    await repo.abort_multipart(target, args.str("upload_id", required=True))
    return empty_response()


@routes.get("2.0/mlflow-artifacts/presigned/{artifact_path:.+}")
@_refusable
async def presigned_download(request: web.Request) -> web.Response:
    repo = _proxy(request, _RULE_PRESIGNED)
    path = _artifact_path(request)
    return json_response(await repo.presigned_download(path, PRESIGNED_DOWNLOAD_EXPIRES))


# ---------------------------------------------------------------------- run artifacts (tracking side)


def _tracking_refusal(request: web.Request, rule: str) -> web.Response | None:
    if request.app[keys.SETTINGS].artifacts_only:
        return artifacts_only_refusal(rule)
    return None


async def run_artifact_root(request: web.Request, run_id: str) -> tuple[str, ArtifactRepository, str]:
    """(artifact_uri, repository, base path) of a run's artifacts; 404 for an unknown run."""
    run = await request.app[keys.TRACKING].get_run(run_id)
    artifact_uri = run["info"]["artifact_uri"]
    resolved = _locations(request).resolve_run_root(artifact_uri)
    if resolved is None:
        raise invalid(
            f"The artifacts of run '{run_id}' are stored at '{artifact_uri}', which this server does not "
            "serve (outside its configured artifact roots, or proxied artifacts with --no-serve-artifacts)."
        )
    repo, base = resolved
    return artifact_uri, repo, base


@routes.get("2.0/mlflow/artifacts/list")
async def list_run_artifacts(request: web.Request) -> web.Response:
    if (refusal := _tracking_refusal(request, "/api/2.0/mlflow/artifacts/list")) is not None:
        return refusal
    args = await read_args(request)
    run_id = args.str("run_id") or args.str("run_uuid")
    if not run_id:
        run_id = args.str("run_id", required=True)  # raises MLflow's missing-value error
    raw_path = args.str("path")
    path = relative_path(raw_path) if raw_path is not None else ""
    artifact_uri, repo, base = await run_artifact_root(request, run_id)
    infos = await repo.list(join(base, path))
    files = [f.to_json(join(path, posixpath.basename(f.path))) for f in infos]
    out: dict[str, Any] = {"root_uri": artifact_uri}
    if files:
        out["files"] = files
    return json_response(out)


@routes.get("/get-artifact", api=False)
async def get_artifact(request: web.Request) -> web.StreamResponse:
    if (refusal := _tracking_refusal(request, "/get-artifact")) is not None:
        return refusal
    query = request.query
    run_id = query.get("run_id") or query.get("run_uuid")
    if not run_id:
        raise invalid("Missing value for required parameter 'run_id'.")
    raw_path = query.get("path")
    if raw_path is None:
        raise invalid("Missing value for required parameter 'path'.")
    path = relative_path(raw_path)
    _uri, repo, base = await run_artifact_root(request, run_id)
    return await serve_artifact(request, repo, join(base, path))
