"""One REST call against the in-process app, asserting the status and returning the JSON."""

from __future__ import annotations

import orjson

API = "/api/2.0/mlflow"
H = {"Content-Type": "application/json"}


async def call(client, method, path, body=None, params=None, status=200, base=API):
    kwargs = {"params": params} if params is not None else {"data": orjson.dumps(body or {}), "headers": H}
    resp = await client.request(method, f"{base}/{path}", **kwargs)
    data = await resp.json()
    assert resp.status == status, (path, data)
    return data
