"""How fast `aiotrack import` moves an MLflow database.

Builds an MLflow SQLite database of the asked size directly with SQL, in the schema MLflow's own
store creates (``SqlAlchemyStore`` runs MLflow's alembic migrations), then times
``aiotrack import`` of it into a fresh SQLite file and, with ``--pg``, a fresh PostgreSQL
database (created and dropped here). Default: 100 experiments x 100 runs (10,000 runs), each
with 10 metrics of 100 points (10 million points), 10 params and 5 tags.

    python benchmarks/import_rate.py                   # the full size, SQLite target
    python benchmarks/import_rate.py --pg              # also a PostgreSQL target
    python benchmarks/import_rate.py --experiments 10 --runs 20 --points 50   # a quick look
    python benchmarks/import_rate.py --experiments 20 --runs 10 --traces 20000   # traces too

``--traces N`` adds N traces spread over the experiments, each as MLflow's SQL store keeps one
logged by its client: a trace_info row (with its name column), 3 tags, 6 metadata entries, 3 spans
in the ``spans`` table (a root and two children, content in the traces.json span form) and one
feedback assessment.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_mlflow_sqlite(
    path: str,
    *,
    experiments: int,
    runs: int,
    keys: int = 10,
    points: int = 100,
    params: int = 10,
    tags: int = 5,
) -> dict[str, int]:
    """An MLflow 3.17 SQLite database at ``path`` with the given shape; returns row counts."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(f"sqlite:///{path}", os.path.join(os.path.dirname(path), "artifacts"))
    store.engine.dispose()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA journal_mode = MEMORY")
    base = 1_700_000_000_000
    counts = dict.fromkeys(("experiments", "runs", "params", "tags", "metrics", "latest_metrics"), 0)
    with conn:
        for e in range(1, experiments + 1):
            conn.execute(
                "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, "
                "last_update_time) VALUES (?, ?, ?, 'active', ?, ?)",
                (e, f"experiment {e}", f"mlflow-artifacts:/{e}", base, base),
            )
            counts["experiments"] += 1
            run_rows, param_rows, tag_rows, metric_rows, latest_rows = [], [], [], [], []
            for r in range(runs):
                run_id = uuid.uuid4().hex
                start = base + e * 1_000_000 + r * 1000
                run_rows.append(
                    (run_id, f"run-{e}-{r}", "LOCAL", "bench.py", "", "bench", "FINISHED", start, start + 500, "",
                     "active", f"mlflow-artifacts:/{e}/{run_id}/artifacts", e)
                )  # fmt: skip
                param_rows += [(f"p{i}", str(r * i), run_id) for i in range(params)]
                tag_rows += [(f"t{i}", f"value {i}", run_id) for i in range(tags)]
                for k in range(keys):
                    for s in range(points):
                        metric_rows.append((f"m{k}", (r + k + s) / (s + 1), start + s, run_id, s, 0))
                    latest_rows.append(
                        (f"m{k}", (r + k + points - 1) / points, start + points - 1, points - 1, 0, run_id)
                    )
            conn.executemany(
                "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, "
                "start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                run_rows,
            )
            conn.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)", param_rows)
            conn.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)", tag_rows)
            conn.executemany(
                "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, ?)",
                metric_rows,
            )
            conn.executemany(
                "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES (?, ?, ?, ?, ?, ?)",
                latest_rows,
            )
            counts["runs"] += len(run_rows)
            counts["params"] += len(param_rows)
            counts["tags"] += len(tag_rows)
            counts["metrics"] += len(metric_rows)
            counts["latest_metrics"] += len(latest_rows)
    conn.close()
    return counts


def add_traces(path: str, *, traces: int, experiments: int) -> dict[str, int]:
    """``traces`` traces spread over experiments 1..experiments of the database at ``path``."""
    import base64
    import json

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    base_ms = 1_700_000_000_000
    counts = dict.fromkeys(("trace_info", "trace_tags", "trace_request_metadata", "spans", "assessments"), 0)
    info, tags, metadata, spans, assessments = [], [], [], [], []
    for t in range(traces):
        eid = t % experiments + 1
        otel_id = uuid.uuid4().bytes
        trace_id = "tr-" + otel_id.hex()
        start_ms = base_ms + t * 10
        info.append((trace_id, eid, start_ms, 42, "OK", None, '{"q": "hi"}', '{"a": "hello"}', f"trace {t}"))
        tags += [
            ("mlflow.artifactLocation", f"mlflow-artifacts:/{eid}/traces/{trace_id}/artifacts", trace_id),
            ("mlflow.trace.spansLocation", "TRACKING_STORE", trace_id),
            ("team", "bench", trace_id),
        ]
        metadata += [
            (k, v, trace_id)
            for k, v in (
                ("mlflow.trace_schema.version", "3"),
                ("mlflow.traceInputs", '{"q": "hi"}'),
                ("mlflow.traceOutputs", '{"a": "hello"}'),
                ("mlflow.user", "bench"),
                ("mlflow.source.type", "LOCAL"),
                ("mlflow.trace.infoFinalized", "true"),
            )
        ]
        root = uuid.uuid4().bytes[:8]
        for i, (span_id, parent, name, kind) in enumerate(
            ((root, None, "root", "CHAIN"), (uuid.uuid4().bytes[:8], root, "llm", "LLM"),
             (uuid.uuid4().bytes[:8], root, "tool", "TOOL"))
        ):  # fmt: skip
            begin = (start_ms + i) * 1_000_000
            content = {
                "trace_id": base64.b64encode(otel_id).decode(),
                "span_id": base64.b64encode(span_id).decode(),
                "parent_span_id": base64.b64encode(parent).decode() if parent else None,
                "name": name,
                "start_time_unix_nano": begin,
                "end_time_unix_nano": begin + 10_000_000,
                "events": [],
                "status": {"code": "STATUS_CODE_OK", "message": ""},
                "attributes": {
                    "mlflow.traceRequestId": json.dumps(trace_id),
                    "mlflow.spanType": json.dumps(kind),
                    "mlflow.spanInputs": '{"q": "hi"}',
                    "mlflow.spanOutputs": '{"a": "hello"}',
                },
                "links": [],
            }
            spans.append(
                (trace_id, eid, span_id.hex(), parent.hex() if parent else None, name, kind, "OK", begin,
                 begin + 10_000_000, json.dumps(content))
            )  # fmt: skip
        assessments.append(
            ("a-" + uuid.uuid4().hex, trace_id, "helpful", "feedback", "true", start_ms + 100, start_ms + 100,
             "HUMAN", "bench", 1)
        )  # fmt: skip
    with conn:
        conn.executemany(
            "INSERT INTO trace_info (request_id, experiment_id, timestamp_ms, execution_time_ms, status, "
            "client_request_id, request_preview, response_preview, trace_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            info,
        )
        conn.executemany("INSERT INTO trace_tags (key, value, request_id) VALUES (?, ?, ?)", tags)
        conn.executemany("INSERT INTO trace_request_metadata (key, value, request_id) VALUES (?, ?, ?)", metadata)
        conn.executemany(
            "INSERT INTO spans (trace_id, experiment_id, span_id, parent_span_id, name, type, status, "
            "start_time_unix_nano, end_time_unix_nano, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            spans,
        )
        conn.executemany(
            "INSERT INTO assessments (assessment_id, trace_id, name, assessment_type, value, created_timestamp, "
            "last_updated_timestamp, source_type, source_id, valid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            assessments,
        )
    conn.close()
    counts.update(
        trace_info=len(info),
        trace_tags=len(tags) + len(info),
        trace_request_metadata=len(metadata),
        spans=len(spans),
        assessments=len(assessments),
    )  # fmt: skip  (trace_tags: the trace name column arrives as the mlflow.traceName tag)
    return counts


def _import(source: str, target: str, cwd: str) -> float:
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "aiotrack", "import", source, "--backend-store-uri", target, "--no-progress"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.monotonic() - started
    print(done.stdout)
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        raise SystemExit(f"import into {target} failed ({done.returncode})")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiments", type=int, default=100)
    parser.add_argument("--runs", type=int, default=100, help="runs per experiment")
    parser.add_argument("--keys", type=int, default=10, help="metric keys per run")
    parser.add_argument("--points", type=int, default=100, help="points per metric key")
    parser.add_argument("--traces", type=int, default=0, help="traces, spread over the experiments")
    parser.add_argument("--pg", action="store_true", help="also import into a fresh PostgreSQL database")
    parser.add_argument("--pg-admin", default="postgresql://root@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="aiotrack-import-bench-") as work:
        source = os.path.join(work, "mlflow.db")
        started = time.monotonic()
        counts = build_mlflow_sqlite(
            source, experiments=args.experiments, runs=args.runs, keys=args.keys, points=args.points
        )
        trace_counts = add_traces(source, traces=args.traces, experiments=args.experiments) if args.traces else {}
        counts.update(trace_counts)
        rows = sum(counts.values())
        print(f"source built in {time.monotonic() - started:.1f} s: {counts} ({os.path.getsize(source) >> 20} MiB)")
        results = []
        seconds = _import(f"sqlite:///{source}", f"sqlite:///{work}/aiotrack.db", work)
        results.append(("SQLite", seconds))
        if args.pg:
            import asyncio

            import asyncpg

            name = f"bench_import_{uuid.uuid4().hex[:8]}"

            async def admin(sql: str) -> None:
                conn = await asyncpg.connect(args.pg_admin)
                try:
                    await conn.execute(sql)
                finally:
                    await conn.close()

            asyncio.run(admin(f'CREATE DATABASE "{name}"'))
            try:
                seconds = _import(f"sqlite:///{source}", args.pg_admin.rsplit("/", 1)[0] + f"/{name}", work)
                results.append(("PostgreSQL", seconds))
            finally:
                asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        print(
            "| target | runs | metric points | traces | spans | rows | time (import + verification) | rows/s "
            "| points/s | traces/s |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for target, seconds in results:
            n_traces, n_spans = counts.get("trace_info", 0), counts.get("spans", 0)
            print(
                f"| {target} | {counts['runs']:,} | {counts['metrics']:,} | {n_traces:,} | {n_spans:,} | {rows:,} | "
                f"{seconds:.1f} s | {rows / seconds:,.0f} | {counts['metrics'] / seconds:,.0f} | "
                f"{n_traces / seconds:,.0f} |"
            )


if __name__ == "__main__":
    main()
