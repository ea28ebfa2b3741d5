"""Growth curve (issue 15, item 2): how the read paths cost grows with an experiment's size.

For each size (runs in one experiment, each with 10 params, 10 metrics and 5 tags) and each server,
on PostgreSQL (and SQLite for aiotrack with --backends): a fresh database
`bench_growth_<server>_<size>_<stamp>` gets the server's own schema from the server itself (it is
started once on the empty database; one experiment for the runs and one for a run of
--history-points points are created through REST), the server is stopped, the runs and the
history go in by bulk SQL straight into that server's tables (PostgreSQL COPY via asyncpg;
SQLite executemany in large transactions), `VACUUM ANALYZE` follows (autovacuum is off on this
machine; a production server's autovacuum would do the same soon after), and the server is
started again on it. Then, one request at a time (latency, not throughput), p50/p99 of:

    search_filtered   runs/search, `metrics.m1 > 0.5 and params.p1 = 'x'` ordered by metrics.m2 DESC, top 100
    search_page       runs/search, no filter, a page of 1,000 runs
    search_tag        runs/search, `tags.t0 = 'g42'` (0.1% of the runs), top 100
    history_page      metrics/get-history of the history run, 25,000 points a page as mlflow's client pages it
                      (p50/p99 of the pages; the full read's seconds beside it)
    bulk_interval     the mlflow UI's get-history-bulk-interval (max_results=1000) of that run
    downsampled       aiotrack's chart endpoint (ajax-api/2.0/aiotrack/metrics/downsampled, 500 buckets)

Every answer is checked against the seeded data (count, top value, points) and a wrong one is
marked. A request slower than --request-timeout ends that measurement, which the table says.

    python benchmarks/growth.py --quick                     # 1,000 and 10,000 runs, 100,000 points: smoke
    python benchmarks/growth.py                             # 10k/100k/1M runs, 10M points, aiotrack+fml+mlflow(10k)
    python benchmarks/growth.py --sizes 1000000 --servers aiotrack --keep
    python benchmarks/growth.py --render benchmarks/results/growth.json   # table and plot again
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import re
import shutil
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import loadgen  # noqa: E402
import run as bench  # noqa: E402
from httpclient import HTTPError  # noqa: E402

from aiotrack.stores.sql.bulk import UNIT_TABLES  # noqa: E402  (the benchmark runs in aiotrack's venv)

API, AJAX = loadgen.API, loadgen.AJAX
log = bench.log

FILTER = "metrics.m1 > 0.5 and params.p1 = 'x'"
ORDER = "metrics.m2 DESC"
TAG_FILTER = "tags.t0 = 'g42'"
TAG_GROUPS = 1000  # t0 = g<i % 1000>: the tag search matches 0.1% of the runs
HISTORY_PAGE = 25_000  # mlflow's client: GET_METRIC_HISTORY_MAX_RESULTS
T0_MS = 1_700_000_000_000

OPS = [
    ("search_filtered", "filtered + ordered top 100"),
    ("search_page", "page of 1,000 runs"),
    ("search_tag", "search by tag, top 100"),
    ("history_page", "get-history page of 25,000 points"),
    ("bulk_interval", "get-history-bulk-interval (1,000)"),
    ("downsampled", "aiotrack downsampled chart (500 buckets)"),
]


# ---------------------------------------------------------------------------------------------
# the seeded data: one definition, turned into each server's rows below


class Expected:
    """What the searches must answer, accumulated while the runs are generated."""

    def __init__(self) -> None:
        self.filtered_matches = 0
        self.filtered_top_m2: float | None = None
        self.tag_matches = 0

    def as_dict(self) -> dict:
        return dict(vars(self))


def gen_runs(n: int, start: int, count: int, rng: random.Random, exp: Expected) -> list[tuple]:
    """Runs start..start+count-1 of n: (run_uuid, index, start_time, params, metrics, tags).
    Run i starts at T0 + (i+1) ms, so the newest runs are the highest indexes."""
    out = []
    pvals = [f"v{k}" for k in range(100)]
    for i in range(start, min(n, start + count)):
        rid = f"{rng.getrandbits(128):032x}"
        params = [(f"p{j}", pvals[rng.randrange(100)]) for j in range(10)]
        params[1] = ("p1", "x" if rng.random() < 0.5 else "y")
        metrics = [(f"m{j}", rng.random()) for j in range(10)]
        tags = [("t0", f"g{i % TAG_GROUPS}")] + [(f"t{j}", f"tag{(i + j) % 7}") for j in range(1, 5)]
        if metrics[1][1] > 0.5 and params[1][1] == "x":
            exp.filtered_matches += 1
            m2 = metrics[2][1]
            if exp.filtered_top_m2 is None or m2 > exp.filtered_top_m2:
                exp.filtered_top_m2 = m2
        if i % TAG_GROUPS == 42:
            exp.tag_matches += 1
        out.append((rid, i, T0_MS + i + 1, params, metrics, tags))
    return out


def history_points(n: int, start: int, count: int) -> Iterator[tuple[int, int, float]]:
    """(step, timestamp, value) of the history run's points start..start+count-1."""
    for s in range(start, min(n, start + count)):
        yield s, T0_MS + s, 1.0 / (s + 1) + (s % 7) * 1e-3


# Each server's tables: name -> columns, and a function of a chunk of runs -> rows per table.


class Layout:
    name = ""
    tables: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __init__(self, exp_id: int, artifact_location: str, user: str = "bench"):
        self.exp_id, self.loc, self.user = exp_id, artifact_location.rstrip("/"), user

    def art(self, rid: str) -> str:
        return f"{self.loc}/{rid}/artifacts"

    def rows(self, runs: list[tuple]) -> dict[str, list[tuple]]:
        raise NotImplementedError

    def history(self, rid: str, n: int, start: int, count: int) -> dict[str, list[tuple]]:
        raise NotImplementedError

    def history_run(self, rid: str, exp_id: int, loc: str) -> dict[str, list[tuple]]:
        """The history run's own row, in another experiment."""
        saved = self.exp_id, self.loc
        self.exp_id, self.loc = exp_id, loc.rstrip("/")
        try:
            rows = self.rows([(rid, -1, T0_MS, [], [], [])])
        finally:
            self.exp_id, self.loc = saved
        return {"runs": rows["runs"], "tags": rows.get("tags", [])}


class AiotrackLayout(Layout):
    """aiotrack's tables, with the column lists its own bulk writer uses (``stores.sql.bulk``)."""

    name = "aiotrack"
    tables: ClassVar[dict[str, tuple[str, ...]]] = {
        t: UNIT_TABLES[t] for t in ("runs", "params", "tags", "metrics", "latest_metrics")
    }

    def rows(self, runs):
        r, p, t, m = [], [], [], []
        for rid, i, st, params, metrics, tags in runs:
            name = f"run-{i}"
            r.append(
                (
                    rid,
                    self.exp_id,
                    name,
                    "UNKNOWN",
                    "",
                    "",
                    self.user,
                    "FINISHED",
                    st,
                    st + 1000,
                    None,  # deleted_time
                    "",
                    "active",
                    self.art(rid),
                )
            )
            p.extend((rid, k, v) for k, v in params)
            t.extend((rid, k, v) for k, v in tags)
            t.append((rid, "mlflow.runName", name))
            m.extend((rid, k, 0, st, v, 0) for k, v in metrics)
        return {"runs": r, "params": p, "tags": t, "metrics": m, "latest_metrics": m}

    def history(self, rid, n, start, count):
        pts = [(rid, "loss", s, ts, v, 0) for s, ts, v in history_points(n, start, count)]
        out = {"metrics": pts}
        if start + count >= n:
            s, ts, v = next(history_points(n, n - 1, 1))
            out["latest_metrics"] = [(rid, "loss", s, ts, v, 0)]
        return out


def mlflow_run_row(layout: Layout, rid: str, name: str, start: int) -> tuple:
    """A finished run as a row of mlflow's runs table (MlflowLayout.tables["runs"] order)."""
    return (
        rid,
        name,
        "UNKNOWN",
        "",
        "",
        layout.user,
        "FINISHED",
        start,
        start + 1000,
        "",
        "active",
        layout.art(rid),
        layout.exp_id,
    )


class MlflowLayout(Layout):
    """mlflow 3.17's schema (its alembic migrations, `mlflow db upgrade`)."""

    name = "mlflow"
    tables: ClassVar[dict[str, tuple[str, ...]]] = {
        "runs": (
            "run_uuid",
            "name",
            "source_type",
            "source_name",
            "entry_point_name",
            "user_id",
            "status",
            "start_time",
            "end_time",
            "source_version",
            "lifecycle_stage",
            "artifact_uri",
            "experiment_id",
        ),
        "params": ("key", "value", "run_uuid"),
        "tags": ("key", "value", "run_uuid"),
        "metrics": ("key", "value", "timestamp", "run_uuid", "step", "is_nan"),
        "latest_metrics": ("key", "value", "timestamp", "step", "is_nan", "run_uuid"),
    }

    def rows(self, runs):
        r, p, t, m, lm = [], [], [], [], []
        for rid, i, st, params, metrics, tags in runs:
            name = f"run-{i}"
            r.append(mlflow_run_row(self, rid, name, st))
            p.extend((k, v, rid) for k, v in params)
            t.extend((k, v, rid) for k, v in tags)
            t.append(("mlflow.runName", name, rid))
            m.extend((k, v, st, rid, 0, False) for k, v in metrics)
            lm.extend((k, v, st, 0, False, rid) for k, v in metrics)
        return {"runs": r, "params": p, "tags": t, "metrics": m, "latest_metrics": lm}

    def history(self, rid, n, start, count):
        out = {"metrics": [("loss", v, ts, rid, s, False) for s, ts, v in history_points(n, start, count)]}
        if start + count >= n:
            s, ts, v = next(history_points(n, n - 1, 1))
            out["latest_metrics"] = [("loss", v, ts, s, False, rid)]
        return out


class FmlLayout(Layout):
    """FastTrackML 0.6's schema (its own migrations, run at `fml server` start): runs carry a
    per-experiment row_num, params a value_str, metrics an iteration counter and a context (row 1,
    the empty context `{}` it creates); runs/create keeps the run name in runs.name only."""

    name = "fml"
    tables: ClassVar[dict[str, tuple[str, ...]]] = {
        "runs": (*MlflowLayout.tables["runs"], "row_num"),  # FastTrackML forked mlflow's runs table
        "params": ("key", "value_str", "run_uuid"),
        "tags": MlflowLayout.tables["tags"],
        "metrics": ("key", "value", "timestamp", "run_uuid", "step", "is_nan", "iter", "context_id"),
        "latest_metrics": ("key", "value", "timestamp", "step", "is_nan", "run_uuid", "last_iter", "context_id"),
    }

    def rows(self, runs):
        r, p, t, m, lm = [], [], [], [], []
        for rid, i, st, params, metrics, tags in runs:
            name = f"run-{i}"
            r.append((*mlflow_run_row(self, rid, name, st), max(i, 0)))
            p.extend((k, v, rid) for k, v in params)
            t.extend((k, v, rid) for k, v in tags)
            m.extend((k, v, st, rid, 0, False, 1, 1) for k, v in metrics)
            lm.extend((k, v, st, 0, False, rid, 1, 1) for k, v in metrics)
        return {"runs": r, "params": p, "tags": t, "metrics": m, "latest_metrics": lm}

    def history(self, rid, n, start, count):
        out = {"metrics": [("loss", v, ts, rid, s, False, s + 1, 1) for s, ts, v in history_points(n, start, count)]}
        if start + count >= n:
            s, ts, v = next(history_points(n, n - 1, 1))
            out["latest_metrics"] = [("loss", v, ts, s, False, rid, n, 1)]
        return out


LAYOUTS: dict[str, type[Layout]] = {"aiotrack": AiotrackLayout, "mlflow": MlflowLayout, "fml": FmlLayout}


# ---------------------------------------------------------------------------------------------
# bulk writers: PostgreSQL COPY, SQLite executemany


class PgWriter:
    def __init__(self, dsn: str):
        self.dsn = dsn
        self.conn = None

    async def __aenter__(self):
        import asyncpg  # the project venv has it (aiotrack's driver)

        self.conn = await asyncpg.connect(self.dsn)
        await self.conn.execute("SET synchronous_commit = off")
        return self

    async def __aexit__(self, *exc):
        await self.conn.close()

    async def write(self, rows: dict[str, list[tuple]], tables: dict[str, tuple[str, ...]]) -> None:
        async with self.conn.transaction():
            for table, recs in rows.items():
                if recs:
                    await self.conn.copy_records_to_table(table, records=recs, columns=list(tables[table]))

    async def finish(self) -> float:
        t0 = time.perf_counter()
        await self.conn.execute("VACUUM ANALYZE")
        return time.perf_counter() - t0


class SqliteWriter:
    def __init__(self, path: str):
        self.path = path
        self.db: sqlite3.Connection | None = None

    async def __aenter__(self):
        self.db = sqlite3.connect(self.path, isolation_level=None)
        return self

    async def __aexit__(self, *exc):
        self.db.close()

    def _write(self, rows, tables) -> None:
        db = self.db
        db.execute("BEGIN")
        for table, recs in rows.items():
            if recs:
                cols = tables[table]
                db.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", recs)
        db.execute("COMMIT")

    async def write(self, rows, tables) -> None:
        await asyncio.to_thread(self._write, rows, tables)

    async def finish(self) -> float:
        t0 = time.perf_counter()
        await asyncio.to_thread(self.db.execute, "ANALYZE")
        return time.perf_counter() - t0


async def seed(
    writer, layout: Layout, n: int, hist_rid: str, hist_exp: tuple[int, str], points: int, chunk: int
) -> dict:
    """Bulk-load n runs and the history run through `writer`; generation of the next chunk (a
    thread) overlaps the write of the current one. Returns timings, row counts, expectations."""
    rng = random.Random(20261208 + n)
    exp = Expected()
    counts: dict[str, int] = {}

    def count(rows):
        for k, v in rows.items():
            counts[k] = counts.get(k, 0) + len(v)

    t0 = time.perf_counter()
    starts = list(range(0, n, chunk))

    def make(k: int):
        return layout.rows(gen_runs(n, starts[k], chunk, rng, exp))

    nxt = asyncio.create_task(asyncio.to_thread(make, 0)) if starts else None
    for k in range(len(starts)):
        rows = await nxt
        nxt = asyncio.create_task(asyncio.to_thread(make, k + 1)) if k + 1 < len(starts) else None
        await writer.write(rows, layout.tables)
        count(rows)
    runs_s = time.perf_counter() - t0

    t1 = time.perf_counter()
    hrows = layout.history_run(hist_rid, *hist_exp)
    await writer.write(hrows, layout.tables)
    count(hrows)
    hchunk = chunk * 25
    hstarts = list(range(0, points, hchunk))

    def hmake(k: int):
        return layout.history(hist_rid, points, hstarts[k], hchunk)

    nxt = asyncio.create_task(asyncio.to_thread(hmake, 0)) if hstarts else None
    for k in range(len(hstarts)):
        rows = await nxt
        nxt = asyncio.create_task(asyncio.to_thread(hmake, k + 1)) if k + 1 < len(hstarts) else None
        await writer.write(rows, layout.tables)
        count(rows)
    hist_s = time.perf_counter() - t1
    analyze_s = await writer.finish()
    total_rows = sum(counts.values())
    return {
        "runs_seconds": runs_s,
        "history_seconds": hist_s,
        "analyze_seconds": analyze_s,
        "seconds": runs_s + hist_s + analyze_s,
        "rows": counts,
        "total_rows": total_rows,
        "rows_per_s": total_rows / (runs_s + hist_s) if runs_s + hist_s > 0 else None,
        "expected": exp.as_dict(),
    }


# ---------------------------------------------------------------------------------------------
# measurements


class TooSlow(Exception):
    pass


async def one(t: loadgen.Target, method: str, path: str, body: bytes | None, timeout: float):
    c = t.conn()
    t0 = time.perf_counter()
    try:
        r = await asyncio.wait_for(c.request(method, path, body), timeout)
    except asyncio.TimeoutError as e:
        raise TooSlow(f"no answer within {timeout:g} s") from e
    finally:
        c.close()
    return r, time.perf_counter() - t0


async def latency(t: loadgen.Target, a, method: str, path: str, body: bytes | None, check: Callable) -> dict:
    """One checked request, then a closed loop at concurrency 1 (loadgen.closed_loop) for a.op_seconds
    or a.op_requests requests; skipped when the first request exceeds a.request_timeout."""
    await bench.wait_quiet(a.max_load, a.max_load_wait)
    load = os.getloadavg()[0]
    try:
        r, first_s = await one(t, method, path, body, a.request_timeout)
    except TooSlow as e:
        return {"skipped": str(e)}
    if r.status == 404:
        return {"unsupported": True, "first_error": r.text(300)}
    if r.status != 200:
        return {"status": r.status, "first_error": r.text(300), "check_ok": False}
    chk = check(r)
    budget = max(a.op_seconds, 3 * first_s)
    try:
        res = await asyncio.wait_for(
            loadgen.closed_loop(t, 1, budget, a.op_requests, lambda w, i: (method, path, body)),
            budget + 2 * a.request_timeout,
        )
    except asyncio.TimeoutError:
        return {"skipped": f"the timed loop overran {budget + 2 * a.request_timeout:g} s", "first_ms": first_s * 1e3}
    res.update(first_ms=first_s * 1e3, check=chk, check_ok=chk.get("ok", False), loadavg_1min_before=load)
    return res


def _history_path(run_id: str, token: str | None) -> str:
    q = f"{API}/metrics/get-history?run_id={run_id}&run_uuid={run_id}&metric_key=loss&max_results={HISTORY_PAGE}"
    return q + ("&page_token=" + quote(token) if token else "")


def _offset_token(offset: int) -> str:
    """mlflow's page token (aiotrack and mlflow share it): base64 of {"offset": N}."""
    return base64.b64encode(f'{{"offset": {offset}}}'.encode()).decode()


async def history_full(t: loadgen.Target, a, run_id: str, points: int) -> dict:
    """Read the history as mlflow's client does (pages of 25,000 following next_page_token) for at
    most a.history_budget seconds; p50/p99 of the pages read. When the read is cut short (offset
    paging makes each page cost more than the one before), the deepest page is also fetched on its
    own through an offset token, and the full read is estimated from the first and the deepest page
    (page cost linear in its offset). The body is not JSON-decoded (10M points would cost the
    client more than the server): points are counted by their "step" keys, the token is cut out."""
    await bench.wait_quiet(a.max_load, a.max_load_wait)
    c = t.conn()
    lat, total, tok, cut = [], 0, None, False
    t0 = time.perf_counter()
    try:
        while True:
            t1 = time.perf_counter()
            try:
                r = await asyncio.wait_for(c.request("GET", _history_path(run_id, tok)), a.history_timeout)
            except asyncio.TimeoutError:
                return {
                    "skipped": f"a page took over {a.history_timeout:g} s (after {len(lat)} pages, {total:,} points)"
                }
            lat.append(time.perf_counter() - t1)
            if r.status != 200:
                return {"status": r.status, "first_error": r.text(300), "check_ok": False}
            total += r.body.count(b'"step"')
            m = re.search(rb'"next_page_token"\s*:\s*"([^"]*)"', r.body[-400:])
            tok = m.group(1).decode() if m else None
            if not tok:
                break
            if time.perf_counter() - t0 > a.history_budget:
                cut = True
                break
        seconds = time.perf_counter() - t0
        out: dict = {"pages": len(lat), "points": total, "seconds": seconds, "points_per_s": total / seconds}
        first = lat[0]
        if cut:
            deep = max(0, points - HISTORY_PAGE)
            t1 = time.perf_counter()
            try:
                r = await asyncio.wait_for(
                    c.request("GET", _history_path(run_id, _offset_token(deep))), a.history_timeout
                )
                last_s: float | None = time.perf_counter() - t1
                got = r.body.count(b'"step"') if r.status == 200 else 0
            except asyncio.TimeoutError:
                last_s, got = None, 0
            pages = -(-points // HISTORY_PAGE)
            out.update(
                cut_after_s=a.history_budget,
                last_page_ms=last_s * 1e3 if last_s is not None else None,
                last_page_points=got,
                estimated_full_s=pages * (first + last_s) / 2 if last_s is not None else None,
            )
            out["check_ok"] = got == points - deep
        else:
            out["check_ok"] = total == points
        out["check"] = {"points": total, "expected": points}
    finally:
        c.close()
    lat.sort()
    out.update(first_page_ms=first * 1e3, p50_ms=loadgen.pct(lat, 0.5) * 1e3, p99_ms=loadgen.pct(lat, 0.99) * 1e3)
    return out


def _runs(r) -> list[dict]:
    return r.json().get("runs", [])


async def measure(t: loadgen.Target, a, exp_id: str, hist_rid: str, n: int, points: int, expected: dict) -> dict:
    path = f"{API}/runs/search"
    out: dict[str, dict] = {}
    want_f = min(100, expected["filtered_matches"])
    top = expected["filtered_top_m2"]

    def check_filtered(r):
        runs = _runs(r)
        got = {m["key"]: m["value"] for m in runs[0]["data"].get("metrics", [])}.get("m2") if runs else None
        ok = len(runs) == want_f and (top is None or (got is not None and abs(got - top) < 1e-9))
        return {
            "count": len(runs),
            "expected_count": want_f,
            "top_m2_ok": got is not None and top is not None and abs(got - top) < 1e-9,
            "ok": ok,
        }

    body = loadgen.jdump({"experiment_ids": [exp_id], "filter": FILTER, "order_by": [ORDER], "max_results": 100})
    out["search_filtered"] = await latency(t, a, "POST", path, body, check_filtered)

    want_p = min(1000, n)

    def check_page(r):
        d = r.json()
        runs = d.get("runs", [])
        newest = runs[0]["info"]["run_name"] if runs else None
        return {
            "count": len(runs),
            "expected_count": want_p,
            "newest": newest,
            "ok": len(runs) == want_p and newest == f"run-{n - 1}",
        }

    body = loadgen.jdump({"experiment_ids": [exp_id], "max_results": 1000})
    out["search_page"] = await latency(t, a, "POST", path, body, check_page)

    want_t = min(100, expected["tag_matches"])

    def check_tag(r):
        runs = _runs(r)
        ok = len(runs) == want_t and all(
            any(x["key"] == "t0" and x["value"] == "g42" for x in u["data"].get("tags", [])) for u in runs
        )
        return {"count": len(runs), "expected_count": want_t, "ok": ok}

    body = loadgen.jdump({"experiment_ids": [exp_id], "filter": TAG_FILTER, "max_results": 100})
    out["search_tag"] = await latency(t, a, "POST", path, body, check_tag)

    out["history_page"] = await history_full(t, a, hist_rid, points)

    bpath = f"{AJAX}/metrics/get-history-bulk-interval?run_ids={hist_rid}&metric_key=loss&max_results=1000"

    def check_bulk(r):
        k = len(r.json().get("metrics", []))
        return {"points": k, "ok": 0 < k <= 1002}

    out["bulk_interval"] = await latency(t, a, "GET", bpath, None, check_bulk)

    if t.name == "aiotrack":
        dpath = f"/ajax-api/2.0/aiotrack/metrics/downsampled?run_id={hist_rid}&metric_key=loss&buckets=500"

        def check_down(r):
            s = r.json().get("series", [{}])[0]
            return {"total": s.get("total"), "points": len(s.get("step", [])), "ok": s.get("total") == points}

        out["downsampled"] = await latency(t, a, "GET", dpath, None, check_down)
    return out


# ---------------------------------------------------------------------------------------------
# one (server, backend, size)


async def rest(t: loadgen.Target, method: str, path: str, payload=None) -> dict:
    c = t.conn()
    try:
        return await loadgen.call(c, method, path, payload, retries=5)
    finally:
        c.close()


async def one_size(a, server: bench.Server, backend: str, n: int, points: int, stamp: str, scratch: str) -> dict:
    db = f"bench_growth_{server.name}_{n}_{stamp}"
    r = bench.Running(server, backend, os.path.join(scratch, str(n)), a.workers, stamp, pg_db=db)
    res: dict = {"database": db if backend == "postgresql" else r.uri, "runs": n, "history_points": points}
    try:
        log(f"[{backend} {n:,}] {server.name}: first start (schema): {' '.join(r.cmd)}")
        await r.start(a.start_timeout)
        res["first_start_s"] = r.result["cold_start"]["seconds"]
        t = r.target()
        await rest(t, "POST", f"{API}/experiments/search", {"max_results": 1})  # mlflow opens its store lazily
        eid = str((await rest(t, "POST", f"{API}/experiments/create", {"name": f"growth-{n}"}))["experiment_id"])
        hid = str((await rest(t, "POST", f"{API}/experiments/create", {"name": "growth-history"}))["experiment_id"])
        locs = {}
        for e in (eid, hid):
            d = await rest(t, "GET", f"{API}/experiments/get?experiment_id={e}")
            locs[e] = d["experiment"].get("artifact_location") or ""
        r.stop(drop=False)
        layout = LAYOUTS[server.name](int(eid), locs[eid])
        hist_rid = uuid.uuid4().hex
        log(f"[{backend} {n:,}] {server.name}: seeding {n:,} runs + {points:,} points")
        writer = (
            PgWriter(f"postgresql://root@127.0.0.1:5432/{db}")
            if backend == "postgresql"
            else SqliteWriter(r.uri.split("sqlite:///", 1)[1])
        )
        async with writer:
            s = await seed(writer, layout, n, hist_rid, (int(hid), locs[hid]), points, a.chunk)
        s["method"] = (
            "COPY (asyncpg copy_records_to_table), one transaction per chunk"
            if backend == "postgresql"
            else "executemany, one transaction per chunk"
        )
        res["seed"] = s
        if backend == "postgresql":
            res["db_size_mib"] = db_size_mib(db)
        log(
            f"[{backend} {n:,}] {server.name}: seeded {s['total_rows']:,} rows in "
            f"{s['runs_seconds'] + s['history_seconds']:.0f} s, ANALYZE {s['analyze_seconds']:.0f} s"
        )
        await r.start(a.start_timeout, fresh=False)
        res["start_s"] = r.result["cold_start"]["seconds"]
        t = r.target()
        res["ops"] = await measure(t, a, eid, hist_rid, n, points, s["expected"])
        for op, d in res["ops"].items():
            log(f"[{backend} {n:,}] {server.name} {op}: {summary(d)}")
        if not r.alive():
            res["died"] = True
    finally:
        r.stop(drop=not a.keep)
    return res


def db_size_mib(db: str) -> float | None:
    out = bench._out(
        ["psql", "-h", "127.0.0.1", "-U", "root", "-d", db, "-tAc", "select pg_database_size(current_database())"]
    )
    with contextlib.suppress(ValueError):
        return int(out.strip()) / bench.MiB
    return None


def summary(d: dict) -> str:
    if "skipped" in d:
        return "skipped: " + d["skipped"]
    keys = ("p50_ms", "p99_ms", "requests", "seconds", "pages", "check_ok")
    return ", ".join(f"{k}={round(d[k], 1) if isinstance(d[k], float) else d[k]}" for k in keys if k in d)


# ---------------------------------------------------------------------------------------------
# table and plot


def fmt_ms(d: dict | None) -> str:
    if d is None:
        return "—"
    if d.get("unsupported"):
        return "n/a"
    if "skipped" in d:
        return "> timeout"
    if d.get("p50_ms") is None:
        return f"✗ ({d.get('status')})"
    txt = (
        f"{d['p50_ms']:,.1f} / {d['p99_ms']:,.1f}" if d["p50_ms"] < 100 else f"{d['p50_ms']:,.0f} / {d['p99_ms']:,.0f}"
    )
    return txt + (" ⚠" if d.get("check_ok") is False or d.get("errors") else "")


def render(results: dict) -> str:
    out = []
    m = results["meta"]
    out.append(
        f"Measured {m['date']} on {m['nproc']} cores ({m['cpu']}), {m['mem_mib']:,} MiB; PostgreSQL {m['postgresql']}, "
        f"SQLite {m['sqlite']}; "
        + ", ".join(f"{k} {v['version']}" for k, v in m["servers"].items())
        + f"; --workers {results['workers']} for mlflow and aiotrack"
        + f"; load average at start {' '.join(m['loadavg_at_start'])}"
        + (f", at end {' '.join(m['loadavg_at_end'])}" if m.get("loadavg_at_end") else "")
        + f"; run took {results.get('total_seconds', 0) / 60:.0f} min.\n"
    )
    for backend, per in results["backends"].items():
        servers = [s for s in results["servers"] if s in per]
        sizes = sorted({int(k) for s in servers for k in per[s]})
        out.append(f"#### {backend}: p50 / p99 ms, one request at a time\n")
        hdr = ["operation", "runs", *servers]
        if "aiotrack" in servers:
            hdr += [f"aiotrack vs {s} (p50)" for s in servers if s != "aiotrack"]
        out.append("| " + " | ".join(hdr) + " |")
        out.append("|" + "---|" * len(hdr))
        for op, label in OPS:
            for n in sizes:
                cells = [per[s].get(str(n), {}).get("ops", {}).get(op) if str(n) in per[s] else None for s in servers]
                if all(c is None for c in cells):
                    continue
                row = [label, f"{n:,}", *[fmt_ms(c) for c in cells]]
                if "aiotrack" in servers:
                    a = cells[servers.index("aiotrack")]
                    for s, c in zip(servers, cells, strict=True):
                        if s == "aiotrack":
                            continue
                        av, ov = (a or {}).get("p50_ms"), (c or {}).get("p50_ms")
                        row.append(bench._ratio(av, ov, "low") if av and ov else "—")
                out.append("| " + " | ".join(row) + " |")
        out.append("")
        out.append("Full get-history read (all pages), seconds:\n")
        out.append("| runs | " + " | ".join(servers) + " |")
        out.append("|" + "---|" * (len(servers) + 1))
        for n in sizes:
            cells = []
            for s in servers:
                d = per[s].get(str(n), {}).get("ops", {}).get("history_page")
                if d is None:
                    cells.append("—")
                elif "skipped" in d:
                    cells.append("stopped: " + d["skipped"])
                elif d.get("seconds") is None:
                    cells.append("✗")
                elif d.get("cut_after_s"):
                    est = d.get("estimated_full_s")
                    cells.append(
                        f"cut at {d['seconds']:.0f} s after {d['pages']:,} pages ({d['points']:,} points); "
                        f"deepest page {d['last_page_ms'] or 0:,.0f} ms; full read ≈ "
                        + ((f"{est / 60:,.0f} min" if est >= 120 else f"{est:.0f} s") if est else "?")
                        + ("" if d.get("check_ok") else " ⚠")
                    )
                else:
                    cells.append(
                        f"{d['seconds']:.1f} s ({d['pages']:,} page{'s' if d['pages'] != 1 else ''}, "
                        f"{d['points']:,} points)" + ("" if d.get("check_ok") else " ⚠")
                    )
            out.append(f"| {n:,} | " + " | ".join(cells) + " |")
        out.append("")
        out.append("Seeding (bulk SQL into each server's own tables; then VACUUM ANALYZE):\n")
        out.append(
            "| server | runs | history points | rows | seconds (runs + history) | rows/s "
            "| VACUUM ANALYZE s | database MiB |"
        )
        out.append("|---|---|---|---|---|---|---|---|")
        for s in servers:
            for n in sizes:
                d = per[s].get(str(n))
                if not d or "seed" not in d:
                    continue
                sd = d["seed"]
                out.append(
                    f"| {s} | {n:,} | {d['history_points']:,} | {sd['total_rows']:,} | "
                    f"{sd['runs_seconds']:.0f} + {sd['history_seconds']:.0f} | {sd['rows_per_s']:,.0f} | "
                    f"{sd['analyze_seconds']:.0f} | {d.get('db_size_mib') or 0:,.0f} |"
                )
        notes = []
        for s in servers:
            for n in sizes:
                d = per[s].get(str(n), {})
                if d.get("failed"):
                    notes.append(f"- **{s}** at {n:,}: failed: `{d['failed'][:400]}`")
                for op, od in d.get("ops", {}).items():
                    if "skipped" in od:
                        notes.append(f"- **{s}** {op} at {n:,}: {od['skipped']}")
                    elif od.get("check_ok") is False:
                        notes.append(
                            f"- **{s}** {op} at {n:,}: check failed "
                            f"`{json.dumps(od.get('check') or od.get('first_error'))[:300]}`"
                        )
        if notes:
            out.append("\nNotes:\n" + "\n".join(notes))
        out.append("")
    return "\n".join(out)


def plot(results: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    backends = list(results["backends"])
    fig, axes = plt.subplots(1, len(backends), figsize=(11 * len(backends), 6), squeeze=False)
    colours = dict(zip([o for o, _ in OPS], plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    styles = {"aiotrack": ("-", "o"), "fml": ("--", "s"), "mlflow": (":", "^")}
    for ax, backend in zip(axes[0], backends, strict=True):
        per = results["backends"][backend]
        for s in results["servers"]:
            if s not in per:
                continue
            for op, label in OPS:
                xs, ys = [], []
                for n in sorted(int(k) for k in per[s]):
                    d = per[s][str(n)].get("ops", {}).get(op) or {}
                    if d.get("p50_ms"):
                        xs.append(n)
                        ys.append(d["p50_ms"])
                if xs:
                    ls, mk = styles.get(s, ("-", "x"))
                    ax.plot(xs, ys, ls, marker=mk, color=colours[op], label=f"{s}: {label}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("runs in the experiment")
        ax.set_ylabel("p50 latency (ms), one request at a time")
        ax.set_title(f"Growth on {backend} (history: one run of {results['history_points']:,} points)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(results: dict, out: str) -> None:
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out + ".json", "w") as f:
        json.dump(results, f, indent=1, default=str)
    with open(out + ".md", "w") as f:
        f.write(render(results))
    plot(results, out + ".png")


# ---------------------------------------------------------------------------------------------


async def main_async(a) -> dict:
    names = a.servers.split(",")
    servers = bench.discover(names, a.aiotrack)
    for n, s in servers.items():
        log(f"{n}: {s.version} {s.exe or 'UNAVAILABLE'} {s.note}")
    sizes = [int(x) for x in a.sizes.split(",")]
    stamp = time.strftime("%Y%m%d%H%M%S") + "_" + uuid.uuid4().hex[:4]
    scratch = os.path.join(HERE, "scratch", "growth_" + stamp)
    results = {
        "meta": bench.machine_facts(servers),
        "servers": names,
        "sizes": sizes,
        "history_points": a.history_points,
        "workers": a.workers,
        "args": vars(a),
        "backends": {},
    }
    t_all = time.perf_counter()
    try:
        for backend in a.backends.split(","):
            per: dict[str, dict] = {n: {} for n in names}
            results["backends"][backend] = per
            # mlflow (bounded sizes, a minute to start) after the others: a run cut short has those
            work = [(n, m) for n in sizes for m in names if m != "mlflow"]
            work += [(n, "mlflow") for n in sizes if "mlflow" in names]
            for n, name in work:
                s = servers[name]
                if not s.exe:
                    per[name][str(n)] = {"failed": s.note}
                    continue
                if name == "mlflow" and n > a.mlflow_max_runs:
                    continue
                if backend == "sqlite" and name != "aiotrack" and not a.sqlite_peers:
                    continue
                try:
                    per[name][str(n)] = await one_size(a, s, backend, n, a.history_points, stamp, scratch)
                except (RuntimeError, loadgen.WorkloadError, HTTPError, OSError, KeyError, ValueError) as e:
                    log(f"[{backend} {n:,}] {name} FAILED: {e!r}")
                    per[name][str(n)] = {"failed": repr(e)[:800]}
                results["total_seconds"] = time.perf_counter() - t_all
                write_outputs(results, a.out)  # after every step: a run cut short keeps what it measured
    finally:
        if not a.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    results["total_seconds"] = time.perf_counter() - t_all
    results["meta"]["loadavg_at_end"] = Path("/proc/loadavg").read_text().split()[:3]
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default="aiotrack,fml,mlflow", help="comma-separated: aiotrack,fml,mlflow")
    ap.add_argument("--backends", default="postgresql", help="comma-separated: postgresql,sqlite")
    ap.add_argument("--sizes", default=None, help="runs per experiment, comma-separated (default 10000,100000,1000000)")
    ap.add_argument("--history-points", type=int, default=None, help="points of the history run (default 10,000,000)")
    ap.add_argument("--quick", action="store_true", help="sizes 1000,10000 and 100,000 points: a smoke run")
    ap.add_argument("--mlflow-max-runs", type=int, default=10_000, help="largest size mlflow is seeded with")
    ap.add_argument("--sqlite-peers", action="store_true", help="on SQLite also fml and mlflow (default aiotrack only)")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--aiotrack", default=None, help="aiotrack executable (default .venv/bin/aiotrack)")
    ap.add_argument("--chunk", type=int, default=20_000, help="runs per COPY transaction (history: 25x as many points)")
    ap.add_argument("--op-seconds", type=float, default=6.0, help="timed loop per operation, seconds")
    ap.add_argument("--op-requests", type=int, default=200, help="at most this many requests per operation")
    ap.add_argument("--request-timeout", type=float, default=30.0, help="a slower request skips the operation")
    ap.add_argument("--history-timeout", type=float, default=120.0, help="per get-history page")
    ap.add_argument("--history-budget", type=float, default=45.0, help="a full history read is cut after this (s)")
    ap.add_argument("--start-timeout", type=float, default=180.0)
    ap.add_argument("--max-load", type=float, default=None, help="wait for the 1-min load average below this first")
    ap.add_argument("--max-load-wait", type=float, default=120.0)
    ap.add_argument("--keep", action="store_true", help="keep the databases and scratch directories")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "growth"), help="OUT.json, OUT.md, OUT.png")
    ap.add_argument("--render", metavar="JSON", default=None, help="only re-render the table and plot of a JSON")
    bench.add_port_range_arg(ap)
    a = ap.parse_args()
    if a.render:
        with open(a.render) as f:
            results = json.load(f)
        write_outputs(results, os.path.splitext(a.render)[0])
        print(render(results))
        return
    a.sizes = a.sizes or ("1000,10000" if a.quick else "10000,100000,1000000")
    a.history_points = a.history_points or (100_000 if a.quick else 10_000_000)
    bench.set_port_range(a.port_range)
    try:
        results = asyncio.run(main_async(a))
    finally:
        for r in bench.RUNNING:
            r.stop(drop=not a.keep)
    write_outputs(results, a.out)
    print(render(results))


if __name__ == "__main__":
    main()
