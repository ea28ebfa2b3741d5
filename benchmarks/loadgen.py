"""Load generator speaking MLflow's REST API over raw HTTP/1.1 (see httpclient.py).

Every workload is a coroutine `wl_<name>(target, cfg)` that seeds what it needs on the server
through the same REST API, then runs a closed loop (N worker coroutines, each with its own
keep-alive connection, bounded by time and by request count) and returns a dict of figures.
Workloads check one response for plausibility (e.g. that a filtered search returned the rows
the seeded data implies), so that a server answering fast but wrong does not win a row.

Standalone use against a server that is already running:

    python benchmarks/loadgen.py --url http://127.0.0.1:5000 --workloads create_run,get_run --quick
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from urllib.parse import quote, urlparse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpclient import Connection, HTTPError, Response

API = "/api/2.0/mlflow"
AJAX = "/ajax-api/2.0/mlflow"
ART = "/api/2.0/mlflow-artifacts/artifacts"
MiB = 1 << 20


@dataclasses.dataclass
class Config:
    duration: float = 10.0  # seconds of each timed closed loop
    warmup: float = 1.0  # seconds of untimed warm-up before it
    max_requests: int = 200_000  # request bound of each timed loop
    seed_concurrency: int = 16
    create_run_concurrency: int = 16
    log_metric_concurrency: int = 32
    log_batch_concurrency: int = 8
    log_batch_size: int = 1000
    get_run_concurrency: int = 32
    get_run_entities: int = 100  # params, metrics and tags each
    search_runs: int = 10_000  # runs seeded for search_runs
    search_concurrency: int = 4
    search_filtered_max: int = 100
    search_page: int = 1000
    history_points: int = 100_000
    history_page: int = 25_000
    history_repeats: int = 3
    bulk_interval_max_results: int = 1000
    bulk_concurrency: int = 4
    experiments: int = 1000
    search_exp_page: int = 1000
    search_exp_concurrency: int = 8
    artifact_mib: int = 1024
    small_files: int = 200
    small_file_kib: int = 16

    @classmethod
    def quick(cls) -> Config:
        return cls(
            duration=3.0,
            warmup=0.5,
            search_runs=500,
            history_points=10_000,
            history_repeats=2,
            experiments=100,
            artifact_mib=64,
            small_files=50,
        )


@dataclasses.dataclass
class Target:
    name: str
    host: str
    port: int
    pid: int | None = None  # server's root pid, for RSS sampling of its process tree
    # Called after a bulk seed, before timing (run.py: ANALYZE on PostgreSQL, whose autovacuum is
    # off on the benchmark machine; a production server's autovacuum does it within a minute).
    after_seed: Callable[[], None] | None = None

    def seeded(self) -> None:
        if self.after_seed is not None:
            self.after_seed()

    def conn(self) -> Connection:
        return Connection(self.host, self.port)


class WorkloadError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# process-tree RSS (Linux /proc)


def tree_pids(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                s = f.read()
        except OSError:
            continue
        ppid = int(s[s.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


_PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(root: int) -> int:
    """Sum of resident set sizes (bytes) of root and all its descendants."""
    total = 0
    for p in tree_pids(root):
        try:
            with open(f"/proc/{p}/statm", "rb") as f:
                total += int(f.read().split()[1]) * _PAGE
        except OSError:
            pass
    return total


class RSSSampler:
    """Samples the process tree's RSS every `interval` s in a thread; keeps the peak."""

    def __init__(self, pid: int | None, interval: float = 0.1):
        self.pid, self.interval = pid, interval
        self.peak = 0
        self.start_rss = 0
        self._stop = threading.Event()
        self._t: threading.Thread | None = None

    def __enter__(self):
        if self.pid:
            self.start_rss = self.peak = tree_rss(self.pid)
            self._t = threading.Thread(target=self._run, daemon=True)
            self._t.start()
        return self

    def _run(self):
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, tree_rss(self.pid))

    def __exit__(self, *exc):
        self._stop.set()
        if self._t:
            self._t.join()
            self.peak = max(self.peak, tree_rss(self.pid))


# ---------------------------------------------------------------------------------------------
# closed-loop driver


def pct(sorted_vals: list[float], q: float) -> float | None:
    if not sorted_vals:
        return None
    return sorted_vals[min(len(sorted_vals) - 1, round(q * (len(sorted_vals) - 1)))]


def _err_sample(method, path, body, resp: Response | None, exc: Exception | None) -> dict:
    d = {"request": f"{method} {path}"}
    if body:
        d["request_body"] = body[:400].decode("utf-8", "replace") + ("..." if len(body) > 400 else "")
    if resp is not None:
        d["status"] = resp.status
        d["response"] = resp.text(600)
    if exc is not None:
        d["exception"] = repr(exc)[:400]
    return d


async def closed_loop(
    target: Target, concurrency: int, duration: float, max_requests: int, make, timed: bool = True
) -> dict:
    """Run `concurrency` workers, each on its own keep-alive connection, issuing
    make(worker, seq) -> (method, path, body) until `duration` s or `max_requests` have passed.
    Returns throughput (successful requests / wall time incl. the tail of in-flight requests)
    and latency percentiles in ms."""
    lat: list[float] = []
    state = {"issued": 0, "ok": 0, "errors": 0, "first_error": None}
    perf = time.perf_counter
    deadline = perf() + duration

    async def worker(w: int):
        c = target.conn()
        try:
            while state["issued"] < max_requests and perf() < deadline:
                seq = state["issued"]
                state["issued"] += 1
                method, path, body = make(w, seq)
                t0 = perf()
                try:
                    r = await c.request(method, path, body)
                except (HTTPError, OSError, asyncio.IncompleteReadError) as e:
                    state["errors"] += 1
                    if state["first_error"] is None:
                        state["first_error"] = _err_sample(method, path, body, None, e)
                    c.close()
                    await asyncio.sleep(0.01)
                    continue
                t1 = perf()
                if r.status == 200:
                    state["ok"] += 1
                    lat.append(t1 - t0)
                else:
                    state["errors"] += 1
                    if state["first_error"] is None:
                        state["first_error"] = _err_sample(method, path, body, r, None)
        finally:
            c.close()

    cpu0, t0 = time.process_time(), perf()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    elapsed = perf() - t0
    cpu = time.process_time() - cpu0
    lat.sort()
    out = {
        "requests": state["ok"],
        "errors": state["errors"],
        "elapsed_s": round(elapsed, 3),
        "rps": state["ok"] / elapsed if elapsed > 0 else None,
        "p50_ms": (pct(lat, 0.50) or 0) * 1e3 if lat else None,
        "p99_ms": (pct(lat, 0.99) or 0) * 1e3 if lat else None,
        "mean_ms": statistics.fmean(lat) * 1e3 if lat else None,
        "concurrency": concurrency,
        "client_cpu_pct": round(100 * cpu / elapsed, 1) if elapsed > 0 else None,
    }
    if state["first_error"]:
        out["first_error"] = state["first_error"]
    return out


async def timed_loop(target: Target, cfg: Config, concurrency: int, make) -> dict:
    if cfg.warmup > 0:
        # at most one request per connection, so a slow endpoint (seconds per request) costs little
        await closed_loop(target, concurrency, cfg.warmup, concurrency, make)
    return await closed_loop(target, concurrency, cfg.duration, cfg.max_requests, make)


# ---------------------------------------------------------------------------------------------
# REST helpers (single requests, used for seeding and checks)


def jdump(o) -> bytes:
    return json.dumps(o, separators=(",", ":")).encode()


SEED_STATS = {"retries": 0, "last_error": None}


async def call(c: Connection, method: str, path: str, payload=None, ok=(200,), retries: int = 0) -> dict:
    """One request; non-200 raises WorkloadError. With retries > 0 (seeding), a 5xx/4xx or a dropped
    connection is retried after a short pause: a server that sheds load while seeding pays in
    seeding time, and the retries are reported."""
    body = jdump(payload) if payload is not None and method != "GET" else None
    for attempt in range(retries + 1):
        try:
            r = await c.request(method, path, body)
        except HTTPError as e:
            if attempt < retries:
                SEED_STATS["retries"] += 1
                SEED_STATS["last_error"] = _err_sample(method, path, body, None, e)
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            raise
        if r.status in ok:
            break
        if attempt < retries:
            SEED_STATS["retries"] += 1
            SEED_STATS["last_error"] = _err_sample(method, path, body, r, None)
            await asyncio.sleep(0.2 * (attempt + 1))
            continue
        raise WorkloadError(json.dumps(_err_sample(method, path, body, r, None)))
    try:
        return r.json() if r.body else {}
    except ValueError as exc:
        raise WorkloadError(json.dumps(_err_sample(method, path, body, r, None)) + " (response is not JSON)") from exc


def now_ms() -> int:
    return int(time.time() * 1000)


async def create_experiment(c: Connection, prefix: str) -> str:
    d = await call(c, "POST", f"{API}/experiments/create", {"name": f"{prefix}-{uuid.uuid4().hex[:12]}"})
    return str(d["experiment_id"])


async def create_run(c: Connection, exp_id: str, tags=None, name=None, retries: int = 0) -> str:
    p = {"experiment_id": exp_id, "start_time": now_ms(), "user_id": "bench"}
    if tags:
        p["tags"] = tags
    if name:
        p["run_name"] = name
    d = await call(c, "POST", f"{API}/runs/create", p, retries=retries)
    info = d["run"]["info"]
    return info.get("run_id") or info["run_uuid"]


async def seed_parallel(target: Target, concurrency: int, n: int, job) -> float:
    """Run job(conn, i) for i in range(n) on `concurrency` connections. Returns seconds."""
    nxt = {"i": 0}

    async def worker():
        c = target.conn()
        try:
            while nxt["i"] < n:
                i = nxt["i"]
                nxt["i"] += 1
                await job(c, i)
        finally:
            c.close()

    SEED_STATS.update(retries=0, last_error=None)
    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, n))))
    return time.perf_counter() - t0


def seed_result(seconds: float, **kw) -> dict:
    d = {"seconds": seconds, **kw, "retries": SEED_STATS["retries"]}
    if SEED_STATS["retries"]:
        d["errors"] = SEED_STATS["retries"]
        d["first_error"] = SEED_STATS["last_error"]
    return d


# ---------------------------------------------------------------------------------------------
# workloads


async def wl_create_run(t: Target, cfg: Config) -> dict:
    c = t.conn()
    exp = await create_experiment(c, "bench-create-run")
    c.close()
    path = f"{API}/runs/create"

    def make(w, i):
        return (
            "POST",
            path,
            jdump(
                {
                    "experiment_id": exp,
                    "start_time": now_ms(),
                    "user_id": "bench",
                    "run_name": f"r{i}",
                    "tags": [{"key": "mlflow.runName", "value": f"r{i}"}],
                }
            ),
        )

    return {"create_run": await timed_loop(t, cfg, cfg.create_run_concurrency, make)}


async def _worker_runs(t: Target, n: int, prefix: str) -> list[str]:
    c = t.conn()
    exp = await create_experiment(c, prefix)
    runs = [await create_run(c, exp) for _ in range(n)]
    c.close()
    return runs


async def wl_health(t: Target, cfg: Config) -> dict:
    """The HTTP ceiling: `GET /health` of the same server through the same client at log_metric's
    concurrency, so that log_metric and get_run can be read as a share of it."""
    c = t.conn()
    r = await c.request("GET", "/health")
    c.close()
    res = await timed_loop(t, cfg, cfg.log_metric_concurrency, lambda w, i: ("GET", "/health", None))
    res["check"] = {"status": r.status, "body": r.text(40)}
    res["check_ok"] = r.status == 200
    return {"health": res}


async def wl_log_metric(t: Target, cfg: Config) -> dict:
    runs = await _worker_runs(t, cfg.log_metric_concurrency, "bench-log-metric")
    steps = [0] * len(runs)
    path = f"{API}/runs/log-metric"

    def make(w, i):
        s = steps[w]
        steps[w] = s + 1
        return (
            "POST",
            path,
            jdump(
                {
                    "run_id": runs[w],
                    "run_uuid": runs[w],
                    "key": "loss",
                    "value": 1.0 / (s + 1),
                    "timestamp": now_ms(),
                    "step": s,
                }
            ),
        )

    return {"log_metric": await timed_loop(t, cfg, cfg.log_metric_concurrency, make)}


async def wl_log_batch(t: Target, cfg: Config) -> dict:
    runs = await _worker_runs(t, cfg.log_batch_concurrency, "bench-log-batch")
    base = [0] * len(runs)
    n = cfg.log_batch_size
    path = f"{API}/runs/log-batch"

    def make(w, i):
        b = base[w]
        base[w] = b + n // 10 + 1
        ts = now_ms()
        metrics = [
            {"key": f"m{j % 10}", "value": (b + j) % 97 / 97.0, "timestamp": ts, "step": b + j // 10} for j in range(n)
        ]
        return "POST", path, jdump({"run_id": runs[w], "metrics": metrics, "params": [], "tags": []})

    r = await timed_loop(t, cfg, cfg.log_batch_concurrency, make)
    r["points_per_s"] = r["rps"] * n if r["rps"] is not None else None
    return {"log_batch": r}


async def wl_get_run(t: Target, cfg: Config) -> dict:
    k = cfg.get_run_entities
    c = t.conn()
    exp = await create_experiment(c, "bench-get-run")
    run = await create_run(c, exp)
    ts = now_ms()
    await call(
        c,
        "POST",
        f"{API}/runs/log-batch",
        {
            "run_id": run,
            "params": [{"key": f"param_{i}", "value": f"value-{i}-" + "x" * 20} for i in range(k)],
            "metrics": [{"key": f"metric_{i}", "value": i * 0.5, "timestamp": ts, "step": 0} for i in range(k)],
            "tags": [{"key": f"tag_{i}", "value": f"tag-value-{i}"} for i in range(k)],
        },
    )
    path = f"{API}/runs/get?run_id={run}&run_uuid={run}"
    d = await call(c, "GET", path)
    c.close()
    data = d.get("run", {}).get("data", {})
    check = {
        "params": len(data.get("params", [])),
        "metrics": len(data.get("metrics", [])),
        "tags": len([x for x in data.get("tags", []) if x.get("key", "").startswith("tag_")]),
    }
    r = await timed_loop(t, cfg, cfg.get_run_concurrency, lambda w, i: ("GET", path, None))
    r["check"] = check
    r["check_ok"] = check == {"params": k, "metrics": k, "tags": k}
    return {"get_run": r}


async def wl_search_runs(t: Target, cfg: Config) -> dict:
    n = cfg.search_runs
    rng = random.Random(42)
    rows = []
    for _i in range(n):
        params = {
            f"p{j}": ("x" if rng.random() < 0.5 else "y") if j == 1 else f"v{rng.randrange(100)}" for j in range(10)
        }
        metrics = {f"m{j}": rng.random() for j in range(10)}
        rows.append((params, metrics))
    match = [m["m2"] for p, m in rows if m["m1"] > 0.5 and p["p1"] == "x"]
    expected_count = min(cfg.search_filtered_max, len(match))
    expected_top = max(match) if match else None

    c = t.conn()
    exp = await create_experiment(c, "bench-search-runs")
    c.close()
    ts = now_ms()

    async def seed(conn, i):
        params, metrics = rows[i]
        run = await create_run(
            conn,
            exp,
            tags=[{"key": f"t{j}", "value": f"tag{(i + j) % 7}"} for j in range(5)],
            name=f"run-{i}",
            retries=5,
        )
        await call(
            conn,
            "POST",
            f"{API}/runs/log-batch",
            retries=5,
            payload={
                "run_id": run,
                "params": [{"key": k, "value": v} for k, v in params.items()],
                "metrics": [{"key": k, "value": v, "timestamp": ts, "step": 0} for k, v in metrics.items()],
                "tags": [],
            },
        )

    seed_s = await seed_parallel(t, cfg.seed_concurrency, n, seed)
    t.seeded()

    path = f"{API}/runs/search"
    filt = jdump(
        {
            "experiment_ids": [exp],
            "filter": "metrics.m1 > 0.5 and params.p1 = 'x'",
            "order_by": ["metrics.m2 DESC"],
            "max_results": cfg.search_filtered_max,
        }
    )
    page = jdump({"experiment_ids": [exp], "max_results": cfg.search_page})

    c = t.conn()
    r = await c.request("POST", path, filt)
    fcheck: dict = {"status": r.status}
    if r.status == 200:
        runs = r.json().get("runs", [])
        fcheck["count"] = len(runs)
        if runs:
            top = {m["key"]: m["value"] for m in runs[0]["data"].get("metrics", [])}.get("m2")
            fcheck["top_m2_ok"] = expected_top is not None and top is not None and abs(top - expected_top) < 1e-9
    fcheck["expected_count"] = expected_count
    r = await c.request("POST", path, page)
    pcheck: dict = {"status": r.status}
    if r.status == 200:
        d = r.json()
        pcheck["count"] = len(d.get("runs", []))
        pcheck["has_next_page_token"] = bool(d.get("next_page_token"))
    pcheck["expected_count"] = min(n, cfg.search_page)
    c.close()

    rf = await timed_loop(t, cfg, cfg.search_concurrency, lambda w, i: ("POST", path, filt))
    rf["check"] = fcheck
    rf["check_ok"] = fcheck.get("count") == expected_count and fcheck.get("top_m2_ok", False)
    rp = await timed_loop(t, cfg, cfg.search_concurrency, lambda w, i: ("POST", path, page))
    rp["check"] = pcheck
    rp["check_ok"] = pcheck.get("count") == pcheck["expected_count"]
    return {
        "search_runs_seed": seed_result(seed_s, runs=n, runs_per_s=n / seed_s),
        "search_runs_filtered": rf,
        "search_runs_page": rp,
    }


async def wl_history(t: Target, cfg: Config) -> dict:
    n = cfg.history_points
    c = t.conn()
    exp = await create_experiment(c, "bench-history")
    run = await create_run(c, exp)
    c.close()
    ts0 = now_ms()
    per = 1000

    async def seed(conn, b):
        await call(
            conn,
            "POST",
            f"{API}/runs/log-batch",
            retries=5,
            payload={
                "run_id": run,
                "params": [],
                "tags": [],
                "metrics": [
                    {"key": "loss", "value": 1.0 / (s + 1), "timestamp": ts0 + s, "step": s}
                    for s in range(b * per, min(n, (b + 1) * per))
                ],
            },
        )

    seed_s = await seed_parallel(t, 4, (n + per - 1) // per, seed)
    history_seed = seed_result(seed_s, points=n)

    c = t.conn()
    times, counts, pages = [], [], []
    for _ in range(cfg.history_repeats):
        t0 = time.perf_counter()
        tok, total, npages = None, 0, 0
        while True:
            q = f"{API}/metrics/get-history?run_id={run}&run_uuid={run}&metric_key=loss&max_results={cfg.history_page}"
            if tok:
                q += "&page_token=" + quote(tok)
            d = await call(c, "GET", q)
            total += len(d.get("metrics", []))
            npages += 1
            tok = d.get("next_page_token")
            if not tok or npages > n // max(1, cfg.history_page) + 5:
                break
        times.append(time.perf_counter() - t0)
        counts.append(total)
        pages.append(npages)
    c.close()
    full = {
        "seconds": statistics.median(times),
        "all_seconds": [round(x, 3) for x in times],
        "points": counts[0],
        "pages": pages[0],
        "check_ok": counts[0] == n,
        "points_per_s": counts[0] / statistics.median(times),
    }

    c = t.conn()
    for prefix in (AJAX, API):  # the UI uses /ajax-api; the proto also declares /api/2.0
        bpath = (
            f"{prefix}/metrics/get-history-bulk-interval?run_ids={run}&metric_key=loss"
            f"&max_results={cfg.bulk_interval_max_results}"
        )
        r = await c.request("GET", bpath)
        if r.status == 200:
            break
    c.close()
    bcheck = {"status": r.status}
    if r.status == 200:
        bcheck["points"] = len(r.json().get("metrics", []))
        bulk = await timed_loop(t, cfg, cfg.bulk_concurrency, lambda w, i: ("GET", bpath, None))
    else:  # not served: don't hammer a 404
        bulk = {"unsupported": True, "first_error": _err_sample("GET", bpath, None, r, None)}
    bulk["check"] = bcheck
    bulk["check_ok"] = 0 < bcheck.get("points", 0) <= cfg.bulk_interval_max_results + 2
    return {"history_seed": history_seed, "history_full": full, "history_bulk_interval": bulk}


async def wl_search_experiments(t: Target, cfg: Config) -> dict:
    prefix = f"bench-exp-{uuid.uuid4().hex[:6]}"

    async def seed(conn, i):
        await call(
            conn,
            "POST",
            f"{API}/experiments/create",
            retries=5,
            payload={"name": f"{prefix}-{i:05d}", "tags": [{"key": "team", "value": f"t{i % 5}"}]},
        )

    seed_s = await seed_parallel(t, cfg.seed_concurrency, cfg.experiments, seed)
    t.seeded()
    exp_seed = seed_result(seed_s, experiments=cfg.experiments)
    path = f"{API}/experiments/search"
    body = jdump({"max_results": cfg.search_exp_page})
    c = t.conn()
    r = await c.request("POST", path, body)
    c.close()
    check = {"status": r.status}
    if r.status == 200:
        check["count"] = len(r.json().get("experiments", []))
    res = await timed_loop(t, cfg, cfg.search_exp_concurrency, lambda w, i: ("POST", path, body))
    res["check"] = check
    res["check_ok"] = check.get("count", 0) >= min(cfg.search_exp_page, cfg.experiments)
    return {"search_experiments_seed": exp_seed, "search_experiments": res}


async def wl_artifacts(t: Target, cfg: Config) -> dict:
    c = t.conn()
    exp = await create_experiment(c, "bench-artifacts")
    run = await create_run(c, exp)
    c.close()
    base = f"{ART}/{exp}/{run}/artifacts"
    size = cfg.artifact_mib * MiB
    block = os.urandom(MiB)
    out: dict = {}

    def chunks():
        for _ in range(cfg.artifact_mib):
            yield block

    c = t.conn()
    with RSSSampler(t.pid) as s:
        t0 = time.perf_counter()
        r = await c.request_stream_body("PUT", f"{base}/big.bin", chunks(), size)
        up_s = time.perf_counter() - t0
    up = {
        "seconds": up_s,
        "mib_per_s": cfg.artifact_mib / up_s,
        "status": r.status,
        "rss_before_mib": s.start_rss / MiB,
        "rss_peak_mib": s.peak / MiB,
        "rss_growth_mib": (s.peak - s.start_rss) / MiB,
    }
    if r.status != 200:
        up["first_error"] = _err_sample("PUT", f"{base}/big.bin", None, r, None)
    out["artifact_upload"] = up
    c.close()
    c = t.conn()
    with RSSSampler(t.pid) as s:
        t0 = time.perf_counter()
        status, nbytes = await c.get_streamed(f"{base}/big.bin")
        dn_s = time.perf_counter() - t0
    c.close()
    dn = {
        "seconds": dn_s,
        "mib_per_s": nbytes / MiB / dn_s,
        "status": status,
        "bytes": nbytes,
        "check_ok": status == 200 and nbytes == size,
        "rss_before_mib": s.start_rss / MiB,
        "rss_peak_mib": s.peak / MiB,
        "rss_growth_mib": (s.peak - s.start_rss) / MiB,
    }
    out["artifact_download"] = dn

    small = os.urandom(cfg.small_file_kib * 1024)
    nf = cfg.small_files

    async def one(i, method):
        conn = t.conn()
        p = f"{base}/small/f{i:04d}.bin"
        t0 = time.perf_counter()
        try:
            if method == "PUT":
                r = await conn.request("PUT", p, small, ctype=b"application/octet-stream")
            else:
                r = await conn.request("GET", p)
            return time.perf_counter() - t0, r.status, (r.body == small if method == "GET" else True), r
        except (HTTPError, OSError) as e:
            return time.perf_counter() - t0, 0, False, e
        finally:
            conn.close()

    for method, key in (("PUT", "small_files_upload"), ("GET", "small_files_download")):
        t0 = time.perf_counter()
        res = await asyncio.gather(*(one(i, method) for i in range(nf)))
        el = time.perf_counter() - t0
        lat = sorted(x[0] for x in res if x[1] == 200)
        bad = [x for x in res if x[1] != 200 or not x[2]]
        d = {
            "files": nf,
            "kib": cfg.small_file_kib,
            "seconds": el,
            "files_per_s": len(lat) / el,
            "p50_ms": pct(lat, 0.5) * 1e3 if lat else None,
            "p99_ms": pct(lat, 0.99) * 1e3 if lat else None,
            "errors": len(bad),
            "concurrency": nf,
        }
        if bad:
            x = bad[0]
            d["first_error"] = (
                {"request": f"{method} {base}/small/...", "status": x[3].status, "response": x[3].text(400)}
                if isinstance(x[3], Response)
                else {"request": f"{method} {base}/small/...", "exception": repr(x[3])}
            )
        out[key] = d
    return out


async def prime(t: Target, connections: int = 48) -> dict:
    """Untimed: touch every code path the workloads use on many fresh connections, so that each of
    a multi-process server's workers has opened its store (MLflow opens it lazily, which takes
    seconds per worker) before anything is measured."""
    c = t.conn()
    exp = await create_experiment(c, "bench-prime")
    c.close()
    errors = []

    async def one(i):
        conn = t.conn()
        try:
            run = await create_run(conn, exp, retries=3)
            await call(
                conn,
                "POST",
                f"{API}/runs/log-metric",
                {"run_id": run, "key": "m", "value": 1.0, "timestamp": now_ms(), "step": 0},
                retries=3,
            )
            await call(conn, "GET", f"{API}/runs/get?run_id={run}", retries=3)
            await call(conn, "POST", f"{API}/runs/search", {"experiment_ids": [exp], "max_results": 10}, retries=3)
            await call(conn, "POST", f"{API}/experiments/search", {"max_results": 10}, retries=3)
        except (WorkloadError, HTTPError, OSError) as e:
            errors.append(str(e)[:300])
        finally:
            conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(connections)))
    return {"seconds": time.perf_counter() - t0, "errors": len(errors), "first_error": errors[0] if errors else None}


WORKLOADS = {
    "health": wl_health,
    "create_run": wl_create_run,
    "log_metric": wl_log_metric,
    "log_batch": wl_log_batch,
    "get_run": wl_get_run,
    "search_runs": wl_search_runs,
    "history": wl_history,
    "search_experiments": wl_search_experiments,
    "artifacts": wl_artifacts,
}


async def run_workload(name: str, t: Target, cfg: Config) -> dict:
    """Run one workload; a failure becomes {"<name>_failed": {...}} instead of an exception."""
    try:
        return await WORKLOADS[name](t, cfg)
    except (WorkloadError, HTTPError, OSError, KeyError, ValueError, TypeError, asyncio.IncompleteReadError) as e:
        msg = str(e)
        try:
            detail = json.loads(msg)
        except ValueError:
            detail = {"exception": repr(e)[:600]}
        return {f"{name}_failed": detail}


def add_config_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--quick", action="store_true", help="small sizes and 3 s loops: a smoke run of a minute or two")
    for f in dataclasses.fields(Config):
        ap.add_argument(
            "--" + f.name.replace("_", "-"),
            type=type(f.default),
            default=None,
            help=f"(default {f.default:,}; --quick: {getattr(Config.quick(), f.name):,})",
        )


def config_from_args(a) -> Config:
    cfg = Config.quick() if a.quick else Config()
    for f in dataclasses.fields(Config):
        v = getattr(a, f.name)
        if v is not None:
            setattr(cfg, f.name, v)
    return cfg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="http://127.0.0.1:PORT of a running tracking server")
    ap.add_argument("--pid", type=int, default=None, help="server root pid, for RSS sampling during artifacts")
    ap.add_argument(
        "--workloads", default=",".join(WORKLOADS), help="comma-separated subset of: " + ",".join(WORKLOADS)
    )
    add_config_args(ap)
    a = ap.parse_args()
    u = urlparse(a.url)
    if u.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("loopback targets only")
    t = Target("server", u.hostname, u.port or 80, a.pid)
    cfg = config_from_args(a)
    res = {}
    for w in a.workloads.split(","):
        res.update(asyncio.run(run_workload(w, t, cfg)))
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
