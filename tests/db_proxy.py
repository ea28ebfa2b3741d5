"""A TCP proxy in front of PostgreSQL that a test switches between forwarding and two outages.

- ``forward``: bytes pass both ways.
- ``close``: every open connection is closed and new ones are closed on accept (the database
  went away, or its host refuses connections).
- ``blackhole``: connections stay open but nothing passes either way, new ones included (a
  network partition, or a server that stopped answering without closing anything).

It runs its own event loop on a thread, so that synchronous tests and subprocess servers can
use it; it listens on a free loopback port.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class DbProxy:
    def __init__(self, target_host: str = "127.0.0.1", target_port: int = 5432) -> None:
        self.target = (target_host, target_port)
        self.mode = "forward"
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="db-proxy", daemon=True)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        self.port: int = self._server.sockets[0].getsockname()[1]

    async def _listen(self) -> asyncio.Server:
        return await asyncio.start_server(self._handle, "127.0.0.1", 0)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        upstream: asyncio.StreamWriter | None = None
        try:
            if self.mode == "close":
                return
            if self.mode == "blackhole":
                while await reader.read(65536):
                    pass  # swallowed; the client waits for an answer that never comes
                return
            up_reader, upstream = await asyncio.open_connection(*self.target)
            self._writers.add(upstream)
            await asyncio.gather(self._pump(reader, upstream), self._pump(up_reader, writer))
        except (ConnectionError, OSError):
            pass
        finally:
            for w in (writer, upstream):
                if w is not None:
                    self._writers.discard(w)
                    w.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self.mode == "forward":
                    writer.write(data)
                    await writer.drain()
                # blackhole: dropped on the floor, in both directions
        finally:
            writer.close()

    def set_mode(self, mode: str) -> None:
        assert mode in ("forward", "close", "blackhole")

        def apply() -> None:
            self.mode = mode
            if mode == "close":
                for w in list(self._writers):
                    w.close()

        self._loop.call_soon_threadsafe(apply)

    def close(self) -> None:
        async def shutdown() -> None:
            self._server.close()
            for w in list(self._writers):
                w.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
