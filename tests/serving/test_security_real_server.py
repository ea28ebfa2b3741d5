"""The Host/Origin/Content-Type matrix through a real server, and the mlflow client against it."""

from __future__ import annotations

import requests

from aiotrack.http.middleware.cors import CORS_BLOCKED_MSG
from aiotrack.http.middleware.hosts import INVALID_HOST_MSG

SEARCH = "/api/2.0/mlflow/experiments/search"
CREATE = "/api/2.0/mlflow/experiments/create"


def test_default_policy_through_the_real_server(start_server):
    server = start_server(["--workers", "1", "--x-frame-options", "DENY"])
    url = server.url
    port = server.port

    def get(path, **headers):
        return requests.get(url + path, headers=headers, timeout=10)

    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", f"10.1.2.3:{port}", f"192.168.0.7:{port}"):
        assert get(SEARCH, Host=host).status_code == 200, host
    for host in (
        "10.evil.com",
        f"192.168.attacker.net:{port}",
        "10.0.0.1.nip.io",
        "evil.com",
        f"localhost.evil.com:{port}",
    ):
        resp = get(SEARCH, Host=host)
        assert resp.status_code == 403, host
        assert resp.json() == {"error_code": "PERMISSION_DENIED", "message": INVALID_HOST_MSG}
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "DENY"
    assert get("/health", Host="evil.com").status_code == 200
    assert get("/version", Host="evil.com").status_code == 200

    post = lambda **kw: requests.post(url + CREATE, timeout=10, **kw)  # noqa: E731
    resp = post(json={"name": "a"}, headers={"Origin": "http://evil.com"})
    assert (resp.status_code, resp.json()["message"]) == (403, CORS_BLOCKED_MSG)
    assert post(json={"name": "b"}, headers={"Origin": "null"}).status_code == 403
    resp = post(json={"name": "c"}, headers={"Origin": "http://localhost:3000"})
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    # a cross-site form post: text/plain, which a browser sends without preflight
    resp = post(data='{"name": "d"}', headers={"Content-Type": "text/plain"})
    assert resp.status_code == 400
    assert resp.json()["message"] == "Bad Request. Content-Type must be one of ['application/json']."
    resp = requests.options(
        url + CREATE, headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"}
    )
    assert resp.status_code == 204
    assert resp.headers["X-Frame-Options"] == "DENY"


def test_allowed_hosts_and_origins_and_the_mlflow_client(start_server):
    server = start_server(
        [
            "--workers",
            "1",
            "--allowed-hosts",
            "mlflow.example.com,127.0.0.1",
            "--cors-allowed-origins",
            "https://app.example.com",
        ]
    )
    url = server.url
    assert requests.get(url + SEARCH, headers={"Host": "mlflow.example.com"}).status_code == 200
    assert requests.get(url + SEARCH, headers={"Host": f"mlflow.example.com:{server.port}"}).status_code == 200
    # the list replaces the default, like MLflow
    assert requests.get(url + SEARCH, headers={"Host": f"localhost:{server.port}"}).status_code == 403
    resp = requests.post(url + CREATE, json={"name": "o"}, headers={"Origin": "https://app.example.com"})
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert (
        requests.post(url + CREATE, json={"name": "p"}, headers={"Origin": "https://evil.example.com"}).status_code
        == 403
    )

    # the unchanged mlflow client passes every check (it sends JSON and no Origin)
    import mlflow
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=url)
    exp = client.create_experiment("through-security")
    run = client.create_run(exp)
    client.log_metric(run.info.run_id, "x", 1.0)
    client.log_batch(run.info.run_id, params=[mlflow.entities.Param("p", "v")])
    client.log_text(run.info.run_id, "hello", "notes/hello.txt")  # artifact PUT, text/plain
    assert client.get_run(run.info.run_id).data.metrics == {"x": 1.0}
    assert [f.path for f in client.list_artifacts(run.info.run_id, "notes")] == ["notes/hello.txt"]


def test_disabled_security_middleware_warns_loudly(start_server):
    server = start_server(["--workers", "1", "--disable-security-middleware"])
    assert requests.get(server.url + SEARCH, headers={"Host": "evil.com"}).status_code == 200
    assert (
        requests.post(server.url + CREATE, json={"name": "q"}, headers={"Origin": "http://evil.com"}).status_code == 200
    )
    log = server.log()
    assert "WARNING" in log and "--disable-security-middleware: Host and Origin checks are OFF" in log
    assert "host and origin checks DISABLED" in log
