"""Tracing benchmark: aiotrack vs `mlflow server` on the same machine, SQLite and PostgreSQL.

Three measurements per server and backend, each against a fresh store:

1. **ingest through the mlflow client**: a subprocess runs the unchanged mlflow 3 client
   (``@mlflow.trace`` with nested spans, synchronous trace logging) against the server; spans/s
   over the wall time, client overhead included (the same client for both servers).
2. **ingest through OTLP**: ``POST /v1/traces`` with protobuf ``ExportTraceServiceRequest``s of
   ``--otlp-batch`` spans each (whole traces), ``--concurrency`` requests in flight; spans/s.
3. **search_traces p50 over an experiment of ``--search-traces`` traces** (100,000 by default):
   the store is seeded through each server's own store code in-process (MLflow's
   SqlAlchemyStore.log_spans / aiotrack's SqlTraceStore.log_spans, batches of 1,000 traces), then
   ``POST /api/3.0/mlflow/traces/search`` is timed for a page of 100 with no filter, with a tag
   filter and with a span-name filter; p50 and p90 ms of ``--search-calls`` calls each (on
   PostgreSQL after an ANALYZE, as autovacuum would run one shortly after a bulk load).

    python benchmarks/traces.py                                   # both servers, sqlite
    python benchmarks/traces.py --backends sqlite,postgresql --search-traces 100000
    python benchmarks/traces.py --quick                           # smoke sizes

`mlflow` is the one installed next to the running Python (or ``--mlflow-exe``); aiotrack runs from
this checkout. Results are printed as markdown and written to benchmarks/results/traces.json (``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import aiohttp

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PG_ADMIN = "postgresql://root@127.0.0.1:5432/postgres"


def log(*a: object) -> None:
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------------------- stores


class Store:
    def __init__(self, backend: str, scratch: str, name: str):
        self.backend = backend
        self.dbname = f"bench_traces_{name}_{uuid.uuid4().hex[:8]}"
        if backend == "sqlite":
            self.uri = f"sqlite:///{scratch}/{name}.db"
        else:
            subprocess.run(["psql", PG_ADMIN, "-q", "-c", f"CREATE DATABASE {self.dbname}"], check=True)
            self.uri = f"postgresql://root@127.0.0.1:5432/{self.dbname}"

    def drop(self) -> None:
        if self.backend == "postgresql":
            subprocess.run(["psql", PG_ADMIN, "-q", "-c", f"DROP DATABASE IF EXISTS {self.dbname} WITH (FORCE)"])


# --------------------------------------------------------------------------- servers


class Server:
    def __init__(self, kind: str, store: Store, scratch: str, workers: int, mlflow_exe: str):
        self.kind = kind
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        art = os.path.join(scratch, f"{kind}-artifacts")
        if kind == "mlflow":
            self.cmd = [mlflow_exe, "server", "--backend-store-uri", store.uri, "--artifacts-destination", art]
        else:
            self.cmd = [sys.executable, "-m", "aiotrack", "server", "--backend-store-uri", store.uri]
            self.cmd += ["--artifacts-destination", art]
        self.cmd += ["--workers", str(workers), "--host", "127.0.0.1", "--port", str(self.port)]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": REPO}
        self.proc = subprocess.Popen(
            self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True
        )
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    pass
                import urllib.request

                with urllib.request.urlopen(self.url + "/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.kind} did not start: {' '.join(self.cmd)}")

    def stop(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, 15)
                self.proc.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, 9)
            self.proc = None


def create_experiment(url: str, name: str) -> str:
    import urllib.request

    req = urllib.request.Request(
        url + "/api/2.0/mlflow/experiments/create",
        data=json.dumps({"name": name}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req) as r:
        return str(json.loads(r.read())["experiment_id"])


# --------------------------------------------------------------------------- 1. mlflow client

CLIENT_SCRIPT = """
import os, sys, time, mlflow
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment(sys.argv[2])
n, k = int(sys.argv[3]), int(sys.argv[4])

@mlflow.trace(span_type="CHAIN")
def work(i):
    for j in range(k - 1):
        with mlflow.start_span(f"step-{j}", span_type="LLM") as s:
            s.set_inputs({"messages": [{"role": "user", "content": f"question {i}"}]})
            s.set_outputs(f"answer {i}.{j}")
    return i

work(-1)  # warm-up: first-call imports and the server version probe
t0 = time.perf_counter()
for i in range(n):
    work(i)
print(time.perf_counter() - t0)
"""


def client_ingest(url: str, traces: int, spans_per_trace: int) -> float:
    env = {**os.environ, "MLFLOW_ENABLE_ASYNC_TRACE_LOGGING": "false", "PYTHONWARNINGS": "ignore"}
    out = subprocess.run(
        [sys.executable, "-c", CLIENT_SCRIPT, url, f"client-{uuid.uuid4().hex[:6]}", str(traces), str(spans_per_trace)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    seconds = float(out.stdout.strip().splitlines()[-1])
    return traces * spans_per_trace / seconds


# --------------------------------------------------------------------------- 2. OTLP


def otlp_body(traces: int, spans_per_trace: int, payload: int) -> bytes:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value="bench")))
    spans = rs.scope_spans.add().spans
    now = time.time_ns()
    text = "x" * payload
    for _ in range(traces):
        tid = random.randbytes(16)
        root = random.randbytes(8)
        for j in range(spans_per_trace):
            s = Span(
                trace_id=tid,
                span_id=root if j == 0 else random.randbytes(8),
                parent_span_id=b"" if j == 0 else root,
                name="root" if j == 0 else f"step-{j}",
                start_time_unix_nano=now + j * 1000,
                end_time_unix_nano=now + 1_000_000,
                status=Status(code=Status.STATUS_CODE_OK),
            )
            s.attributes.append(KeyValue(key="mlflow.spanType", value=AnyValue(string_value="LLM")))
            s.attributes.append(KeyValue(key="mlflow.spanInputs", value=AnyValue(string_value=text)))
            spans.append(s)
    return req.SerializeToString()


async def otlp_ingest(
    url: str, experiment_id: str, requests: int, batch: int, spans_per_trace: int, concurrency: int
) -> float:
    bodies = [otlp_body(batch // spans_per_trace, spans_per_trace, 200) for _ in range(requests)]
    headers = {"Content-Type": "application/x-protobuf", "x-mlflow-experiment-id": experiment_id}
    queue = list(bodies)
    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            while queue:
                body = queue.pop()
                async with session.post(url + "/v1/traces", data=body, headers=headers) as r:
                    if r.status != 200:
                        raise RuntimeError(f"OTLP answered {r.status}: {(await r.text())[:300]}")
                    await r.read()

        await worker_warmup(session, url, headers, otlp_body(1, spans_per_trace, 200))
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - t0
    return requests * (batch // spans_per_trace) * spans_per_trace / seconds


async def worker_warmup(session: aiohttp.ClientSession, url: str, headers: dict, body: bytes) -> None:
    async with session.post(url + "/v1/traces", data=body, headers=headers) as r:
        await r.read()


# --------------------------------------------------------------------------- 3. search


SEED_SCRIPT_MLFLOW = """
import sys, time, random
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
from mlflow.entities.span import Span
from opentelemetry.proto.trace.v1.trace_pb2 import Span as P, Status
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
uri, art, exp_name, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = SqlAlchemyStore(uri, art)
eid = store.create_experiment(exp_name)
now = time.time_ns() - n * 1_000_000
for start in range(0, n, 1000):
    spans = []
    for i in range(start, min(n, start + 1000)):
        tid, sid = random.randbytes(16), random.randbytes(8)
        for j, name in enumerate(("root", "retrieve" if i % 2 else "generate")):
            start_ns = now + i * 1_000_000
            p = P(trace_id=tid, span_id=sid if j == 0 else random.randbytes(8),
                  parent_span_id=b"" if j == 0 else sid, name=name, start_time_unix_nano=start_ns,
                  end_time_unix_nano=start_ns + 5_000_000 + j, status=Status(code=Status.STATUS_CODE_OK))
            p.attributes.append(KeyValue(key="mlflow.traceTag.bucket", value=AnyValue(string_value=str(i % 10))))
            spans.append(Span.from_otel_proto(p))
    store.log_spans(eid, spans)
print(eid)
"""

SEED_SCRIPT_AIOTRACK = """
import asyncio, sys, time, random
from aiotrack.stores.sql import migrations
from aiotrack.stores.sql.database import SqliteDatabase, PostgresDatabase
from aiotrack.stores.sql.tracking import SqlTrackingStore
from aiotrack.stores.sql.traces import SqlTraceStore
from aiotrack.stores.sql.uri import parse_store_uri
from aiotrack.services.trace_spans import span_row_from_otlp
from opentelemetry.proto.trace.v1.trace_pb2 import Span as P, Status
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
uri, art, exp_name, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
async def main():
    parsed = parse_store_uri(uri)
    kind = SqliteDatabase if parsed.kind == "sqlite" else PostgresDatabase
    db = await kind(parsed.target).open()
    await migrations.ensure_current(db)
    tracking = SqlTrackingStore(db)
    await tracking.initialize("mlflow-artifacts:/")
    eid = await tracking.create_experiment(exp_name, None, [], "mlflow-artifacts:/")
    traces = SqlTraceStore(db)
    now = time.time_ns() - n * 1_000_000
    for start in range(0, n, 1000):
        rows = []
        for i in range(start, min(n, start + 1000)):
            tid, sid = random.randbytes(16), random.randbytes(8)
            for j, name in enumerate(("root", "retrieve" if i % 2 else "generate")):
                start_ns = now + i * 1_000_000
                p = P(trace_id=tid, span_id=sid if j == 0 else random.randbytes(8),
                      parent_span_id=b"" if j == 0 else sid, name=name, start_time_unix_nano=start_ns,
                      end_time_unix_nano=start_ns + 5_000_000 + j, status=Status(code=Status.STATUS_CODE_OK))
                p.attributes.append(KeyValue(key="mlflow.traceTag.bucket", value=AnyValue(string_value=str(i % 10))))
                rows.append(span_row_from_otlp(p))
        await traces.log_spans(eid, rows, [])
    await db.close()
    print(eid)
asyncio.run(main())
"""


def seed(kind: str, uri: str, art: str, n: int, mlflow_python: str) -> str:
    script = SEED_SCRIPT_MLFLOW if kind == "mlflow" else SEED_SCRIPT_AIOTRACK
    py = mlflow_python if kind == "mlflow" else sys.executable
    env = {**os.environ, "PYTHONPATH": REPO, "PYTHONWARNINGS": "ignore"}
    out = subprocess.run([py, "-c", script, uri, art, "seeded", str(n)], capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(f"seeding {kind} failed: {out.stderr[-2000:]}")
    return out.stdout.strip().splitlines()[-1]


async def search_p50(url: str, experiment_id: str, calls: int, flt: str | None) -> tuple[float, float]:
    body: dict = {
        "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}}],
        "max_results": 100,
    }
    if flt:
        body["filter"] = flt
    times = []
    async with aiohttp.ClientSession() as session:
        for i in range(calls + 2):
            t0 = time.perf_counter()
            async with session.post(url + "/api/3.0/mlflow/traces/search", json=body) as r:
                data = await r.json()
                if r.status != 200 or len(data.get("traces", [])) != 100:
                    raise RuntimeError(f"search answered {r.status}: {str(data)[:300]}")
            if i >= 2:  # two warm-up calls
                times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.9) - 1]


# --------------------------------------------------------------------------- main

SEARCHES = {"page": None, "tag filter": "tag.bucket = '3'", "span filter": "span.name = 'retrieve'"}


def run(args: argparse.Namespace) -> dict:
    results: dict = {}
    mlflow_python = os.path.join(os.path.dirname(args.mlflow_exe), "python")
    for backend in args.backends:
        for kind in args.servers:
            scratch = tempfile.mkdtemp(prefix=f"bench-traces-{kind}-", dir=args.scratch)
            store = Store(backend, scratch, kind)
            server = Server(kind, store, scratch, args.workers, args.mlflow_exe)
            res: dict = {}
            try:
                log(backend, kind, "seeding", args.search_traces, "traces")
                t0 = time.perf_counter()
                seeded = seed(
                    kind, store.uri, os.path.join(scratch, f"{kind}-artifacts"), args.search_traces, mlflow_python
                )
                res["seed_seconds"] = round(time.perf_counter() - t0, 1)
                if backend == "postgresql":
                    # Fresh statistics, as autovacuum would have them a minute after a bulk load.
                    subprocess.run(["psql", store.uri, "-q", "-c", "ANALYZE"], check=True)
                server.start()
                for label, flt in SEARCHES.items():
                    p50, p90 = asyncio.run(search_p50(server.url, seeded, args.search_calls, flt))
                    res[f"search {label} p50 ms"] = round(p50, 1)
                    res[f"search {label} p90 ms"] = round(p90, 1)
                    log(backend, kind, label, f"p50 {p50:.1f} ms")
                exp = create_experiment(server.url, "otlp")
                res["otlp spans/s"] = round(
                    asyncio.run(otlp_ingest(server.url, exp, args.otlp_requests, args.otlp_batch, 5, args.concurrency))
                )
                log(backend, kind, "otlp", res["otlp spans/s"], "spans/s")
                res["client spans/s"] = round(client_ingest(server.url, args.client_traces, 5))
                log(backend, kind, "client", res["client spans/s"], "spans/s")
            finally:
                server.stop()
                store.drop()
                shutil.rmtree(scratch, ignore_errors=True)
            results.setdefault(backend, {})[kind] = res
    return results


def render(results: dict, args: argparse.Namespace) -> str:
    lines = []
    for backend, by_server in results.items():
        keys = list(next(iter(by_server.values())).keys())
        servers = list(by_server)
        head = "| measure | " + " | ".join(servers) + (" | aiotrack vs mlflow |" if len(servers) == 2 else " |")
        lines += [f"### {backend}, {args.search_traces:,} traces searched, {args.workers} workers", "", head]
        lines.append("|---" * (len(servers) + 1 + (len(servers) == 2)) + "|")
        for k in keys:
            vals = [by_server[s].get(k) for s in servers]
            row = f"| {k} | " + " | ".join(f"{v:,}" if isinstance(v, (int, float)) else str(v) for v in vals)
            if len(servers) == 2 and "mlflow" in by_server and "aiotrack" in by_server and k != "seed_seconds":
                a, m = by_server["aiotrack"][k], by_server["mlflow"][k]
                ratio = (a / m) if "spans/s" in k else (m / a)
                row += f" | {ratio:.1f}x"
            elif len(servers) == 2:
                row += " | "
            lines.append(row + " |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default="mlflow,aiotrack")
    ap.add_argument("--backends", default="sqlite")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--search-traces", type=int, default=100_000)
    ap.add_argument("--search-calls", type=int, default=30)
    ap.add_argument("--otlp-requests", type=int, default=200)
    ap.add_argument("--otlp-batch", type=int, default=100, help="spans per OTLP request (whole traces of 5 spans)")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--client-traces", type=int, default=100)
    ap.add_argument(
        "--mlflow-exe", default=shutil.which("mlflow") or os.path.join(os.path.dirname(sys.executable), "mlflow")
    )
    ap.add_argument("--scratch", default=None)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "traces.json"))
    args = ap.parse_args()
    args.servers = args.servers.split(",")
    args.backends = args.backends.split(",")
    if args.quick:
        args.search_traces, args.search_calls, args.otlp_requests, args.client_traces = 2000, 10, 20, 10
    results = run(args)
    text = render(results, args)
    print(text)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"args": {k: v for k, v in vars(args).items()}, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
