"""The connection layer of a real server (aiotrack/http/protocol.py): slow headers are cut off,
parser refusals answer MLflow's JSON shape with the security headers, long request lines reach
their route, duplicate slashes are merged before routing."""

from __future__ import annotations

import socket
import time
import uuid

import orjson
import requests
from server_process import wait_until

from aiotrack.http.protocol import MAX_LINE_SIZE

API = "/api/2.0/mlflow"


def _raw(port: int, data: bytes, timeout: float = 15) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def _split(response: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def test_half_a_header_is_closed_after_the_header_read_timeout(start_server):
    server = start_server(["--workers", "1", "--header-read-timeout", "1"])
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        started = time.monotonic()
        assert s.recv(1024) == b""  # closed by the server, no answer
        assert time.monotonic() - started < 25  # the keep-alive timeout would be an hour
    wait_until(lambda: "did not arrive within 1s" in server.log(), 10, "the warning")
    # a complete request on a fresh connection is unaffected, and so is a slow body
    assert requests.get(server.url + "/health", timeout=10).status_code == 200


def test_a_slow_body_is_not_cut_off_by_the_header_timeout(start_server):
    server = start_server(["--workers", "1", "--header-read-timeout", "1"])
    body = orjson.dumps({"name": f"slow-{uuid.uuid4().hex}"})
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(
            f"POST {API}/experiments/create HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        )
        for i in range(len(body)):
            s.sendall(body[i : i + 1])
            time.sleep(2.5 / len(body))
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    status, _, data = _split(b"".join(chunks))
    assert status == 200, data


def test_parser_refusal_is_mlflow_json_with_security_headers_and_no_echo(start_server):
    server = start_server(["--workers", "1"])
    secret = "zz-secret-path-" + "a" * (MAX_LINE_SIZE + 10)
    status, headers, body = _split(_raw(server.port, f"GET /{secret} HTTP/1.1\r\nHost: x\r\n\r\n".encode()))
    assert status == 400
    assert headers["content-type"].startswith("application/json")
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "SAMEORIGIN"
    data = orjson.loads(body)
    assert data["error_code"] == "BAD_REQUEST" and "too long" in data["message"]
    assert b"zz-secret" not in body
    status, headers, body = _split(_raw(server.port, b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"))
    assert status == 400 and orjson.loads(body)["error_code"] == "BAD_REQUEST"
    assert headers["x-content-type-options"] == "nosniff"
    log = wait_until(lambda: (t := server.log()).count("Malformed HTTP request from") >= 2 and t, 10, "warnings")
    assert "WARNING aiotrack.http: Malformed HTTP request" in log
    assert "Traceback" not in log and "zz-secret" not in log


def test_long_request_lines_reach_the_route(start_server):
    server = start_server(["--workers", "1"])
    run_ids = [uuid.uuid4().hex for _ in range(250)]  # ~10 KB of query string, over aiohttp's 8,190
    resp = requests.get(
        f"{server.url}/ajax-api/2.0/mlflow/metrics/get-history-bulk",
        params={"run_id": run_ids, "metric_key": "m"},
        timeout=30,
    )
    assert resp.status_code == 400
    assert "cannot specify more than 100 run_ids" in resp.json()["message"]
    long_filter = " AND ".join(f"tags.k{i} = '{'v' * 200}'" for i in range(40))  # ~9 KB
    resp = requests.get(f"{server.url}{API}/registered-models/search", params={"filter": long_filter}, timeout=30)
    assert resp.status_code == 200, resp.text


def test_duplicate_slashes_are_merged_before_routing(start_server):
    server = start_server(["--workers", "1"])
    resp = requests.get(f"{server.url}//model-versions/get-artifact?path=MLmodel&name=nope&version=1", timeout=10)
    assert resp.status_code == 404 and resp.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST", resp.text
    resp = requests.get(f"{server.url}{API}//experiments//get", params={"experiment_id": "0"}, timeout=10)
    assert resp.status_code == 200 and resp.json()["experiment"]["experiment_id"] == "0"
    # the path checks run on the merged path: traversal stays refused
    resp = requests.get(f"{server.url}//model-versions/get-artifact?path=../../etc/passwd&name=m&version=1", timeout=10)
    assert resp.status_code in (400, 404) and "root:" not in resp.text
