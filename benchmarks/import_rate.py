"""How fast `aiotrack import` moves an MLflow database.

Builds an MLflow SQLite database of the asked size directly with SQL, in the schema MLflow's own
store creates (``SqlAlchemyStore`` runs MLflow's alembic migrations), then times
``aiotrack import`` of it into a fresh SQLite file and, with ``--pg``, a fresh PostgreSQL
database (created and dropped here). Default: 100 experiments x 100 runs (10,000 runs), each
with 10 metrics of 100 points (10 million points), 10 params and 5 tags.

    python benchmarks/import_rate.py                   # the full size, SQLite target
    python benchmarks/import_rate.py --pg              # also a PostgreSQL target
    python benchmarks/import_rate.py --experiments 10 --runs 20 --points 50   # a quick look
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
    parser.add_argument("--pg", action="store_true", help="also import into a fresh PostgreSQL database")
    parser.add_argument("--pg-admin", default="postgresql://root@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="aiotrack-import-bench-") as work:
        source = os.path.join(work, "mlflow.db")
        started = time.monotonic()
        counts = build_mlflow_sqlite(
            source, experiments=args.experiments, runs=args.runs, keys=args.keys, points=args.points
        )
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
        print("| target | runs | metric points | rows | time (import + verification) | rows/s | points/s |")
        print("|---|---|---|---|---|---|---|")
        for target, seconds in results:
            print(
                f"| {target} | {counts['runs']:,} | {counts['metrics']:,} | {rows:,} | {seconds:.1f} s | "
                f"{rows / seconds:,.0f} | {counts['metrics'] / seconds:,.0f} |"
            )


if __name__ == "__main__":
    main()
