"""Each setting set only by its environment variable changes what a real `aiotrack server` does.

Three servers, configured through variables alone (MLflow's wherever MLflow has one, so these are
the variables a deployment of `mlflow server` already sets), probed over HTTP, in their logs and
on disk; a flag beats the variable; the banner names where each value came from and hides
passwords; `--log-format json` lines parse one by one and carry request ids.
"""

from __future__ import annotations

import socket
import sqlite3
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from cli_support import clean_env, request
from server_process import ServerProcess, free_port

from aiotrack.config import SETTINGS, SETTINGS_BY_NAME

AIOTRACK = [sys.executable, "-m", "aiotrack"]
# Which scenario below shows each setting's effect. A new setting needs a probe here.
PROBED = {
    "backend_store_uri": "tracking_from_mlflow_variables",
    "registry_store_uri": "tracking_from_mlflow_variables",
    "default_artifact_root": "tracking_from_mlflow_variables",
    "artifacts_destination": "tracking_from_mlflow_variables",
    "host": "tracking_from_mlflow_variables",
    "port": "tracking_from_mlflow_variables",
    "workers": "tracking_from_mlflow_variables",
    "static_prefix": "tracking_from_mlflow_variables",
    "allowed_hosts": "tracking_from_mlflow_variables",
    "cors_allowed_origins": "tracking_from_mlflow_variables",
    "x_frame_options": "tracking_from_mlflow_variables",
    "expose_prometheus": "tracking_from_mlflow_variables",
    "log_format": "tracking_from_mlflow_variables",
    "worker_header": "tracking_from_mlflow_variables",
    "header_read_timeout": "tracking_from_mlflow_variables",
    "serve_artifacts": "no_proxy_no_checks_dev",
    "disable_security_middleware": "no_proxy_no_checks_dev",
    "dev": "no_proxy_no_checks_dev",
    "artifacts_only": "artifacts_only",
    "db_pool_size": "database_bounds_from_variables",
    "db_connect_timeout": "database_bounds_from_variables",
    "db_query_timeout": "database_bounds_from_variables",
    "db_pool_timeout": "database_bounds_from_variables",
    "db_startup_timeout": "database_bounds_from_variables",
    "app_name": "basic_auth",
    # Elsewhere, where the clusters they need are made (set by their variables alone there):
    "read_replica_backend_store_uri": "serving/test_nodes.py: MLFLOW_READ_REPLICA_BACKEND_STORE_URI",
    "db_transaction_pooler": "serving/test_pgbouncer.py: AIOTRACK_DB_TRANSACTION_POOLER",
}


def test_every_setting_has_a_behaviour_probe() -> None:
    assert set(PROBED) == {s.name for s in SETTINGS}


def var(name: str) -> str:
    """The variable a deployment sets for this setting: MLflow's where it has one."""
    s = SETTINGS_BY_NAME[name]
    return s.mlflow_env or s.env


def _json_lines(log: str) -> list[dict[str, Any]]:
    lines = [line for line in log.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            pytest.fail(f"not a JSON log line: {line!r}")
    return parsed


def test_tracking_from_mlflow_variables(tmp_path: Path) -> None:
    port = free_port()
    dest, prom = tmp_path / "dest", tmp_path / "prom"
    env = clean_env(
        **{
            var("backend_store_uri"): f"sqlite:///{tmp_path}/track.db",
            var("registry_store_uri"): f"sqlite:///{tmp_path}/registry.db",
            var("default_artifact_root"): "mlflow-artifacts:/team-root",
            var("artifacts_destination"): str(dest),
            var("host"): "127.0.0.1",
            var("port"): str(port),
            var("workers"): "2",
            var("static_prefix"): "/mlf",
            var("allowed_hosts"): "tracking.test",
            var("cors_allowed_origins"): "https://app.test",
            var("x_frame_options"): "DENY",
            var("expose_prometheus"): str(prom),
            var("log_format"): "json",
            var("worker_header"): "1",
            var("header_read_timeout"): "1",
        }
    )
    base = f"http://127.0.0.1:{port}/mlf"
    server = ServerProcess.command([*AIOTRACK, "server"], tmp_path, env, port).wait_ready("/mlf/health")
    try:
        host = {"Host": "tracking.test"}
        json_post = {**host, "Content-Type": "application/json"}
        # static prefix, allowed hosts
        assert request(f"http://127.0.0.1:{port}/health", headers=host)[0] == 404
        assert (
            request(base + "/api/2.0/mlflow/experiments/search?max_results=1", headers={"Host": "evil.test"})[0] == 403
        )
        status, headers, _ = request(base + "/api/2.0/mlflow/experiments/search?max_results=1", headers=host)
        assert status == 200
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Aiotrack-Worker"].isdigit()
        # header read timeout: half a header is cut off after 1 s, not after the hour of keep-alive
        with socket.create_connection(("127.0.0.1", port), timeout=30) as half:
            half.sendall(b"GET /mlf/health HTTP/1.1\r\nHost: tracking.test\r\nX-Slow: ")
            assert half.recv(1024) == b""
        # CORS origins
        body = orjson.dumps({"name": "from-env"})
        url = base + "/api/2.0/mlflow/experiments/create"
        evil = {**json_post, "Origin": "https://evil.test"}
        assert request(url, method="POST", body=body, headers=evil)[0] == 403
        status, _, answer = request(url, method="POST", body=body, headers={**json_post, "Origin": "https://app.test"})
        assert status == 200, answer
        experiment_id = orjson.loads(answer)["experiment_id"]
        # default artifact root, backend store
        status, _, answer = request(
            base + f"/api/2.0/mlflow/experiments/get?experiment_id={experiment_id}", headers=host
        )
        location = orjson.loads(answer)["experiment"]["artifact_location"]
        assert location == f"mlflow-artifacts:/team-root/{experiment_id}"
        with sqlite3.connect(tmp_path / "track.db") as db:
            assert db.execute("SELECT name FROM experiments WHERE name = 'from-env'").fetchall() == [("from-env",)]
        # registry store: another database
        status, _, answer = request(
            base + "/api/2.0/mlflow/registered-models/create",
            method="POST",
            body=orjson.dumps({"name": "env-model"}),
            headers=json_post,
        )
        assert status == 200, answer
        with sqlite3.connect(tmp_path / "registry.db") as db:
            assert db.execute("SELECT name FROM registered_models").fetchall() == [("env-model",)]
        with sqlite3.connect(tmp_path / "track.db") as db:
            assert db.execute("SELECT name FROM registered_models").fetchall() == []
        # artifacts destination
        status, _, _ = request(
            base + "/api/2.0/mlflow-artifacts/artifacts/team-root/notes.txt",
            method="PUT",
            body=b"hello",
            headers={**host, "Content-Type": "application/octet-stream"},
        )
        assert status == 200
        assert (dest / "team-root" / "notes.txt").read_bytes() == b"hello"
        # prometheus
        status, _, metrics = request(base + "/metrics", headers=host)
        assert status == 200 and b"aiotrack_http_requests_total" in metrics
        assert any(prom.glob("*.db"))
        # request ids: honoured when acceptable, replaced otherwise
        status, headers, _ = request(base + "/health", headers={"X-Request-Id": "req-abc.123"})
        assert headers["X-Request-Id"] == "req-abc.123"
        status, headers, _ = request(base + "/health", headers={"X-Request-Id": "bad id\twith space"})
        assert headers["X-Request-Id"] != "bad id\twith space" and len(headers["X-Request-Id"]) == 32
        assert request(base + "/health", headers={"X-Request-Id": "x" * 129})[1]["X-Request-Id"] != "x" * 129
    finally:
        assert server.stop() == 0
    lines = _json_lines(server.log())
    messages = [line["message"] for line in lines]
    # workers, host, port: in the banner; every value named with the variable it came from
    assert any(f"listening on http://127.0.0.1:{port}/mlf with 2 workers" in m for m in messages), messages
    for name in PROBED:
        if PROBED[name] == "tracking_from_mlflow_variables":
            assert any(m.endswith(f"from {var(name)}") for m in messages), f"the banner does not credit {var(name)}"
    assert len({line["pid"] for line in lines if line["message"].endswith("ready")}) == 2
    access = [line for line in lines if line["logger"] == "aiotrack.access"]
    assert {"remote", "method", "path", "status", "bytes", "duration_s", "user_agent", "request_id"} <= set(access[0])
    honoured = [line for line in access if line["request_id"] == "req-abc.123"]
    assert len(honoured) == 1 and honoured[0]["path"] == "/mlf/health" and honoured[0]["status"] == 200
    assert all(len(line["request_id"]) >= 1 for line in access)
    assert all(line["level"] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL") for line in lines)


def test_no_proxy_no_checks_dev(tmp_path: Path, pg_server: Any) -> None:
    """Also: a flag beats its variable, and the banner hides the password of a store URI."""
    pytest.importorskip("aiohttp_devtools")
    ignored_port, port = free_port(), free_port()
    dsn = pg_server.create_sync().replace("postgresql://root@", "postgresql://root:s3cret-pw@")
    env = clean_env(
        **{
            var("backend_store_uri"): dsn,
            var("serve_artifacts"): "false",
            var("disable_security_middleware"): "true",
            var("dev"): "true",
            var("port"): str(ignored_port),
        }
    )
    server = ServerProcess.command([*AIOTRACK, "server", "--port", str(port)], tmp_path, env, port)
    base = server.url
    try:
        server.wait_ready()
        with socket.socket() as probe:  # MLFLOW_PORT lost to --port: nothing listens there
            assert probe.connect_ex(("127.0.0.1", ignored_port)) != 0
        # security middleware disabled: any Host is accepted
        status, _, _ = request(base + "/api/2.0/mlflow/experiments/search?max_results=1", headers={"Host": "evil.test"})
        assert status == 200
        # not serving artifacts: the proxy answers MLflow's 503
        assert request(base + "/api/2.0/mlflow-artifacts/artifacts?path=")[0] == 503
    finally:
        server.stop()
    log = server.log()
    assert "dev mode: watching" in log
    assert "s3cret-pw" not in log and "root:***@" in log
    assert f"--port {port}" in log and "from the command line" in log
    assert "--serve-artifacts off" in log and "from MLFLOW_SERVE_ARTIFACTS" in log
    assert "--disable-security-middleware on" in log and "from MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE" in log
    assert "--dev on" in log and "from AIOTRACK_DEV" in log


def test_artifacts_only(tmp_path: Path) -> None:
    port = free_port()
    env_file = tmp_path / "mlflow.env"
    env_file.write_text(f"{var('artifacts_only')}=true\n{var('port')}={port}\n{var('workers')}=1\n")
    server = ServerProcess.command([*AIOTRACK, "--env-file", str(env_file), "server"], tmp_path, clean_env(), port)
    base = server.url
    try:
        server.wait_ready()
        status, _, body = request(base + "/api/2.0/mlflow/experiments/search?max_results=1")
        assert status == 503 and b"--artifacts-only" in body
    finally:
        server.stop()
    log = server.log()
    assert f"Loaded environment variables from: {env_file}" in log
    assert "mode:            artifacts only" in log
    assert f"from MLFLOW_ARTIFACTS_ONLY in {env_file}" in log


def test_database_bounds_from_variables(tmp_path: Path, pg_server: Any, pg_template: str) -> None:
    """The db_* settings through variables alone, against a PostgreSQL behind a proxy the test
    blackholes: each bound shows in what the server does and in its 503 messages."""
    import asyncio
    import threading

    import asyncpg
    from db_proxy import DbProxy

    dsn = asyncio.run(pg_server.clone(pg_template))
    name = dsn.rsplit("/", 1)[1]
    proxy = DbProxy()
    uri = f"postgresql://root@127.0.0.1:{proxy.port}/{name}"
    try:
        port = free_port()
        env = clean_env(
            **{
                var("backend_store_uri"): uri,
                var("port"): str(port),
                var("workers"): "1",
                var("db_pool_size"): "2",  # MLflow's MLFLOW_SQLALCHEMYSTORE_POOL_SIZE
                var("db_connect_timeout"): "2",
                var("db_query_timeout"): "1",
                var("db_pool_timeout"): "3",
            }
        )
        server = ServerProcess.command([*AIOTRACK, "server"], tmp_path, env, port)
        try:
            server.wait_ready()
            api = server.url + "/api/2.0/mlflow"
            status, _, body = request(
                api + "/experiments/create",
                method="POST",
                body=b'{"name": "b"}',
                headers={"Content-Type": "application/json"},
            )
            assert status == 200, body
            # 24 requests at once on one worker: never more than db_pool_size connections.
            results: list[int] = []
            threads = [
                threading.Thread(target=lambda: results.append(request(api + "/experiments/search?max_results=5")[0]))
                for _ in range(24)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert results == [200] * 24

            async def backends() -> int:
                conn = await asyncpg.connect(pg_server.admin_dsn)
                try:
                    count: int = await conn.fetchval(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name
                    )
                    return count
                finally:
                    await conn.close()

            assert 1 <= asyncio.run(backends()) <= 2
            proxy.set_mode("blackhole")
            # A pooled connection that stops answering: query budget 1 s + 2 s margin.
            status, _, body = request(api + "/experiments/search?max_results=5")
            assert status == 503 and b"did not answer within 3 s" in body, body
            # ... then new connections that never complete: the connect timeout (2 s < pool's 3 s).
            messages = [request(api + "/experiments/search?max_results=5")[2] for _ in range(3)]
            assert any(b"did not complete within 2 s (--db-connect-timeout)" in m for m in messages), messages
            proxy.set_mode("forward")
        finally:
            server.stop()
        assert "from MLFLOW_SQLALCHEMYSTORE_POOL_SIZE" in server.log()

        # At start, blackholed: retried for db_startup_timeout, each attempt bounded by the pool
        # timeout (1 s < the connect timeout's 5 s), then one line and a non-zero exit.
        port = free_port()
        env = clean_env(
            **{
                var("backend_store_uri"): uri,
                var("port"): str(port),
                var("db_startup_timeout"): "2",
                var("db_pool_timeout"): "1",
                var("db_connect_timeout"): "5",
            }
        )
        proxy.set_mode("blackhole")
        server = ServerProcess.command([*AIOTRACK, "server"], tmp_path, env, port)
        assert server.proc.wait(60) != 0
        log = server.log()
        assert "Traceback" not in log
        assert "stayed unavailable for 2 s (--db-startup-timeout" in log
        assert "within 1 s (--db-pool-timeout)" in log
    finally:
        proxy.close()


def test_basic_auth(tmp_path: Path) -> None:
    """AIOTRACK_APP_NAME=basic-auth alone: sign-in required, the admin from MLflow's variable."""
    import base64

    port = free_port()
    password = "probe-admin-password-1"
    env = clean_env(**{var("app_name"): "basic-auth", var("port"): str(port), var("workers"): "1"})
    env["MLFLOW_AUTH_ADMIN_PASSWORD"] = password
    server = ServerProcess.command([*AIOTRACK, "server"], tmp_path, env, port)
    base = server.url
    try:
        server.wait_ready()
        status, headers, _ = request(base + "/api/2.0/mlflow/experiments/search?max_results=1")
        assert status == 401 and headers["WWW-Authenticate"] == 'Basic realm="mlflow"'
        auth = {"Authorization": "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()}
        assert request(base + "/api/2.0/mlflow/experiments/search?max_results=1", headers=auth)[0] == 200
    finally:
        server.stop()
    log = server.log()
    assert "auth:            basic-auth, sign-in required" in log and f"from {var('app_name')}" in log
    assert password not in log
