"""Artifacts in a local directory.

* Every path is confined to the root (:func:`aiotrack.artifacts.locations.confine`), symlinks
  included.
* Writes are atomic: chunks go to a temp file named ``.aiotrack-upload-*`` in the target's own
  directory (same filesystem), renamed over the final name only when the body is complete. A
  failed or cancelled upload removes its temp file; a killed worker's leftovers are removed by
  :meth:`LocalArtifactRepository.sweep_leftovers` (at start-up and hourly, for temp files not
  written to for :data:`LEFTOVER_AGE` seconds, so uploads in other workers are never touched).
* File I/O runs in threads (``asyncio.to_thread``); downloads are served by the HTTP layer
  with sendfile through :meth:`local_path`.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import os
import shutil
import stat as stat_mod
import tempfile
import time
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import BinaryIO

from aiotrack.artifacts.base import CHUNK_SIZE, ArtifactRepository, FileInfo, ObjectStat, Repeating
from aiotrack.artifacts.locations import INVALID_PATH, confine, join
from aiotrack.errors import AiotrackError, invalid

log = logging.getLogger("aiotrack.artifacts")

TEMP_PREFIX = ".aiotrack-upload-"
LEFTOVER_AGE = 3600.0
SWEEP_INTERVAL = 3600.0


class LocalArtifactRepository(ArtifactRepository):
    supports_multipart = False

    def __init__(self, root: str | os.PathLike[str], *, sweep: bool = True):
        self.root = Path(os.path.abspath(root))
        self.description = str(self.root)
        self._sweeper = Repeating(self._sweep, SWEEP_INTERVAL, "aiotrack-artifact-sweeper") if sweep else None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)
        if self._sweeper is not None:
            self._sweeper.start()

    async def close(self) -> None:
        if self._sweeper is not None:
            await self._sweeper.stop()

    async def _sweep(self) -> None:
        try:
            removed = await asyncio.to_thread(self.sweep_leftovers)
            if removed:
                log.info("Removed %d leftover partial upload(s) under %s", removed, self.root)
        except Exception:
            log.exception("Sweeping leftover uploads under %s failed", self.root)

    def sweep_leftovers(self, max_age: float = LEFTOVER_AGE) -> int:
        """Delete temp files of interrupted uploads untouched for ``max_age`` seconds."""
        cutoff = time.time() - max_age
        removed = 0
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if not name.startswith(TEMP_PREFIX):
                    continue
                full = os.path.join(dirpath, name)
                try:
                    st = os.lstat(full)
                    if stat_mod.S_ISREG(st.st_mode) and st.st_mtime < cutoff:
                        os.unlink(full)
                        removed += 1
                except FileNotFoundError:
                    pass
        return removed

    # ------------------------------------------------------------------ paths

    def _path(self, rel: str) -> Path:
        return confine(self.root, rel)

    def local_path(self, path: str) -> Path | None:
        return self._path(path)

    # ------------------------------------------------------------------ write

    async def write(self, path: str, chunks: AsyncIterator[bytes]) -> int:
        if not path:
            raise invalid(INVALID_PATH)
        target = self._path(path)
        f, tmp = await asyncio.to_thread(self._open_temp, target, path)
        written = 0
        try:
            async for chunk in chunks:
                if chunk:
                    await asyncio.to_thread(f.write, chunk)
                    written += len(chunk)
            await asyncio.to_thread(self._commit, f, tmp, target, path)
        except BaseException:
            # Also on cancellation: synchronous and quick, so it cannot be interrupted halfway.
            with contextlib.suppress(OSError):
                f.close()
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return written

    def _open_temp(self, target: Path, rel: str) -> tuple[BinaryIO, str]:
        parent = target.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise invalid(f"Cannot write artifact '{rel}': a parent path is a file.") from None
        # Re-check after mkdir: a component created concurrently must not lead outside.
        confine(self.root, rel)
        if target.is_dir():
            raise invalid(f"Cannot write artifact '{rel}': it is a directory.")
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=parent)
        return os.fdopen(fd, "wb", buffering=0), tmp

    @staticmethod
    def _commit(f: BinaryIO, tmp: str, target: Path, rel: str) -> None:
        f.close()
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; artifacts are ordinary readable files
        if target.is_dir():
            raise invalid(f"Cannot write artifact '{rel}': it is a directory.")
        os.replace(tmp, target)

    # ------------------------------------------------------------------ read

    async def stat(self, path: str) -> ObjectStat | None:
        p = self._path(path)
        try:
            st = await asyncio.to_thread(os.stat, p)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat_mod.S_ISREG(st.st_mode):
            return None
        return ObjectStat(size=st.st_size, mtime=st.st_mtime)

    async def is_dir(self, path: str) -> bool:
        return await asyncio.to_thread(self._path(path).is_dir)

    async def read(self, path: str, start: int = 0, end: int | None = None) -> AsyncGenerator[bytes, None]:
        p = self._path(path)
        f = await asyncio.to_thread(open, p, "rb")
        try:
            await asyncio.to_thread(f.seek, start)
            remaining = None if end is None else max(0, end - start)
            while remaining is None or remaining > 0:
                n = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
                chunk = await asyncio.to_thread(f.read, n)
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            f.close()

    async def list(self, path: str) -> list[FileInfo]:
        return await asyncio.to_thread(self._list, path)

    def _list(self, path: str) -> builtins.list[FileInfo]:
        p = self._path(path)
        if not p.is_dir():
            return []
        out = []
        with os.scandir(p) as it:
            for entry in it:
                if entry.name.startswith(TEMP_PREFIX):
                    continue
                rel = join(path, entry.name)
                try:
                    if entry.is_symlink():
                        confine(self.root, rel)  # hide links that lead outside the root
                    if entry.is_dir():
                        out.append(FileInfo(rel, True))
                    elif entry.is_file():
                        out.append(FileInfo(rel, False, entry.stat().st_size))
                except (OSError, AiotrackError):  # vanished, or a link leading outside
                    continue
        return sorted(out, key=lambda f: f.path)

    # ------------------------------------------------------------------ delete

    async def delete(self, path: str) -> None:
        if not path:
            raise invalid(INVALID_PATH)
        await asyncio.to_thread(self._delete, self._path(path))

    @staticmethod
    def _delete(p: Path) -> None:
        if p.is_symlink() or p.is_file():
            p.unlink(missing_ok=True)
        elif p.is_dir():
            shutil.rmtree(p, ignore_errors=False)
