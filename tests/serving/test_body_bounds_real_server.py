"""Memory amplification through JSON bodies is bounded in a real worker: parallel 31 MB bodies of
empty objects are refused before decoding and the worker's peak memory stays small."""

from __future__ import annotations

import concurrent.futures
import io
from pathlib import Path

import requests
from server_process import wait_until

BODY = b'{"x": [' + b",".join([b"{}"] * (31 * 1024 * 1024 // 3)) + b"]}"


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_parallel_large_bodies_do_not_blow_up_the_worker(start_server):
    server = start_server(["--workers", "1"])
    (worker,) = wait_until(lambda: len(server.workers()) == 1 and server.workers(), 20, "the worker")
    before = _peak_rss_mb(worker)

    def post() -> tuple[int, str]:
        resp = requests.post(
            f"{server.url}/api/2.0/mlflow/experiments/search",
            data=io.BytesIO(BODY),
            headers={"Content-Type": "application/json"},
            timeout=120,
        )
        return resp.status_code, resp.json()["error_code"]

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: post(), range(6)))
    # each is refused before decoding (400), or waits for the budget and may get MLflow's 503
    assert {a for a in answers} <= {(400, "INVALID_PARAMETER_VALUE"), (503, "TEMPORARILY_UNAVAILABLE")}, answers
    assert (400, "INVALID_PARAMETER_VALUE") in answers
    peak = _peak_rss_mb(worker)
    # 15 million decoded dicts would be over a gigabyte per body; the bodies themselves are 31 MB
    assert peak - before < 400, (before, peak)
    assert requests.get(server.url + "/health", timeout=10).status_code == 200
