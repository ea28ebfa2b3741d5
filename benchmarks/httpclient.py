"""A minimal asyncio HTTP/1.1 client for the benchmark's load generator.

Only what the MLflow REST API needs on loopback: one persistent keep-alive connection per
worker coroutine, Content-Length or chunked responses, streamed request and response bodies
for the artifact workloads. It does far less work per request than aiohttp's client (no
cookie jar, no multidict headers, no URL objects), which matters on a 2-core machine where the
client competes with the server for CPU: see README.md for the measurement.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterable

_READ_LIMIT = 1 << 20


class HTTPError(Exception):
    pass


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def text(self, limit: int = 600) -> str:
        t = self.body[:limit].decode("utf-8", "replace")
        return t + ("..." if len(self.body) > limit else "")


class Connection:
    """One keep-alive HTTP/1.1 connection to host:port. Not safe for concurrent use."""

    def __init__(self, host: str, port: int):
        self.host = host
        self.port = port
        self._hosthdr = f"{host}:{port}".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.reused = False

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=_READ_LIMIT)
        self.reused = False

    def close(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.close()
        self.reader = self.writer = None

    def _head(self, method: str, path: str, length: int | None, ctype: bytes | None, extra: dict | None) -> bytes:
        h = b"%s %s HTTP/1.1\r\nHost: %s\r\n" % (method.encode(), path.encode(), self._hosthdr)
        if length is not None:
            h += b"Content-Length: %d\r\n" % length
        if ctype:
            h += b"Content-Type: " + ctype + b"\r\n"
        if extra:
            for k, v in extra.items():
                h += f"{k}: {v}\r\n".encode()
        return h + b"\r\n"

    async def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        ctype: bytes | None = b"application/json",
        headers: dict | None = None,
        discard_body: bool = False,
    ) -> Response:
        """Send one request and read the whole response. Retries once on a stale keep-alive
        connection (the server closed it between requests)."""
        for attempt in (0, 1):
            if self.writer is None:
                await self.connect()
            reused = self.reused
            try:
                data = self._head(
                    method,
                    path,
                    len(body) if body is not None else (0 if method in ("POST", "PUT", "PATCH") else None),
                    ctype if body is not None else None,
                    headers,
                )
                if body is not None and len(body) < 65536:
                    self.writer.write(data + body)
                else:
                    self.writer.write(data)
                    if body is not None:
                        self.writer.write(body)
                resp = await self._read_response(discard_body)
                self.reused = True
                return resp
            except (ConnectionError, asyncio.IncompleteReadError, BrokenPipeError) as e:
                self.close()
                if attempt == 0 and reused:
                    continue
                raise HTTPError(f"{method} {path}: connection failed: {e!r}") from e
        raise AssertionError("unreachable")

    async def request_stream_body(
        self, method: str, path: str, chunks: Iterable[bytes], length: int, ctype: bytes = b"application/octet-stream"
    ) -> Response:
        """Send a request whose body is streamed from `chunks` (total `length` bytes)."""
        if self.writer is None:
            await self.connect()
        self.writer.write(self._head(method, path, length, ctype, None))
        for c in chunks:
            self.writer.write(c)
            await self.writer.drain()
        resp = await self._read_response(False)
        self.reused = True
        return resp

    async def get_streamed(self, path: str) -> tuple[int, int]:
        """GET path and count the body's bytes without keeping them. Returns (status, nbytes)."""
        if self.writer is None:
            await self.connect()
        self.writer.write(self._head("GET", path, None, None, None))
        status, hdrs = await self._read_head()
        n = 0
        async for chunk in self._iter_body(hdrs):
            n += len(chunk)
        self._after(hdrs)
        self.reused = True
        return status, n

    async def _read_head(self) -> tuple[int, dict[str, str]]:
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise HTTPError(f"bad status line {lines[0]!r}")
        status = int(parts[1])
        hdrs: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        if status == 100:  # 100-continue: read the real response
            return await self._read_head()
        return status, hdrs

    async def _iter_body(self, hdrs: dict[str, str]) -> AsyncIterator[bytes]:
        r = self.reader
        te = hdrs.get("transfer-encoding", "").lower()
        if "chunked" in te:
            while True:
                line = await r.readuntil(b"\r\n")
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    # trailers until empty line
                    while (await r.readuntil(b"\r\n")) != b"\r\n":
                        pass
                    return
                left = size
                while left:
                    chunk = await r.read(min(left, 1 << 20))
                    if not chunk:
                        raise asyncio.IncompleteReadError(b"", left)
                    left -= len(chunk)
                    yield chunk
                await r.readexactly(2)
        elif "content-length" in hdrs:
            left = int(hdrs["content-length"])
            while left:
                chunk = await r.read(min(left, 1 << 20))
                if not chunk:
                    raise asyncio.IncompleteReadError(b"", left)
                left -= len(chunk)
                yield chunk
        else:  # body until close
            while True:
                chunk = await r.read(1 << 20)
                if not chunk:
                    break
                yield chunk
            hdrs["connection"] = "close"

    def _after(self, hdrs: dict[str, str]) -> None:
        if hdrs.get("connection", "").lower() == "close":
            self.close()

    async def _read_response(self, discard_body: bool) -> Response:
        status, hdrs = await self._read_head()
        r = self.reader
        te = hdrs.get("transfer-encoding", "").lower()
        if "chunked" not in te and "content-length" in hdrs and not discard_body:
            n = int(hdrs["content-length"])
            body = await r.readexactly(n) if n else b""
        else:
            parts = []
            async for c in self._iter_body(hdrs):
                if not discard_body:
                    parts.append(c)
            body = b"".join(parts)
        self._after(hdrs)
        return Response(status, hdrs, body)
