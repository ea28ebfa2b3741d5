"""Per-worker caches and the brute-force limiter of the auth service.

``TtlCache``: a bounded mapping whose entries expire; verified credentials, users' grants and
run -> experiment lookups live in them so that an authenticated request costs no KDF and, in
the steady state, no extra query. Changes made through this worker drop the entries they touch
at once; other workers see them within the TTL.

``FailureLimiter``: failed sign-ins counted per (username, client address) and per client
address. After ``max_failures`` within the window the pair (or the address) is refused for
``base_backoff`` seconds, doubling with each further failure up to ``max_backoff``; a success
clears the pair.
Another address keeps signing in as the same user, so an attacker cannot lock a user out.
"""

from __future__ import annotations

import hashlib
import logging
import mmap
import os
import struct
import tempfile
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger("aiotrack.auth")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(self, ttl: float, max_size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_size = max_size
        self._clock = clock
        self._data: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[0] < self._clock():
            del self._data[key]
            return None
        return item[1]

    def put(self, key: K, value: V) -> None:
        if self.ttl <= 0:
            return
        self._data[key] = (self._clock() + self.ttl, value)
        self._data.move_to_end(key)
        while len(self._data) > self.max_size:
            self._data.popitem(last=False)

    def drop(self, predicate: Callable[[K, V], bool]) -> None:
        for key in [k for k, (_, v) in self._data.items() if predicate(k, v)]:
            del self._data[key]

    def clear(self) -> None:
        self._data.clear()


@dataclass
class _Failures:
    count: int
    first: float
    blocked_until: float


class FailureLimiter:
    def __init__(
        self,
        max_failures: int = 5,
        max_failures_per_address: int = 50,
        window: float = 900.0,
        base_backoff: float = 30.0,
        max_backoff: float = 900.0,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.max_failures_per_address = max_failures_per_address
        self.window = window
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str | None], _Failures] = OrderedDict()

    def retry_after(self, username: str, address: str) -> int:
        """Seconds until this pair may try again (0: now)."""
        now = self._clock()
        wait = 0.0
        for key in ((address, username), (address, None)):
            entry = self._entries.get(key)
            if entry is not None:
                wait = max(wait, entry.blocked_until - now)
        return int(wait + 0.999) if wait > 0 else 0

    def failed(self, username: str, address: str) -> None:
        now = self._clock()
        for key, limit in (((address, username), self.max_failures), ((address, None), self.max_failures_per_address)):
            entry = self._entries.get(key)
            if entry is None or (now - entry.first > self.window and entry.blocked_until <= now):
                entry = _Failures(0, now, 0.0)
            entry.count += 1
            if entry.count >= limit:
                entry.blocked_until = now + min(self.max_backoff, self.base_backoff * 2.0 ** (entry.count - limit))
            self._entries[key] = entry
            self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def succeeded(self, username: str, address: str) -> None:
        self._entries.pop((address, username), None)


class SharedGeneration:
    """A counter in shared memory: a worker that changes users, grants or tokens bumps it, and
    every worker drops its caches when it sees the number move (a memory read per request, no
    query). With ``key`` (the auth database's URI) the memory is a small file in the temp
    directory named after its hash, so every aiotrack process on this machine serving that
    database shares it; servers on other machines see changes within the cache TTL. Without a key,
    or when the file cannot be used, the counter is this process's own."""

    def __init__(self, key: str | None = None) -> None:
        self.path: str | None = None
        if key is not None:
            digest = hashlib.sha256(key.encode()).hexdigest()[:24]
            path = os.path.join(tempfile.gettempdir(), f"aiotrack-auth-{os.getuid()}-{digest}.generation")
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
                try:
                    if os.fstat(fd).st_size < 8:
                        os.ftruncate(fd, 8)
                    self._mem = mmap.mmap(fd, 8, flags=mmap.MAP_SHARED)
                finally:
                    os.close(fd)
                self.path = path
                return
            except OSError as exc:
                log.warning("auth cache invalidation stays per process: cannot use %s (%s)", path, exc.strerror)
        self._mem = mmap.mmap(-1, 8, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)

    def value(self) -> int:
        return int(struct.unpack_from("<Q", self._mem, 0)[0])

    def bump(self) -> None:
        struct.pack_into("<Q", self._mem, 0, (self.value() + 1) % (1 << 64))
