"""``--expose-prometheus DIR``: request counts and latencies per route and status at ``/metrics``.

Every worker process records into prometheus-client's multiprocess files in DIR; ``/metrics``
(under the static prefix), answered by whichever worker gets the scrape, merges the files of all
workers, so the numbers cover the whole server. The supervisor empties DIR at start (figures from
an earlier run would otherwise be added in) -- see :func:`prepare_directory`.

Labels: ``method``, ``route`` (the route's path template, e.g.
``/api/2.0/mlflow/runs/get``; ``unmatched`` for requests that matched no route, so random paths
cannot blow up the label set) and ``status``.

prometheus-client picks multiprocess mode from ``PROMETHEUS_MULTIPROC_DIR`` when it is imported;
:func:`enable_multiprocess` sets it and, if the library was already imported without it, switches
the value class before any of our metrics exist.
"""

from __future__ import annotations

import glob
import os
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from aiotrack.errors import ConfigError

ENV = "PROMETHEUS_MULTIPROC_DIR"

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def prepare_directory(directory: str) -> str:
    """Create DIR if needed and remove stale metric files; return its absolute path. Run once, in
    the supervisor, before any worker starts."""
    path = os.path.abspath(directory)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--expose-prometheus {directory}: cannot create the directory: {exc.strerror}.") from None
    if not os.access(path, os.W_OK):
        raise ConfigError(f"--expose-prometheus {directory}: the directory is not writable.")
    for stale in glob.glob(os.path.join(path, "*.db")):
        os.remove(stale)
    enable_multiprocess(path)
    return path


def enable_multiprocess(path: str) -> None:
    os.environ[ENV] = path
    from prometheus_client import values

    if not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]  # untyped library


def mark_worker_dead(pid: int) -> None:
    """Called by the supervisor when a worker exits (drops its live gauges, if any)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]  # untyped library


class _Metrics:
    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        labels = ("method", "route", "status")
        # registry=None: the values live in the multiprocess files, read back by the collector.
        self.requests = Counter(
            "aiotrack_http_requests", "HTTP requests answered, by route and status.", labels, registry=None
        )
        self.latency = Histogram(
            "aiotrack_http_request_duration_seconds",
            "Time to answer an HTTP request, by route and status.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=None,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, str(status))
        self.requests.labels(*key).inc()
        self.latency.labels(*key).observe(seconds)


# The app's metric objects and multiprocess directory (set by setup_prometheus).
METRICS_KEY = web.AppKey("prometheus_metrics", _Metrics)
METRICS_DIR_KEY = web.AppKey("prometheus_dir", str)


def _route_label(request: web.Request) -> str:
    match_info = request.match_info
    if match_info.http_exception is not None or match_info.route.resource is None:
        return "unmatched"
    return match_info.route.resource.canonical


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    metrics = request.app[METRICS_KEY]
    start = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        metrics.observe(request.method, _route_label(request), status, time.perf_counter() - start)


async def metrics_handler(request: web.Request) -> web.Response:
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=request.app[METRICS_DIR_KEY])  # type: ignore[no-untyped-call]
    return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup_prometheus(app: web.Application, directory: str, prefix: str) -> None:
    """Add /metrics and the metrics middleware (to be placed outermost by the caller)."""
    path = os.path.abspath(directory)
    if not os.path.isdir(path):
        raise ConfigError(f"--expose-prometheus {directory}: not a directory.")
    enable_multiprocess(path)
    app[METRICS_DIR_KEY] = path
    app[METRICS_KEY] = _Metrics()
    app.router.add_get(prefix + "/metrics", metrics_handler)
