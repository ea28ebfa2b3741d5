"""Benchmark runner: aiotrack vs `mlflow server` vs FastTrackML on the same machine and workloads.

For each backend (SQLite, PostgreSQL) it starts every selected server on a free loopback port
with a fresh store of its own (a new SQLite file / a new, uniquely named PostgreSQL database and
a new artifact directory), measures cold start to the first answered /health and the idle RSS
of each server's whole process tree, then runs each workload of loadgen.py against each server
in turn (the order rotates from one workload to the next), stops the servers (whole process
group), drops the databases, and prints one markdown table per backend with ratios against
aiotrack (> 1 means aiotrack is better). Results also go to JSON.

    python3 benchmarks/run.py                 # everything, default sizes (~25 min)
    python3 benchmarks/run.py --quick         # smoke run, a couple of minutes
    python3 benchmarks/run.py --servers mlflow,fml --backends sqlite --workloads create_run,get_run
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import loadgen  # noqa: E402
from httpclient import Connection  # noqa: E402

MiB = 1 << 20
PG = {"host": "127.0.0.1", "port": 5432, "user": "root"}


def log(*a) -> None:
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# servers


@dataclasses.dataclass
class Server:
    name: str
    exe: str | None
    version: str = "?"
    note: str = ""
    has_artifacts: bool = True
    accepts_workers: bool = True
    artifacts_flag: str = "--artifacts-destination"

    def store_uri(self, backend: str, sqlite_path: str, pg_db: str) -> str:
        if backend == "sqlite":
            return ("sqlite://" if self.name == "fml" else "sqlite:///") + sqlite_path
        if self.name == "fml":
            return f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{pg_db}?sslmode=disable"
        return f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/{pg_db}"

    def command(self, uri: str, art: str, port: int, workers: int) -> list[str]:
        if self.name == "mlflow":
            return [
                self.exe,
                "server",
                "--backend-store-uri",
                uri,
                "--artifacts-destination",
                art,
                "--workers",
                str(workers),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ]
        if self.name == "fml":
            return [
                self.exe,
                "server",
                "--database-uri",
                uri,
                "--default-artifact-root",
                art,
                "--listen-address",
                f"127.0.0.1:{port}",
            ]
        cmd = [
            self.exe,
            "server",
            "--backend-store-uri",
            uri,
            self.artifacts_flag,
            art,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        if self.accepts_workers:
            cmd += ["--workers", str(workers)]
        return cmd


def _out(cmd: list[str], timeout: float = 120) -> str:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return (p.stdout + p.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"ERROR {e!r}"


def discover(names: list[str], aiotrack_exe: str | None) -> dict[str, Server]:
    out: dict[str, Server] = {}
    for name in names:
        if name == "mlflow":
            exe = os.path.join(HERE, ".venvs", "mlflow", "bin", "mlflow")
            s = Server("mlflow", exe if os.path.exists(exe) else None)
            if s.exe:
                s.version = _out([exe, "--version"]).splitlines()[-1].split()[-1]
            else:
                s.note = "not installed: run benchmarks/setup_peers.sh"
        elif name == "fml":
            exe = os.path.join(HERE, ".venvs", "fml", "bin", "fml")
            s = Server(
                "fml",
                exe if os.path.exists(exe) else None,
                has_artifacts=False,
                accepts_workers=False,
                note="FastTrackML: one Go process (no --workers); no artifact proxy",
            )
            if s.exe:
                s.version = _out([exe, "--version"]).splitlines()[0].split()[-1]
            else:
                s.note = "not installed: run benchmarks/setup_peers.sh"
        elif name == "aiotrack":
            exe = aiotrack_exe or os.path.join(REPO, ".venv", "bin", "aiotrack")
            s = Server("aiotrack", exe if os.path.exists(exe) else None)
            if not s.exe:
                s.note = f"{exe} not found (is aiotrack installed in the project venv?)"
            else:
                h = _out([exe, "server", "--help"])
                if "--backend-store-uri" not in h:
                    s.exe, s.note = None, "`aiotrack server --help` does not work yet: " + h[-300:]
                else:
                    s.accepts_workers = "--workers" in h
                    if not s.accepts_workers:
                        s.note = "aiotrack server has no --workers yet: ran as a single process"
                    if "--artifacts-destination" not in h and "--default-artifact-root" in h:
                        s.artifacts_flag = "--default-artifact-root"
                    py = os.path.join(os.path.dirname(exe), "python")
                    v = _out([py, "-c", "import importlib.metadata as m; print(m.version('aiotrack'))"])
                    s.version = v.splitlines()[-1] if v and "ERROR" not in v and "Traceback" not in v else "dev"
        else:
            raise SystemExit(f"unknown server {name!r} (mlflow, fml, aiotrack)")
        out[name] = s
    return out


PORT_RANGE: tuple[int, int] | None = None  # (first, last) to pick server ports from; None: any free port


def free_port() -> int:
    """A free loopback port: from PORT_RANGE when set (shared machines hand out port ranges), else any."""
    candidates = range(PORT_RANGE[0], PORT_RANGE[1] + 1) if PORT_RANGE else [0]
    for port in candidates:
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return s.getsockname()[1]
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError(f"no free port in {PORT_RANGE}")


def psql(sql: str, db: str = "postgres") -> None:
    subprocess.run(
        [
            "psql",
            "-h",
            PG["host"],
            "-p",
            str(PG["port"]),
            "-U",
            PG["user"],
            "-d",
            db,
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            sql,
        ],
        check=True,
        capture_output=True,
        text=True,
    )


def pss(root: int) -> int:
    total = 0
    for p in loadgen.tree_pids(root):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            pass
    return total


def add_port_range_arg(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--port-range", default=None, metavar="LO-HI", help="pick server ports from LO..HI (default: any)")


def set_port_range(spec: str | None) -> None:
    global PORT_RANGE
    if spec:
        lo, _, hi = spec.partition("-")
        PORT_RANGE = (int(lo), int(hi or lo))


RUNNING: list[Running] = []  # every server started, so that main() can stop them whatever happens


class Running:
    def __init__(self, server: Server, backend: str, scratch: str, workers: int, stamp: str, pg_db: str | None = None):
        self.server, self.backend = server, backend
        self.dir = os.path.join(scratch, backend, server.name)
        os.makedirs(self.dir, exist_ok=True)
        self.art = os.path.join(self.dir, "artifacts")
        os.makedirs(self.art, exist_ok=True)
        self.pg_db = (pg_db or f"bench_{server.name}_{stamp}") if backend == "postgresql" else None
        self.uri = server.store_uri(backend, os.path.join(self.dir, "store.db"), self.pg_db or "")
        self.port = free_port()
        self.cmd = server.command(self.uri, self.art, self.port, workers)
        self.proc: subprocess.Popen | None = None
        self.logpath = os.path.join(self.dir, "server.log")
        self.result: dict = {}
        self.dead = False

    def target(self) -> loadgen.Target:
        # This machine's PostgreSQL runs with autovacuum off: after a bulk seed, ANALYZE the store
        # as autovacuum would a minute later, the same for every server.
        db = self.pg_db
        analyze = (lambda: psql("ANALYZE", db)) if db else None
        return loadgen.Target(self.server.name, "127.0.0.1", self.port, self.proc.pid if self.proc else None, analyze)

    async def start(self, timeout: float, fresh: bool = True) -> None:
        """Start the server and wait for its first /health; `fresh` first (re)creates its database."""
        if self.pg_db and fresh:
            psql(f'DROP DATABASE IF EXISTS "{self.pg_db}" WITH (FORCE)')
            psql(f'CREATE DATABASE "{self.pg_db}"')
        RUNNING.append(self)
        logf = open(self.logpath, "wb")  # noqa: SIM115 - the server's log, open for its lifetime
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            self.cmd,
            stdout=logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.dir,
            start_new_session=True,
        )
        logf.close()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"exited with {self.proc.returncode} before answering /health: {self.tail()}")
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError(f"no /health answer within {timeout:.0f} s: {self.tail()}")
            c = Connection("127.0.0.1", self.port)
            try:
                r = await asyncio.wait_for(c.request("GET", "/health"), 5)
                if r.status == 200:
                    break
            except (OSError, asyncio.TimeoutError, Exception):
                pass
            finally:
                c.close()
            await asyncio.sleep(0.02)
        self.result["cold_start"] = {"seconds": time.perf_counter() - t0}

    def tail(self, n: int = 1200) -> str:
        try:
            with open(self.logpath, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def memory(self) -> dict:
        pid = self.proc.pid
        return {
            "rss_mib": loadgen.tree_rss(pid) / MiB,
            "pss_mib": pss(pid) / MiB,
            "processes": len(loadgen.tree_pids(pid)),
        }

    def stop(self, drop: bool = True) -> None:
        """Stop the server's whole process group, then (unless drop=False) drop its database."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(20)
        if self.proc is not None:
            # anything left in the group (workers, job consumers)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
        if self.pg_db and drop:
            try:
                psql(f'DROP DATABASE IF EXISTS "{self.pg_db}" WITH (FORCE)')
            except subprocess.CalledProcessError as e:
                log(f"could not drop {self.pg_db}: {e.stderr}")


# ---------------------------------------------------------------------------------------------
# table

# (label, result key, field, better: "high"/"low", format)
ROWS = [
    ("cold start to first /health (s)", "cold_start", "seconds", "low", "{:.2f}"),
    ("idle RSS, whole process tree (MiB)", "idle", "rss_mib", "low", "{:.0f}"),
    ("idle PSS, whole process tree (MiB)", "idle", "pss_mib", "low", "{:.0f}"),
    ("GET /health c{c}: req/s (the HTTP ceiling)", "health", "rps", "high", "{:.0f}"),
    ("  log_metric c{c} as a share of /health", "ceiling_share", "log_metric", "none", "{:.0%}"),
    ("  get_run c{c} as a share of /health", "ceiling_share", "get_run", "none", "{:.0%}"),
    ("create_run c{c}: runs/s", "create_run", "rps", "high", "{:.0f}"),
    ("create_run p50 / p99 (ms)", "create_run", "p50_ms|p99_ms", "low", "{:.1f}"),
    ("log_metric c{c}: req/s", "log_metric", "rps", "high", "{:.0f}"),
    ("log_metric p50 / p99 (ms)", "log_metric", "p50_ms|p99_ms", "low", "{:.1f}"),
    ("log_batch {n} points c{c}: points/s", "log_batch", "points_per_s", "high", "{:,.0f}"),
    ("log_batch p50 / p99 (ms)", "log_batch", "p50_ms|p99_ms", "low", "{:.0f}"),
    ("get_run (100 params/metrics/tags) c{c}: req/s", "get_run", "rps", "high", "{:.0f}"),
    ("get_run p50 / p99 (ms)", "get_run", "p50_ms|p99_ms", "low", "{:.1f}"),
    ("search_runs: seeding {n} runs (s)", "search_runs_seed", "seconds", "low", "{:.1f}"),
    ("search_runs filtered+ordered top 100 c{c}: req/s", "search_runs_filtered", "rps", "high", "{:.1f}"),
    ("search_runs filtered p50 / p99 (ms)", "search_runs_filtered", "p50_ms|p99_ms", "low", "{:.0f}"),
    ("search_runs page of {n} c{c}: req/s", "search_runs_page", "rps", "high", "{:.2f}"),
    ("search_runs page p50 / p99 (ms)", "search_runs_page", "p50_ms|p99_ms", "low", "{:.0f}"),
    ("metric history: seeding {n} points (s)", "history_seed", "seconds", "low", "{:.1f}"),
    ("metric history: full {n} points, get-history paging (s)", "history_full", "seconds", "low", "{:.2f}"),
    ("get-history-bulk-interval c{c}: req/s", "history_bulk_interval", "rps", "high", "{:.0f}"),
    ("get-history-bulk-interval p50 / p99 (ms)", "history_bulk_interval", "p50_ms|p99_ms", "low", "{:.1f}"),
    ("search_experiments: seeding {n} (s)", "search_experiments_seed", "seconds", "low", "{:.1f}"),
    ("search_experiments page of {n} c{c}: req/s", "search_experiments", "rps", "high", "{:.0f}"),
    ("search_experiments p50 / p99 (ms)", "search_experiments", "p50_ms|p99_ms", "low", "{:.1f}"),
    ("artifact upload {n} MiB (MiB/s)", "artifact_upload", "mib_per_s", "high", "{:.0f}"),
    ("  server tree peak RSS during upload (MiB)", "artifact_upload", "rss_peak_mib", "low", "{:.0f}"),
    ("  server tree RSS growth during upload (MiB)", "artifact_upload", "rss_growth_mib", "none", "{:.0f}"),
    ("artifact download {n} MiB (MiB/s)", "artifact_download", "mib_per_s", "high", "{:.0f}"),
    ("  server tree peak RSS during download (MiB)", "artifact_download", "rss_peak_mib", "low", "{:.0f}"),
    ("  server tree RSS growth during download (MiB)", "artifact_download", "rss_growth_mib", "none", "{:.0f}"),
    ("{n} small files ({k} KiB) concurrent upload: files/s", "small_files_upload", "files_per_s", "high", "{:.0f}"),
    ("  upload p50 / p99 (ms)", "small_files_upload", "p50_ms|p99_ms", "low", "{:.0f}"),
    ("{n} small files concurrent download: files/s", "small_files_download", "files_per_s", "high", "{:.0f}"),
    ("  download p50 / p99 (ms)", "small_files_download", "p50_ms|p99_ms", "low", "{:.0f}"),
    ("RSS of the process tree after all workloads (MiB)", "final", "rss_mib", "low", "{:.0f}"),
]


def _label(label: str, cfg: loadgen.Config) -> str:
    m = {
        "/health": (None, cfg.log_metric_concurrency),
        "create_run": (None, cfg.create_run_concurrency),
        "log_metric": (None, cfg.log_metric_concurrency),
        "log_batch": (cfg.log_batch_size, cfg.log_batch_concurrency),
        "get_run": (None, cfg.get_run_concurrency),
        "seeding {n} runs": (cfg.search_runs, None),
        "top 100": (None, cfg.search_concurrency),
        "page of {n} c": (cfg.search_page, cfg.search_concurrency),
        "history": (cfg.history_points, None),
        "bulk-interval c": (None, cfg.bulk_concurrency),
        "experiments: seeding": (cfg.experiments, None),
        "experiments page": (cfg.search_exp_page, cfg.search_exp_concurrency),
        "artifact": (cfg.artifact_mib, None),
        "small files": (cfg.small_files, None),
    }
    n = c = None
    for key, (nn, cc) in m.items():
        if key.split(" {")[0] in label:
            n, c = nn if nn is not None else n, cc if cc is not None else c
    return (
        label.replace("{n}", f"{n:,}" if n else "").replace("{c}", str(c or "")).replace("{k}", str(cfg.small_file_kib))
    )


def ceiling_share(res: dict) -> dict | None:
    """log_metric's and get_run's throughput as a fraction of the same server's GET /health (item 3
    of issue 15: how close a tracking request comes to the HTTP stack's own ceiling)."""
    h = (res.get("health") or {}).get("rps")
    if not h:
        return None
    return {w: res[w]["rps"] / h for w in ("log_metric", "get_run") if (res.get(w) or {}).get("rps")}


def _cell(res: dict, key: str, field: str, fmt: str):
    """Returns (text, value for ratios, note or None)."""
    d = ceiling_share(res) if key == "ceiling_share" else res.get(key)
    if d is None:
        return "—", None, None
    if d.get("unsupported"):
        return "n/a", None, None
    fields = field.split("|")
    vals = [d.get(f) for f in fields]
    if all(v is None for v in vals):
        return "✗", None, None
    txt = " / ".join("—" if v is None else fmt.format(v) for v in vals)
    if d.get("status") not in (None, 200):  # a single transfer that failed has no figure
        return f"✗ ({d['status']})", None, True
    bad = bool(d.get("errors") or d.get("check_ok") is False)
    if bad:
        txt += " ⚠"
    return txt, vals[0], bad


def _ratio(a, b, better: str) -> str:
    if better == "none":  # e.g. RSS growth near 0: a ratio of two noise figures means nothing
        return "—"
    if a is None or b is None or a == 0 or b == 0:
        return "—"
    r = a / b if better == "high" else b / a
    return f"{r:.2f}\u00d7" if r < 10 else f"{r:.0f}\u00d7"  # the multiplication sign


def markdown(results: dict, servers: list[str], cfg: loadgen.Config) -> str:
    out = []
    others = [s for s in servers if s != "aiotrack"]
    for backend, per in results["backends"].items():
        out.append(f"### {backend}\n")
        hdr = ["workload", *servers]
        if "aiotrack" in servers:
            hdr += [f"aiotrack vs {s}" for s in others]
        out.append("| " + " | ".join(hdr) + " |")
        out.append("|" + "---|" * len(hdr))
        notes = []
        for label, key, field, better, fmt in ROWS:
            cells, vals, bads = [], {}, {}
            for s in servers:
                res = per.get(s, {})
                txt, v, bad = _cell(res, key, field, fmt)
                cells.append(txt)
                vals[s], bads[s] = v, bad
            if all(c == "—" for c in cells):
                continue
            row = [_label(label, cfg), *cells]
            if "aiotrack" in servers:
                row += [
                    _ratio(vals["aiotrack"], vals[s], better)
                    + (" ⚠" if (bads["aiotrack"] or bads[s]) and vals["aiotrack"] and vals[s] else "")
                    for s in others
                ]
            out.append("| " + " | ".join(row) + " |")
        for s in servers:
            res = per.get(s, {})
            if res.get("start_failed"):
                notes.append(f"- **{s}** did not start: {res['start_failed'][:500]}")
            for k, d in res.items():
                if not isinstance(d, dict):
                    continue
                if k.endswith("_failed"):
                    notes.append(f"- **{s}** `{k[:-7]}` failed: `{json.dumps(d)[:700]}`")
                elif d.get("unsupported"):
                    notes.append(
                        f"- **{s}** `{k}`: not served ({d['first_error'].get('request')} → "
                        f"{d['first_error'].get('status')})"
                    )
                elif d.get("errors") or d.get("check_ok") is False:
                    extra = f" check: `{json.dumps(d.get('check'))}`" if d.get("check_ok") is False else ""
                    fe = f" first error: `{json.dumps(d.get('first_error'))[:700]}`" if d.get("first_error") else ""
                    notes.append(f"- **{s}** `{k}`: {d.get('errors', 0)} errors.{extra}{fe}")
            if res.get("died"):
                notes.append(f"- **{s}** died during `{res['died']}`")
        out.append("")
        out.append(
            "Ratios: > 1 means aiotrack is better (throughput aiotrack/other; latency, time and memory "
            "other/aiotrack). ⚠ = errors or a failed plausibility check (see notes); n/a = endpoint not "
            "served; — = not measured."
        )
        if notes:
            out.append("\nNotes:\n" + "\n".join(notes))
        out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------


def machine_facts(servers: dict[str, Server]) -> dict:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) // 1024
    except OSError:
        mem = None
    pgv = _out(["psql", "-h", PG["host"], "-U", PG["user"], "-d", "postgres", "-tAc", "show server_version"])
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "mem_mib": mem,
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pgv,
        "servers": {n: {"version": s.version, "note": s.note} for n, s in servers.items()},
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
    }


async def wait_quiet(max_load: float | None, max_wait: float) -> None:
    """On a shared machine: wait (up to max_wait s) until the 1-minute load average is below max_load."""
    if not max_load:
        return
    t0 = time.perf_counter()
    while os.getloadavg()[0] > max_load and time.perf_counter() - t0 < max_wait:
        await asyncio.sleep(5)


async def run(a, cfg: loadgen.Config) -> dict:
    names = a.servers.split(",")
    servers = discover(names, a.aiotrack)
    for n, s in servers.items():
        log(f"{n}: {s.version} {s.exe or 'UNAVAILABLE'} {s.note}")
    avail = [n for n in names if servers[n].exe]
    workloads = a.workloads.split(",")
    for w in workloads:
        if w not in loadgen.WORKLOADS:
            raise SystemExit(f"unknown workload {w!r}")
    stamp = time.strftime("%Y%m%d%H%M%S") + "_" + uuid.uuid4().hex[:4]
    scratch = os.path.join(HERE, "scratch", stamp)
    results = {
        "meta": machine_facts(servers),
        "config": dataclasses.asdict(cfg),
        "workers": a.workers,
        "servers": names,
        "workloads": workloads,
        "backends": {},
    }
    t_all = time.perf_counter()
    for backend in a.backends.split(","):
        per: dict[str, dict] = {n: {} for n in names}
        for n in names:
            if not servers[n].exe:
                per[n]["start_failed"] = servers[n].note
        results["backends"][backend] = per
        running: list[Running] = []
        try:
            for n in avail:
                r = Running(servers[n], backend, scratch, a.workers, stamp)
                r.result = per[n]
                log(f"[{backend}] starting {n}: {' '.join(r.cmd)}")
                try:
                    await r.start(a.start_timeout)
                except RuntimeError as e:
                    per[n]["start_failed"] = str(e)
                    log(f"[{backend}] {n} failed to start: {e}")
                    r.stop()
                    continue
                log(f"[{backend}] {n} answered /health after {per[n]['cold_start']['seconds']:.2f} s")
                running.append(r)
            await asyncio.sleep(a.settle)
            for r in running:
                r.result["idle"] = r.memory()
                log(f"[{backend}] {r.server.name} idle: {r.result['idle']}")
            for r in running:
                try:
                    r.result["prime"] = await asyncio.wait_for(loadgen.prime(r.target()), 600)
                except (asyncio.TimeoutError, loadgen.WorkloadError, OSError) as e:
                    r.result["prime"] = {"error": repr(e)[:300]}
                log(f"[{backend}] {r.server.name} primed: {r.result['prime']}")
            for k, w in enumerate(workloads):
                order = running[k % len(running) :] + running[: k % len(running)] if running else []
                for r in order:
                    if r.dead:
                        continue
                    if w == "artifacts" and not r.server.has_artifacts:
                        continue
                    await wait_quiet(a.max_load, a.max_load_wait)
                    load0 = os.getloadavg()[0]
                    t0 = time.perf_counter()
                    try:
                        res = await asyncio.wait_for(loadgen.run_workload(w, r.target(), cfg), a.workload_timeout)
                    except asyncio.TimeoutError:
                        res = {f"{w}_failed": {"exception": f"timed out after {a.workload_timeout} s"}}
                    r.result.update(res)
                    r.result.setdefault("loadavg_1min_before", {})[w] = load0
                    summary = {
                        k2: {
                            f: round(v2[f], 2)
                            for f in (
                                "rps",
                                "p50_ms",
                                "p99_ms",
                                "seconds",
                                "mib_per_s",
                                "points_per_s",
                                "files_per_s",
                                "errors",
                            )
                            if isinstance(v2.get(f), (int, float))
                        }
                        for k2, v2 in res.items()
                        if isinstance(v2, dict)
                    }
                    log(f"[{backend}] {w} on {r.server.name} ({time.perf_counter() - t0:.0f} s): {summary}")
                    if not r.alive():
                        r.dead = True
                        r.result["died"] = w
                        log(f"[{backend}] {r.server.name} DIED during {w}: {r.tail()}")
            for r in running:
                if r.alive():
                    r.result["final"] = r.memory()
        finally:
            for r in running:
                r.stop()
            if not a.keep_scratch:
                shutil.rmtree(os.path.join(scratch, backend), ignore_errors=True)
    if not a.keep_scratch:
        shutil.rmtree(scratch, ignore_errors=True)
    results["total_seconds"] = time.perf_counter() - t_all
    results["meta"]["loadavg_at_end"] = Path("/proc/loadavg").read_text().split()[:3]
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default="mlflow,fml,aiotrack", help="comma-separated: mlflow,fml,aiotrack")
    ap.add_argument("--backends", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql")
    ap.add_argument(
        "--workloads",
        default=",".join(loadgen.WORKLOADS),
        help="comma-separated subset of: " + ",".join(loadgen.WORKLOADS),
    )
    ap.add_argument("--workers", type=int, default=4, help="--workers for mlflow and aiotrack (default 4)")
    ap.add_argument("--aiotrack", default=None, help="path of the aiotrack executable (default: .venv/bin/aiotrack)")
    ap.add_argument("--start-timeout", type=float, default=180.0)
    ap.add_argument("--settle", type=float, default=5.0, help="seconds after start before idle RSS is read")
    ap.add_argument("--workload-timeout", type=float, default=1800.0)
    ap.add_argument(
        "--out",
        default=os.path.join(HERE, "results", "latest"),
        help="writes OUT.json and OUT.md (default benchmarks/results/latest)",
    )
    ap.add_argument(
        "--max-load",
        type=float,
        default=None,
        help="before each measurement wait until the 1-min load average is below this (shared machines)",
    )
    ap.add_argument("--max-load-wait", type=float, default=120.0, help="longest wait for --max-load, seconds")
    ap.add_argument("--keep-scratch", action="store_true", help="keep stores and logs in benchmarks/scratch/")
    add_port_range_arg(ap)
    loadgen.add_config_args(ap)
    ap.add_argument(
        "--render",
        metavar="JSON",
        default=None,
        help="only re-render the markdown of an earlier run's JSON (written next to it as .md)",
    )
    a = ap.parse_args()
    if a.render:
        with open(a.render) as f:
            results = json.load(f)
        cfg = loadgen.Config(**results["config"])
        text = render(results, results["servers"], cfg, results["workers"], results.get("quick", False))
        with open(os.path.splitext(a.render)[0] + ".md", "w") as f:
            f.write(text)
        print(text)
        return
    cfg = loadgen.config_from_args(a)
    set_port_range(a.port_range)
    servers = a.servers.split(",")

    def _interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)  # also when started with & (which ignores SIGINT)
    try:
        results = asyncio.run(run(a, cfg))
    finally:
        for r in RUNNING:
            r.stop()
    results["quick"] = a.quick
    text = render(results, servers, cfg, a.workers, a.quick)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with open(a.out + ".json", "w") as f:
        json.dump(results, f, indent=1, default=str)
    with open(a.out + ".md", "w") as f:
        f.write(text)
    print(text)


def render(results: dict, servers: list[str], cfg: loadgen.Config, workers: int, quick: bool) -> str:
    md = markdown(results, servers, cfg)
    m = results["meta"]
    head = (
        f"Measured {m['date']} on {m['nproc']} cores ({m['cpu']}), {m['mem_mib']:,} MiB, Linux {m['kernel']}; "
        f"Python {m['python']}, SQLite {m['sqlite']}, PostgreSQL {m['postgresql']}; "
        + ", ".join(f"{n} {v['version']}" for n, v in m["servers"].items())
        + f"; --workers {workers} for mlflow and aiotrack; {cfg.duration:g} s timed loops"
        + (" (--quick sizes)" if quick else "")
        + f"; run took {results['total_seconds'] / 60:.1f} min; "
        f"load average at start {' '.join(m['loadavg_at_start'])}, at end {' '.join(m['loadavg_at_end'])}.\n"
    )
    notes = [f"- {n}: {v['note']}" for n, v in m["servers"].items() if v["note"]]
    return head + ("\n" + "\n".join(notes) + "\n" if notes else "") + "\n" + md


if __name__ == "__main__":
    main()
