"""The pre-fork supervisor through a real `aiotrack server --workers 2` subprocess."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import aiohttp
import requests
from server_process import session_members, wait_until


def _pids_seen(url: str, n: int) -> set[str]:
    seen = set()
    with requests.Session():
        for _ in range(n):
            # a fresh connection each time, so the kernel may hand it to either worker
            resp = requests.get(url + "/health", timeout=10, headers={"Connection": "close"})
            assert resp.status_code == 200
            seen.add(resp.headers["X-Aiotrack-Worker"])
    return seen


def test_two_workers_serve_and_a_killed_worker_is_replaced(start_server):
    server = start_server(["--workers", "2", "--worker-header"])
    workers = wait_until(lambda: len(server.workers()) == 2 and server.workers(), 20, "two workers")

    def both_workers_answered():
        seen = _pids_seen(server.url, 20)
        return seen if len(seen) == 2 else None

    seen = wait_until(both_workers_answered, 30, "both workers to answer")
    assert seen == {str(p) for p in workers}
    assert "listening on http://127.0.0.1:" in server.log() and "with 2 workers" in server.log()
    assert '"GET /health HTTP/1.1" 200' in server.log()  # the access log

    victim = workers[0]
    os.kill(victim, signal.SIGKILL)
    replaced = wait_until(
        lambda: (w := server.workers()) and len(w) == 2 and victim not in w and w, 20, "a replacement worker"
    )
    assert "died (killed by SIGKILL)" in server.log()
    # no request fails afterwards, and the replacement serves too
    seen = set()
    for _ in range(40):
        seen |= _pids_seen(server.url, 1)
    assert str(victim) not in seen
    assert seen <= {str(p) for p in replaced}

    assert server.stop() == 0
    assert not session_members(server.proc.pid), "processes left behind"
    for pid in replaced:
        assert not os.path.exists(f"/proc/{pid}")


async def _slow_log_batch(url: str, run_id: str, started: asyncio.Event, chunks: int, pause: float):
    """A log-batch whose JSON body trickles in over chunks * pause seconds."""
    metrics = ",".join(
        f'{{"key": "m", "value": {i}, "timestamp": 1700000000000, "step": {i}}}' for i in range(chunks * 10)
    )
    body = f'{{"run_id": "{run_id}", "metrics": [{metrics}]}}'.encode()
    size = -(-len(body) // chunks)

    async def trickle():
        for i in range(chunks):
            yield body[i * size : (i + 1) * size]
            started.set()
            await asyncio.sleep(pause)

    async with (
        aiohttp.ClientSession() as http,
        http.post(
            url + "/api/2.0/mlflow/runs/log-batch", data=trickle(), headers={"Content-Type": "application/json"}
        ) as resp,
    ):
        return resp.status, await resp.text()


def test_sigterm_lets_a_slow_request_finish_then_exits_cleanly(start_server):
    server = start_server(["--workers", "2", "--worker-header"])
    run = requests.post(server.url + "/api/2.0/mlflow/runs/create", json={"experiment_id": "0"}, timeout=10)
    run_id = run.json()["run"]["info"]["run_id"]
    workers = server.workers()

    async def scenario():
        started = asyncio.Event()
        upload = asyncio.create_task(_slow_log_batch(server.url, run_id, started, chunks=10, pause=0.3))
        await started.wait()
        await asyncio.sleep(0.5)  # the request is in flight in a worker
        t0 = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        status, text = await upload
        return status, text, time.monotonic() - t0

    status, text, after_signal = asyncio.run(scenario())
    assert status == 200, text
    assert after_signal > 1.5  # it really was still uploading when the signal came
    assert server.proc.wait(40) == 0
    assert "received SIGTERM" in server.log()
    assert not session_members(server.proc.pid), "processes left behind"
    for pid in workers:
        assert not os.path.exists(f"/proc/{pid}")
    # the acknowledged write is there (a fresh server on the same database)
    again = start_server(["--workers", "1", "--worker-header"], store_uri=server.store_uri)
    history = requests.get(
        again.url + "/api/2.0/mlflow/metrics/get-history", params={"run_id": run_id, "metric_key": "m"}, timeout=10
    ).json()
    assert len(history["metrics"]) == 100


def test_workers_exit_when_the_supervisor_dies(start_server):
    server = start_server(["--workers", "2", "--worker-header"])
    workers = wait_until(lambda: len(server.workers()) == 2 and server.workers(), 20, "two workers")
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(10)
    wait_until(
        lambda: not any(os.path.exists(f"/proc/{p}") and _alive(p) for p in workers), 15, "orphaned workers to exit"
    )


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_sigterm_lets_a_slow_artifact_upload_finish(start_server):
    server = start_server(["--workers", "2", "--worker-header"])
    path = "/api/2.0/mlflow-artifacts/artifacts/0/slow/artifacts/big.bin"
    chunk = bytes(range(256)) * 256  # 64 KiB

    async def scenario():
        started = asyncio.Event()

        async def trickle():
            for _ in range(12):
                yield chunk
                started.set()
                await asyncio.sleep(0.25)

        async def upload():
            async with (
                aiohttp.ClientSession() as http,
                http.put(
                    server.url + path, data=trickle(), headers={"Content-Type": "application/octet-stream"}
                ) as resp,
            ):
                return resp.status, await resp.text()

        task = asyncio.create_task(upload())
        await started.wait()
        await asyncio.sleep(0.5)
        t0 = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        status, text = await task
        return status, text, time.monotonic() - t0

    status, text, after_signal = asyncio.run(scenario())
    assert status == 200, text
    assert after_signal > 1.5
    assert server.proc.wait(40) == 0
    assert not session_members(server.proc.pid), "processes left behind"
    again = start_server(["--workers", "1", "--worker-header"], store_uri=server.store_uri)
    got = requests.get(again.url + path, timeout=10)
    assert got.status_code == 200
    assert got.content == chunk * 12
