"""--expose-prometheus: /metrics aggregates request counts and latencies of every worker."""

from __future__ import annotations

import re

import requests


def _samples(text: str, name: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, value = line.rsplit(" ", 1)
            out[labels[len(name) :]] = float(value)
    return out


def test_metrics_across_workers(start_server, tmp_path):
    directory = tmp_path / "prom"
    directory.mkdir()
    (directory / "counter_99999.db").write_bytes(b"stale")  # from an earlier run: removed at start
    server = start_server(["--workers", "2", "--expose-prometheus", str(directory), "--worker-header"])
    pids = set()
    searches = 0
    # Fresh connections until both workers have answered (which one accepts is the kernel's choice).
    while searches < 30 or (len(pids) < 2 and searches < 500):
        resp = requests.get(
            server.url + "/api/2.0/mlflow/experiments/search",
            params={"max_results": 5},
            headers={"Connection": "close"},
        )
        assert resp.status_code == 200
        pids.add(resp.headers["X-Aiotrack-Worker"])
        searches += 1
    for _ in range(4):
        assert requests.get(server.url + "/api/2.0/mlflow/runs/get", params={"run_id": "nope"}).status_code == 404
    assert requests.get(server.url + "/nowhere/at/all").status_code == 404
    assert len(pids) == 2, "both workers should have answered"

    text = requests.get(server.url + "/metrics").text
    counts = _samples(text, "aiotrack_http_requests_total")
    assert counts['{method="GET",route="/api/2.0/mlflow/experiments/search",status="200"}'] == searches
    assert counts['{method="GET",route="/api/2.0/mlflow/runs/get",status="404"}'] == 4
    assert counts['{method="GET",route="unmatched",status="404"}'] == 1
    buckets = _samples(text, "aiotrack_http_request_duration_seconds_bucket")
    inf = '{le="+Inf",method="GET",route="/api/2.0/mlflow/experiments/search",status="200"}'
    assert buckets[inf] == searches
    assert re.search(
        r'aiotrack_http_request_duration_seconds_sum\{method="GET",route="/api/2.0/mlflow/'
        r'experiments/search",status="200"\} [0-9.e-]+',
        text,
    )
    assert len(list(directory.glob("*.db"))) >= 2  # one file per worker
    assert not (directory / "counter_99999.db").exists()
