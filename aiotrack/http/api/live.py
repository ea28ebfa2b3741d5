"""Live run updates for the web UI, as Server-Sent Events (under /ajax-api/ and /api/).

GET 2.0/aiotrack/live/runs?experiment_id=1[&experiment_id=2 ...]   (1..20 experiments)
    200 text/event-stream. `event: runs` with `data: {"runs": [...], "new": [ids], "changed": [ids],
    "reload": false}` whenever runs of the experiments start, log something or end (runs in
    MLflow's JSON shape, as runs/search returns them); `reload: true` when there was too much to
    send (fetch again). A comment line every 15 s keeps proxies from closing an idle stream.
    Unknown experiment: 404 RESOURCE_DOES_NOT_EXIST; too many watchers on this worker: 503
    TEMPORARILY_UNAVAILABLE (the UI then keeps polling).
"""

from __future__ import annotations

import asyncio
import contextlib

import orjson
from aiohttp import web

from aiotrack.errors import TEMPORARILY_UNAVAILABLE, AiotrackError, invalid
from aiotrack.http import keys
from aiotrack.http.codec import read_args
from aiotrack.http.routing import Routes
from aiotrack.services.live import TooManyWatchers

routes = Routes()

MAX_EXPERIMENTS = 20
HEARTBEAT_SECONDS = 15.0
#: How often a quiet stream checks that its browser is still there.
CHECK_SECONDS = 1.0


@routes.get("2.0/aiotrack/live/runs")
async def live_runs(request: web.Request) -> web.StreamResponse:
    args = await read_args(request)
    exp_ids = list(dict.fromkeys(args.str_list("experiment_id")))
    if not exp_ids:
        raise invalid("Missing value for required parameter 'experiment_id'.")
    if len(exp_ids) > MAX_EXPERIMENTS:
        raise invalid(f"At most {MAX_EXPERIMENTS} experiment_id values are allowed, got {len(exp_ids)}.")
    tracking = request.app[keys.TRACKING]
    for exp_id in exp_ids:
        await tracking.get_experiment(exp_id)  # 404 for an unknown one, before the stream starts
    hub = request.app[keys.LIVE]
    try:
        subscription = hub.subscribe(exp_ids)
        queue = await subscription.__aenter__()
    except TooManyWatchers:
        raise AiotrackError("Too many live views on this server; try again later.", TEMPORARILY_UNAVAILABLE) from None
    try:
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )
        await resp.prepare(request)
        await resp.write(b"retry: 2000\n: live\n\n")
        idle = 0.0
        while True:
            transport = request.transport
            if transport is None or transport.is_closing():  # the browser left
                break
            try:
                update = await asyncio.wait_for(queue.get(), CHECK_SECONDS)
            except asyncio.TimeoutError:
                idle += CHECK_SECONDS
                if idle >= HEARTBEAT_SECONDS:
                    idle = 0.0
                    await resp.write(b": keep-alive\n\n")
                continue
            if update is None:  # the server is shutting down
                break
            idle = 0.0
            await resp.write(b"event: runs\ndata: " + orjson.dumps(update.as_json()) + b"\n\n")
        with contextlib.suppress(ConnectionError):
            await resp.write_eof()
        return resp
    except ConnectionError:  # the browser left while we wrote: nothing to answer
        return resp
    finally:
        await subscription.__aexit__(None, None, None)
