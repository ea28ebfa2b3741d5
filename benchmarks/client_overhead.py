"""Measure the load generator's own CPU cost per request: raw asyncio client vs aiohttp's client.

Starts a trivial aiohttp server in a child process on 127.0.0.1, then sends N small POST requests
at a given concurrency with each client and prints client CPU microseconds per request.

    .venv/bin/python benchmarks/client_overhead.py [--requests 20000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpclient import Connection

BODY = json.dumps(
    {"run_id": "0123456789abcdef0123456789abcdef", "key": "loss", "value": 0.5, "timestamp": 1700000000000, "step": 1}
).encode()


def _serve(port: int) -> None:
    from aiohttp import web

    async def h(request):
        await request.read()
        return web.Response(body=b"{}", content_type="application/json")

    app = web.Application()
    app.router.add_post("/api/2.0/mlflow/runs/log-metric", h)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def _raw(port: int, n: int, conc: int) -> None:
    left = [n]

    async def worker():
        c = Connection("127.0.0.1", port)
        while left[0] > 0:
            left[0] -= 1
            r = await c.request("POST", "/api/2.0/mlflow/runs/log-metric", BODY)
            assert r.status == 200
        c.close()

    await asyncio.gather(*(worker() for _ in range(conc)))


async def _aiohttp(port: int, n: int, conc: int) -> None:
    import aiohttp

    left = [n]
    url = f"http://127.0.0.1:{port}/api/2.0/mlflow/runs/log-metric"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conc)) as s:

        async def worker():
            while left[0] > 0:
                left[0] -= 1
                async with s.post(url, data=BODY, headers={"Content-Type": "application/json"}) as r:
                    await r.read()
                    assert r.status == 200

        await asyncio.gather(*(worker() for _ in range(conc)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=32)
    a = ap.parse_args()
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    p = multiprocessing.Process(target=_serve, args=(port,), daemon=True)
    p.start()
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        for name, fn in (("raw", _raw), ("aiohttp", _aiohttp), ("raw", _raw), ("aiohttp", _aiohttp)):
            c0, w0 = time.process_time(), time.perf_counter()
            asyncio.run(fn(port, a.requests, a.concurrency))
            c1, w1 = time.process_time(), time.perf_counter()
            print(
                f"{name:8s} client CPU {1e6 * (c1 - c0) / a.requests:6.1f} us/req, "
                f"{a.requests / (w1 - w0):8.0f} req/s (server is one aiohttp process)"
            )
    finally:
        p.terminate()


if __name__ == "__main__":
    main()
