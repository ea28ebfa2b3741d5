"""Time to first rows in the web UI for an experiment of many runs (issue 6's measurement).

Starts `aiotrack server --workers 4` on a fresh SQLite file, seeds N runs (10 params, 10 metrics,
5 tags each) through the REST API, then opens the experiment's runs page in headless Debian
Chromium (Playwright with executable_path) and measures, from navigation start:

- first rows: the first row of the runs table is visible;
- every run loaded: the count above the table says N runs (the UI pages through all of them);
- scroll: the time to jump to the bottom of the table and see its last row rendered;
- grouped chart: the charts view grouped by a tag (7 groups), from navigation until the loss
  chart shows one mean series with its band per group, summed by the server over all N runs.

To tell the browser's share from the server's on a busy machine, it also reports when the first
runs page response had arrived (the browser's Resource Timing) and the CPU time the browser's
processes (all of Chromium's, from /proc) used from navigation until every run was loaded: CPU
time, unlike wall time, barely moves when other work shares the cores.

Each page load is repeated (--repeats) with a fresh browser context and the median reported.

    python3 benchmarks/ui_first_rows.py               # 10,000 runs
    python3 benchmarks/ui_first_rows.py --runs 2000

Needs the project venv (.venv: aiotrack, playwright) and /usr/bin/chromium. Prints a markdown
table; no assertions: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from httpclient import Connection  # noqa: E402  (the benchmark's own keep-alive HTTP/1.1 client)

CHROMIUM = os.environ.get("AIOTRACK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
API = "/api/2.0/mlflow"
LOSS_STEPS = 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def seed(port: int, n: int, concurrency: int = 16) -> str:
    import json

    async def call(conn, path, body):
        resp = await conn.request("POST", path, json.dumps(body).encode())
        assert resp.status == 200, (resp.status, resp.text())
        return resp.json()

    conn = Connection("127.0.0.1", port)
    exp = (await call(conn, f"{API}/experiments/create", {"name": "ui-first-rows"}))["experiment_id"]
    conn.close()
    rng = random.Random(7)
    queue = list(range(n))

    async def worker():
        c = Connection("127.0.0.1", port)
        while queue:
            i = queue.pop()
            run = (
                await call(
                    c,
                    f"{API}/runs/create",
                    {
                        "experiment_id": exp,
                        "run_name": f"run-{i:05d}",
                        "start_time": 1_700_000_000_000 + i,
                        "tags": [{"key": f"t{j}", "value": f"tag{(i + j) % 7}"} for j in range(5)],
                    },
                )
            )["run"]["info"]["run_id"]
            await call(
                c,
                f"{API}/runs/log-batch",
                {
                    "run_id": run,
                    "params": [{"key": f"p{j}", "value": f"v{rng.randrange(100)}"} for j in range(10)],
                    "metrics": [{"key": f"m{j}", "value": rng.random(), "timestamp": 1, "step": 0} for j in range(10)]
                    # a 20-step loss curve per run, for the grouped chart
                    + [
                        {"key": "loss", "value": (20 - s) * (1 + rng.random()), "timestamp": 1 + s, "step": s}
                        for s in range(LOSS_STEPS)
                    ],
                },
            )
            await call(
                c, f"{API}/runs/update", {"run_id": run, "status": "FINISHED", "end_time": 1_700_000_100_000 + i}
            )
        c.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return exp


def _stat(pid: str) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (ppid is [1], utime [11], stime [12])."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def browser_cpu_seconds() -> float:
    """User + system CPU time of every Chromium process this benchmark started (Linux /proc)."""
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit() and (f := _stat(pid)) is not None:
            parent[int(pid)], ticks[int(pid)] = int(f[1]), int(f[11]) + int(f[12])
    me, total = os.getpid(), 0
    for pid, t in ticks.items():
        p, ours = parent.get(pid, 0), False
        while p > 1 and not ours:
            ours, p = p == me, parent.get(p, 0)
        if ours and "chrom" in Path(f"/proc/{pid}/comm").read_text(errors="replace"):
            total += t
    return total / os.sysconf("SC_CLK_TCK")


FIRST_RESPONSE_JS = r"""() => {
  // the table's first page: aiotrack's runs/table (runs/search before it had one)
  const r = performance.getEntriesByType('resource').find((e) => /runs\/(table|search)/.test(e.name));
  return r ? r.responseEnd / 1000 : null;
}"""


def measure(url: str, n: int, repeats: int) -> dict:
    from playwright.sync_api import sync_playwright

    first, every, scroll, grouped, answered, cpu = [], [], [], [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for _ in range(repeats):
            ctx = browser.new_context(viewport={"width": 1400, "height": 860})
            page = ctx.new_page()
            c0 = browser_cpu_seconds()
            t0 = time.perf_counter()
            page.goto(url)
            page.locator("[role=grid][aria-label=Runs] .vt-row").first.wait_for(state="visible", timeout=120_000)
            first.append(time.perf_counter() - t0)
            page.locator(".count").filter(has_text=f"{n:,} runs").wait_for(timeout=300_000)
            every.append(time.perf_counter() - t0)
            cpu.append(browser_cpu_seconds() - c0)
            answered.append(page.evaluate(FIRST_RESPONSE_JS))
            t1 = time.perf_counter()
            page.locator(".vt").evaluate("el => el.scrollTop = el.scrollHeight")
            page.get_by_role("link", name="run-00000", exact=True).wait_for(timeout=30_000)
            scroll.append(time.perf_counter() - t1)
            # the charts view grouped by a tag (7 groups): every run loaded, then one aggregate
            # series per group with its band, summed by the server over all N runs
            t2 = time.perf_counter()
            page.goto(url + "?view=charts&group=tags.t0&mq=loss")
            page.locator(".chart-card[data-metric=loss] canvas").wait_for(state="visible", timeout=300_000)
            page.locator(".chart-card[data-metric=loss] .chart-foot").filter(has_text=f"over {n:,} runs").wait_for(
                timeout=300_000
            )
            grouped.append(time.perf_counter() - t2)
            ctx.close()
        browser.close()
    return {
        "first_response_s": statistics.median(answered),
        "browser_cpu_s": statistics.median(cpu),
        "first_rows_s": statistics.median(first),
        "all_runs_s": statistics.median(every),
        "scroll_to_end_s": statistics.median(scroll),
        "grouped_chart_s": statistics.median(grouped),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=4)
    args = ap.parse_args()
    if not os.path.exists(CHROMIUM):
        print(f"{CHROMIUM} is missing (apt-get install -y chromium)", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="aiotrack-ui-bench-"))
    port = free_port()
    exe = ROOT / ".venv" / "bin" / "aiotrack"
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 - the server's log, open while it runs
    server = subprocess.Popen(
        [
            str(exe),
            "server",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--backend-store-uri",
            f"sqlite:///{tmp}/db.sqlite",
            "--artifacts-destination",
            str(tmp / "artifacts"),
        ],
        cwd=tmp,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        t = time.perf_counter()
        exp = asyncio.run(seed(port, args.runs))
        seeded = time.perf_counter() - t
        result = measure(f"http://127.0.0.1:{port}/#/experiments/{exp}", args.runs, args.repeats)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"| web UI, experiment of {args.runs:,} runs (SQLite, {args.workers} workers) | aiotrack |")
    print("|---|---|")
    print(f"| seeding through the REST API (s) | {seeded:.1f} |")
    print(f"| first runs page response in the browser (s) | {result['first_response_s']:.2f} |")
    print(f"| time to first rows (s, median of {args.repeats}) | {result['first_rows_s']:.2f} |")
    print(f"| time until every run is loaded (s) | {result['all_runs_s']:.2f} |")
    print(f"| browser CPU time until every run is loaded (s) | {result['browser_cpu_s']:.2f} |")
    print(f"| scroll to the last row (s) | {result['scroll_to_end_s']:.2f} |")
    grouped = f"| charts grouped by a tag (7 groups over every run, {LOSS_STEPS}-step loss) (s) |"
    print(f"{grouped} {result['grouped_chart_s']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
