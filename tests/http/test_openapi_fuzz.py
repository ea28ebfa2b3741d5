"""/api/openapi.json describes every route, and schemathesis fuzzing over it against a real
server on SQLite finds no 5xx (a bounded run: a few cases per operation, positive and negative)."""

from __future__ import annotations

import contextlib
import os
import time

import pytest
import requests

from aiotrack.http.openapi import OPENAPI_PATH, build_document, handler_fields

# A longer hunt: AIOTRACK_FUZZ_CASES=50 AIOTRACK_FUZZ_SECONDS=1800 python -m pytest tests/http/test_openapi_fuzz.py
STREAMING = {"/api/2.0/aiotrack/live/runs"}
CASES_PER_OPERATION = int(os.environ.get("AIOTRACK_FUZZ_CASES", "6"))
FUZZ_SECONDS = float(os.environ.get("AIOTRACK_FUZZ_SECONDS", "75"))  # no new operation after this (CI: ~90 s)


def _deliberate(resp: requests.Response) -> bool:
    """MLflow's own 501 for a feature the destination lacks (presigned multipart on local disk)."""
    try:
        return resp.status_code == 501 and resp.json()["error_code"] == "NOT_IMPLEMENTED"
    except ValueError:
        return False


async def test_every_route_is_described(make_client):
    client = await make_client()
    resp = await client.get(OPENAPI_PATH)
    assert resp.status == 200
    doc = await resp.json()
    assert doc["openapi"].startswith("3.")
    described = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    for resource in client.app.router.resources():
        info = resource.get_info()
        for route in resource:
            if route.method in ("OPTIONS", "HEAD"):
                continue
            path = info.get("path") or info.get("formatter")
            assert path, info
            clean = path.replace(":.+}", "}")
            assert (route.method, clean) in described, (route.method, clean)
    assert doc == build_document(client.app)


def test_fields_come_from_the_handlers():
    from aiotrack.http.api import metrics, runs

    fields = {f.name: f for f in handler_fields(runs.log_metric)}
    assert fields["key"].required and fields["key"].schema == {"type": "string"}
    assert "run_id" in fields  # read by the _run_id(args) helper
    bulk = {f.name: f for f in handler_fields(metrics.get_metric_history_bulk)}
    assert bulk["run_id"].schema["type"] == "array"


def test_fuzzing_finds_no_server_errors(start_server, tmp_path):
    # Imported here, not by the module: they cost ~2.5 s of CPU in every process that collects
    # this file, and the two tests above (in the fast loop) need neither.
    schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in the test extra")
    hypothesis = pytest.importorskip("hypothesis")
    server = start_server(["--workers", "1", "--backend-store-uri", f"sqlite:///{tmp_path}/fuzz.db"])
    schema = schemathesis.openapi.from_url(server.url + OPENAPI_PATH)
    operations = [r.ok() for r in schema.get_all_operations()]
    # /ajax-api/ repeats /api/; the UI's static files are not an API
    non_api = ("/get-artifact", "/model-versions/get-artifact", "/health", "/version")
    operations = [op for op in operations if op.path.startswith("/api/") or op.path in non_api]
    # An event stream answers for as long as the client listens: its refusals are tested in its own tests.
    operations = [op for op in operations if op.path not in STREAMING]
    assert len(operations) > 60
    failures: list[str] = []
    calls = 0
    started = time.monotonic()
    session = requests.Session()
    modes = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
    for op in operations:
        if time.monotonic() - started > FUZZ_SECONDS:
            break
        for mode in modes:
            strategy = op.as_strategy(generation_mode=mode)

            @hypothesis.settings(
                max_examples=CASES_PER_OPERATION,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(hypothesis.HealthCheck),
                phases=[hypothesis.Phase.generate],
            )
            @hypothesis.given(case=strategy)
            def run(case):
                nonlocal calls
                calls += 1
                resp = case.call(base_url=server.url, session=session, timeout=30)
                if resp.status_code >= 500 and not _deliberate(resp):
                    failures.append(
                        f"{case.method} {case.formatted_path} query={case.query} body={str(case.body)[:200]} "
                        f"-> {resp.status_code} {resp.text[:200]}"
                    )

            # Unsatisfiable: nothing to break in this mode (e.g. no constrained field to violate)
            with contextlib.suppress(hypothesis.errors.Unsatisfiable):
                run()
    assert calls >= 200, calls
    assert not failures, "\n".join(failures[:20])
    assert "Traceback" not in server.log(), server.log()[-3000:]
