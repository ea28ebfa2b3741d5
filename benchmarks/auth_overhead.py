"""What basic-auth costs on the hottest write: `log_metric` throughput with and without sign-in.

Starts two `aiotrack server` processes on the same kind of store (a fresh SQLite file each, or
PostgreSQL databases you name), one plain and one with `--app-name basic-auth`, creates a run on
each, then alternates timed rounds of POST runs/log-metric at a fixed concurrency: without
credentials on the plain server, with HTTP Basic and with a bearer access token on the other.
Rounds alternate so that load from other processes on the machine hits all variants alike.
Prints requests per second (median of the rounds) and the authenticated/plain ratio.

    .venv/bin/python benchmarks/auth_overhead.py [--seconds 5] [--rounds 3] [--concurrency 16] \
        [--workers 2] [--port 21500] [--pg-dsn postgresql://root@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpclient import Connection
from loadgen import tree_pids

_TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by root and its descendants (the workers)."""
    total = 0
    for p in tree_pids(root):
        try:
            with open(f"/proc/{p}/stat", "rb") as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rindex(b")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])
    return total / _TICK


ADMIN_PASSWORD = "bench-admin-password-1"
API = "/api/2.0/mlflow"


def _start(port: int, store: str, workdir: str, workers: int, auth: bool) -> subprocess.Popen:
    args = [sys.executable, "-m", "aiotrack", "server", "--port", str(port), "--workers", str(workers)]
    args += ["--backend-store-uri", store, "--artifacts-destination", os.path.join(workdir, "artifacts")]
    env = dict(os.environ)
    if auth:
        args += ["--app-name", "basic-auth"]
        env["MLFLOW_AUTH_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    log_path = os.path.join(workdir, f"server-{port}.log")
    with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            args, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server on {port} did not start; see {log_path}")


async def _json(c: Connection, method: str, path: str, body: dict, headers: dict | None = None) -> dict:
    r = await c.request(method, path, json.dumps(body).encode(), headers=headers)
    if r.status != 200:
        raise RuntimeError(f"{method} {path}: {r.status} {r.text()}")
    return r.json()


async def _setup(port: int, headers: dict | None) -> str:
    c = Connection("127.0.0.1", port)
    exp = (await _json(c, "POST", f"{API}/experiments/create", {"name": f"bench-{uuid.uuid4().hex}"}, headers))[
        "experiment_id"
    ]
    run = (await _json(c, "POST", f"{API}/runs/create", {"experiment_id": exp}, headers))["run"]["info"]["run_id"]
    c.close()
    return run


async def _token(port: int, headers: dict) -> str:
    c = Connection("127.0.0.1", port)
    data = await _json(c, "POST", "/api/2.0/aiotrack/users/access-tokens/create", {"name": "bench"}, headers)
    c.close()
    return str(data["token"])


async def _round(port: int, run: str, headers: dict | None, seconds: float, concurrency: int) -> int:
    done = 0
    stop = time.monotonic() + seconds

    async def worker(w: int) -> None:
        nonlocal done
        c = Connection("127.0.0.1", port)
        step = 0
        while time.monotonic() < stop:
            body = {"run_id": run, "key": f"m{w}", "value": 0.5, "timestamp": int(time.time() * 1000), "step": step}
            r = await c.request("POST", f"{API}/runs/log-metric", json.dumps(body).encode(), headers=headers)
            if r.status != 200:
                raise RuntimeError(f"log-metric: {r.status} {r.text()}")
            step += 1
            done += 1
        c.close()

    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return done


async def _bench(
    a: argparse.Namespace, plain_port: int, auth_port: int, pids: dict[int, int]
) -> dict[str, list[tuple[float, float]]]:
    basic = {"Authorization": "Basic " + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()}
    plain_run = await _setup(plain_port, None)
    auth_run = await _setup(auth_port, basic)
    bearer = {"Authorization": f"Bearer {await _token(auth_port, basic)}"}
    variants = {
        "no auth": (plain_port, plain_run, None),
        "basic-auth, HTTP Basic": (auth_port, auth_run, basic),
        "basic-auth, bearer token": (auth_port, auth_run, bearer),
    }
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for port, run, headers in variants.values():  # warm-up: caches, connections
        await _round(port, run, headers, 1.0, a.concurrency)
    for _ in range(a.rounds):
        for name, (port, run, headers) in variants.items():
            cpu, started = tree_cpu(pids[port]), time.monotonic()
            done = await _round(port, run, headers, a.seconds, a.concurrency)
            elapsed, used = time.monotonic() - started, tree_cpu(pids[port]) - cpu
            results[name].append((done / elapsed, used / done * 1e6))
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--port", type=int, default=21500, help="the plain server's port; the other uses port+1")
    ap.add_argument("--pg-dsn", default=None, help="use PostgreSQL: an admin DSN to create two databases with")
    a = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="aiotrack-auth-bench-")
    if a.pg_dsn:
        import asyncpg

        base = a.pg_dsn.rsplit("/", 1)[0]
        names = [f"aiotrack_authbench_{uuid.uuid4().hex[:8]}" for _ in range(2)]

        async def create() -> None:
            conn = await asyncpg.connect(a.pg_dsn)
            for n in names:
                await conn.execute(f'CREATE DATABASE "{n}"')
            await conn.close()

        asyncio.run(create())
        stores = [f"{base}/{n}" for n in names]
    else:
        stores = [f"sqlite:///{workdir}/plain.db", f"sqlite:///{workdir}/auth.db"]
    procs = [
        _start(a.port, stores[0], workdir, a.workers, auth=False),
        _start(a.port + 1, stores[1], workdir, a.workers, auth=True),
    ]
    try:
        results = asyncio.run(_bench(a, a.port, a.port + 1, {a.port: procs[0].pid, a.port + 1: procs[1].pid}))
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=30)
        if a.pg_dsn:

            async def drop() -> None:
                conn = await asyncpg.connect(a.pg_dsn)
                for n in names:
                    await conn.execute(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')
                await conn.close()

            asyncio.run(drop())
    # Server CPU per request is the robust figure on a shared machine (throughput moves with
    # whatever else runs); at saturation, throughput is its inverse.
    plain_rate = statistics.median(r for r, _ in results["no auth"])
    plain_cpu = statistics.median(c for _, c in results["no auth"])
    kind = "postgresql" if a.pg_dsn else "sqlite"
    print(f"log_metric, {kind}, {a.workers} workers, concurrency {a.concurrency}, {a.rounds} x {a.seconds:g} s rounds")
    print(f"  {'':26s} {'req/s':>8s} {'vs none':>8s} {'server CPU/req':>15s} {'vs none':>8s}")
    for name, values in results.items():
        rate = statistics.median(r for r, _ in values)
        cpu = statistics.median(c for _, c in values)
        print(f"  {name:26s} {rate:8.0f} {rate / plain_rate:8.2f} {cpu:12.0f} us {plain_cpu / cpu:8.2f}")


if __name__ == "__main__":
    main()
