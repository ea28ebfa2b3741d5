"""The artifact repository contract: async chunk iterators in and out.

A repository stores bytes under canonical relative paths (see :mod:`aiotrack.artifacts.locations`;
callers validate before calling). Bodies are never held whole: uploads arrive as an async
iterator of chunks (~1 MiB), downloads leave as one. Implementations:

* :class:`aiotrack.artifacts.local.LocalArtifactRepository` - a directory; atomic writes
  (temp file + rename), file I/O in a thread, downloads by sendfile (``local_path``).
* :class:`aiotrack.artifacts.s3.S3ArtifactRepository` - a bucket/prefix through aiobotocore;
  multipart upload from the chunk stream, ranged streaming reads, presigned part URLs.
"""

from __future__ import annotations

import abc
import asyncio
import builtins
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiotrack.errors import NOT_IMPLEMENTED, AiotrackError

CHUNK_SIZE = 1024 * 1024

# MLflow's _UnsupportedMultipartUploadException.MESSAGE: the client matches this prefix to fall
# back to one streamed PUT.
MULTIPART_UPLOAD_UNSUPPORTED = "Multipart upload is not supported for the current artifact repository"
MULTIPART_DOWNLOAD_UNSUPPORTED = "Multipart download is not supported for the current artifact repository"


@dataclass(frozen=True)
class FileInfo:
    path: str  # relative to the listed directory's root (the repository root)
    is_dir: bool
    file_size: int | None = None

    def to_json(self, path: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path if path is None else path, "is_dir": self.is_dir}
        if not self.is_dir and self.file_size is not None:
            out["file_size"] = self.file_size
        return out


@dataclass(frozen=True)
class ObjectStat:
    size: int
    mtime: float | None = None
    etag: str | None = None


@dataclass(frozen=True)
class MultipartCredential:
    part_number: int
    url: str
    headers: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"part_number": self.part_number, "url": self.url, "headers": self.headers}


class Repeating:
    """A repository's background job (the sweep of interrupted uploads): run at start, then every
    ``interval`` seconds in a task of its own, until :meth:`stop`. The job logs its own failures:
    one that raises would end the repetition."""

    def __init__(self, job: Callable[[], Awaitable[None]], interval: float, name: str) -> None:
        self._job = job
        self._interval = interval
        self._name = name
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._forever(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _forever(self) -> None:
        while True:
            await self._job()
            await asyncio.sleep(self._interval)


class ArtifactRepository(abc.ABC):
    """Bytes under canonical relative paths. All methods may raise AiotrackError (MLflow codes)."""

    #: A short description for logs and error messages (never a secret).
    description: str = ""
    #: Whether create/complete/abort_multipart and presigned URLs work (S3 yes, local no).
    supports_multipart: bool = False

    async def start(self) -> None:  # noqa: B027 - an optional hook: most repositories need no setup
        """Open clients, clean up leftovers of interrupted uploads. Called once per worker."""

    async def close(self) -> None:  # noqa: B027 - an optional hook: most repositories hold nothing
        """Release clients. Called once per worker at shutdown."""

    @abc.abstractmethod
    async def write(self, path: str, chunks: AsyncIterator[bytes]) -> int:
        """Store the chunks under ``path`` (replacing a file there). Nothing is visible under
        ``path`` unless every chunk arrived: a failure or cancellation midway leaves the old
        state. Returns the number of bytes written."""

    @abc.abstractmethod
    async def stat(self, path: str) -> ObjectStat | None:
        """Size of the file at ``path``; None when there is no file (missing or a directory)."""

    @abc.abstractmethod
    async def is_dir(self, path: str) -> bool:
        """Whether ``path`` names a directory (a key prefix with something under it on S3)."""

    @abc.abstractmethod
    def read(self, path: str, start: int = 0, end: int | None = None) -> AsyncGenerator[bytes, None]:
        """Chunks of the file from byte ``start`` up to ``end`` (exclusive; None = to the end)."""

    @abc.abstractmethod
    async def list(self, path: str) -> list[FileInfo]:
        """Direct children of directory ``path`` ('' = root), with paths relative to the
        repository root; [] when ``path`` is a file or does not exist. Sorted by path."""

    @abc.abstractmethod
    async def delete(self, path: str) -> None:
        """Delete the file or the whole directory at ``path``; missing is not an error."""

    def local_path(self, path: str) -> Path | None:
        """A filesystem path to serve with sendfile, when the repository is local."""
        return None

    async def create_multipart(self, path: str, num_parts: int) -> tuple[str, builtins.list[MultipartCredential]]:
        raise AiotrackError(MULTIPART_UPLOAD_UNSUPPORTED, NOT_IMPLEMENTED)

    async def complete_multipart(self, path: str, upload_id: str, parts: builtins.list[tuple[int, str]]) -> None:
        raise AiotrackError(MULTIPART_UPLOAD_UNSUPPORTED, NOT_IMPLEMENTED)

    async def abort_multipart(self, path: str, upload_id: str) -> None:
        raise AiotrackError(MULTIPART_UPLOAD_UNSUPPORTED, NOT_IMPLEMENTED)

    async def presigned_download(self, path: str, expires: int) -> dict[str, Any]:
        raise AiotrackError(MULTIPART_DOWNLOAD_UNSUPPORTED, NOT_IMPLEMENTED)


async def aiter_bytes(data: bytes, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
    """An in-memory body as a chunk stream (small bodies and tests)."""
    for i in range(0, len(data), chunk_size):
        yield data[i : i + chunk_size]
