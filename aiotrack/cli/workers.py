"""Serving the app: a pre-fork supervisor, in the manner of aiohttp's own gunicorn worker.

The parent (supervisor) binds the listening socket once (SO_REUSEADDR, a deep backlog) and forks
``--workers`` children. Each child builds the app with ``create_app(settings)`` -- its own store
connections, never shared across a fork -- and serves it with ``web.AppRunner`` + ``web.SockSite``
on the inherited socket; the kernel spreads connections over the children.

The supervisor:
- restarts a child that dies (crash, kill -9) and keeps serving. Children that die soon after
  starting are restarted with exponential backoff (``BACKOFF_FIRST`` doubling up to
  ``BACKOFF_CAP`` seconds), never given up on once a worker of this server has served: a database
  outage or a crash loop on one bad request must not take the service away for good. Only a
  configuration that never started (no worker ever became ready, ``MAX_FAILED_STARTS`` quick
  deaths in a row) makes it stop with an error rather than fork forever. Each worker tells the
  supervisor it is ready through a pipe;
- on SIGTERM or SIGINT asks every child to stop (SIGTERM): a child stops accepting, answers the
  requests in flight (long uploads included) for up to ``GRACEFUL_TIMEOUT`` seconds, closes its
  stores and exits; the supervisor waits for all of them (and kills any still there a few seconds
  after the timeout), so no process is left behind. A second signal stops at once.

A child whose supervisor died exits: Linux delivers SIGTERM through PR_SET_PDEATHSIG, and every
child also polls ``os.getppid()`` once a second.

The schema is created or upgraded once, by the parent, before any child starts (cli/server.py
``prepare()``), so children never race to create it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import logging
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import FrameType
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from aiotrack import MLFLOW_COMPAT_VERSION, __version__
from aiotrack.cli.logs import ACCESS_LOGGER, access_log_class
from aiotrack.config import SETTINGS_BY_NAME, Settings, hide_password
from aiotrack.errors import ConfigError

log = logging.getLogger("aiotrack")

GRACEFUL_TIMEOUT = 30.0  # seconds a stopping worker gives in-flight requests
KILL_MARGIN = 5.0  # after the graceful timeout, the supervisor kills what is left
BACKLOG = 2048
PARENT_POLL_SECONDS = 1.0
QUICK_DEATH_SECONDS = 5.0  # a worker dying sooner than this after its start counts as a failed start
MAX_FAILED_STARTS = 5  # quick deaths in a row before a server none of whose workers ever started gives up
BACKOFF_FIRST = 0.25  # seconds before restarting after the first quick death; doubles per death
BACKOFF_CAP = 30.0
# Debug/test aid: with settings.worker_header (--worker-header, AIOTRACK_WORKER_HEADER=1) every
# response names the worker process that answered it.
WORKER_HEADER = "X-Aiotrack-Worker"

_PR_SET_PDEATHSIG = 1


# --------------------------------------------------------------------------- the socket


def bind_socket(host: str, port: int) -> socket.socket:
    """The one listening socket, bound by the parent and inherited by every worker."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        reason = "the address is already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise ConfigError(f"Cannot listen on {host}:{port}: {reason}.") from None
    sock.setblocking(False)
    sock.set_inheritable(True)
    return sock


# --------------------------------------------------------------------------- a worker


async def _add_worker_header(request: web.Request, response: web.StreamResponse) -> None:
    response.headers[WORKER_HEADER] = str(os.getpid())


async def _watch_parent(parent_pid: int, stop: asyncio.Event) -> None:
    while not stop.is_set():
        if os.getppid() != parent_pid:
            log.warning("worker %d: the supervisor (pid %d) is gone; stopping", os.getpid(), parent_pid)
            stop.set()
            return
        await asyncio.sleep(PARENT_POLL_SECONDS)


async def run_worker(
    settings: Settings,
    sock: socket.socket,
    *,
    parent_pid: int | None = None,
    graceful_timeout: float = GRACEFUL_TIMEOUT,
    ready_fd: int | None = None,
) -> None:
    """Serve the app on an already-listening socket until SIGTERM/SIGINT (or the parent dies),
    then drain in-flight requests for up to ``graceful_timeout`` seconds."""
    from aiotrack.http.app import create_app
    from aiotrack.http.middleware.headers import security_headers
    from aiotrack.http.protocol import ServingRunner

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    app = create_app(settings)
    if settings.worker_header:
        app.on_response_prepare.append(_add_worker_header)
    drain = _Drain()
    app.middlewares.insert(0, drain.middleware)
    app.on_response_prepare.append(drain.on_response_prepare)
    runner = ServingRunner(
        app,
        header_read_timeout=settings.header_read_timeout,
        error_headers=security_headers(settings.x_frame_options),
        handle_signals=False,
        access_log=logging.getLogger(ACCESS_LOGGER),
        access_log_class=access_log_class(settings),
        shutdown_timeout=graceful_timeout,
        # A client that goes away cancels its handler, and with it the handler's database query
        # (asyncpg sends a cancel request; a SQLite job is skipped or interrupted): nobody waits
        # for the answer, so the database should not keep working on it.
        handler_cancellation=True,
    )
    await runner.setup()  # opens the stores (cleanup_ctx)
    watcher = None
    try:
        site = web.SockSite(runner, sock)
        await site.start()
        log.info("worker %d ready", os.getpid())
        if ready_fd is not None:
            _report_ready(ready_fd)
        if parent_pid is not None:
            watcher = asyncio.create_task(_watch_parent(parent_pid, stop))
        await stop.wait()
        log.info(
            "worker %d stopping: finishing %d requests in flight (up to %gs)",
            os.getpid(),
            drain.in_flight,
            graceful_timeout,
        )
        await site.stop()  # stop accepting; the other workers (or the next server) take new connections
        await drain.wait(graceful_timeout)
    finally:
        if watcher is not None:
            watcher.cancel()
        await runner.cleanup()  # close idle connections, close the stores
    log.info("worker %d stopped", os.getpid())


class _Drain:
    """Graceful stop that lets requests whose bodies are still arriving finish.

    aiohttp's own shutdown (``runner.cleanup()``) marks every connection closing, after which it
    ignores incoming data: a slow upload in flight would hang until the timeout and fail. So a
    stopping worker first closes its listening socket, answers ``Connection: close`` on every
    response, and waits until no request is in flight (or the timeout); only then does it run
    aiohttp's cleanup."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.draining = False
        self._idle = asyncio.Event()
        self._idle.set()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.in_flight += 1
        self._idle.clear()
        try:
            return await handler(request)
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self._idle.set()

    async def on_response_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        if self.draining:
            response.force_close()

    async def wait(self, timeout: float) -> None:
        self.draining = True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except asyncio.TimeoutError:
            log.warning(
                "worker %d: %d requests still in flight after %gs; closing them", os.getpid(), self.in_flight, timeout
            )


def _set_parent_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - the getppid() poll still covers it
        pass


def _report_ready(fd: int) -> None:
    with contextlib.suppress(OSError):  # a full pipe: the supervisor already knows
        os.write(fd, b"r")
    os.close(fd)


def _child_main(
    settings: Settings, sock: socket.socket, parent_pid: int, graceful_timeout: float, ready_fd: int
) -> int:
    _set_parent_death_signal()
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        return 0
    try:
        asyncio.run(
            run_worker(settings, sock, parent_pid=parent_pid, graceful_timeout=graceful_timeout, ready_fd=ready_fd)
        )
        return 0
    except KeyboardInterrupt:
        return 0
    except BaseException:
        log.exception("worker %d failed", os.getpid())
        return 1


# --------------------------------------------------------------------------- the supervisor


def restart_delay(quick_deaths: int) -> float:
    """Seconds before replacing a worker after ``quick_deaths`` quick deaths in a row."""
    if quick_deaths <= 0:
        return 0.0
    # The exponent is capped so that a crash loop of days never overflows a float.
    return min(BACKOFF_FIRST * float(2 ** min(quick_deaths - 1, 32)), BACKOFF_CAP)


@dataclass
class _Worker:
    pid: int
    started: float


class Supervisor:
    def __init__(self, settings: Settings, sock: socket.socket, *, graceful_timeout: float = GRACEFUL_TIMEOUT):
        self.settings = settings
        self.sock = sock
        self.graceful_timeout = graceful_timeout
        self.workers: dict[int, _Worker] = {}
        self._stop_signal: int | None = None
        self._signals = 0
        self._quick_deaths = 0
        self.ever_ready = False  # has any worker of this server started serving?
        self._pending_spawns: list[float] = []  # due times of replacement workers
        self._wake_r = self._wake_w = -1
        self._ready_r = self._ready_w = -1

    # -- signals
    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signals += 1
        if self._stop_signal is None:
            self._stop_signal = signum

    def _install_signals(self) -> None:
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        signal.set_wakeup_fd(self._wake_w)
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGCHLD, lambda s, f: None)  # only to wake the loop
        self._ready_r, self._ready_w = os.pipe()
        os.set_blocking(self._ready_r, False)

    def _restore_signals_in_child(self) -> None:
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        os.close(self._wake_r)
        os.close(self._wake_w)
        os.close(self._ready_r)

    def _wait(self, timeout: float) -> None:
        with contextlib.suppress(InterruptedError):  # PEP 475 retries; kept for clarity
            select.select([self._wake_r, self._ready_r], [], [], max(timeout, 0))
        for fd in (self._wake_r, self._ready_r):
            try:
                while os.read(fd, 512):
                    if fd == self._ready_r:
                        self.ever_ready = True
            except BlockingIOError:
                pass

    # -- workers
    def _spawn(self) -> None:
        parent_pid = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child
            code = 1
            try:
                self._restore_signals_in_child()
                code = _child_main(self.settings, self.sock, parent_pid, self.graceful_timeout, self._ready_w)
            finally:
                logging.shutdown()
                os._exit(code)
        self.workers[pid] = _Worker(pid, time.monotonic())
        log.debug("started worker %d", pid)

    def _reap(self) -> list[tuple[_Worker, int]]:
        dead = []
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            worker = self.workers.pop(pid, None)
            if worker is not None:
                dead.append((worker, status))
                if self.settings.expose_prometheus:
                    from aiotrack.http.metrics_prometheus import mark_worker_dead

                    mark_worker_dead(pid)
        return dead

    def _describe_exit(self, status: int) -> str:
        if os.WIFSIGNALED(status):
            return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
        return f"exit status {os.WEXITSTATUS(status)}"

    # -- the loop
    def run(self) -> int:
        self._install_signals()
        for _ in range(self.settings.workers):
            self._spawn()
        code = 0
        while self._stop_signal is None:
            now = time.monotonic()
            timeout = min([1.0] + [due - now for due in self._pending_spawns])
            self._wait(timeout)
            for worker, status in self._reap():
                lived = time.monotonic() - worker.started
                self._quick_deaths = self._quick_deaths + 1 if lived < QUICK_DEATH_SECONDS else 0
                delay = restart_delay(self._quick_deaths)
                log.warning(
                    "worker %d died (%s) after %.1fs; starting a replacement%s",
                    worker.pid,
                    self._describe_exit(status),
                    lived,
                    f" in {delay:g}s ({self._quick_deaths} quick deaths in a row)" if delay else "",
                )
                self._pending_spawns.append(time.monotonic() + delay)
            if not self.ever_ready and self._quick_deaths >= MAX_FAILED_STARTS:
                log.error(
                    "no worker could start (%d died right after starting, none ever served); stopping. "
                    "See the errors above.",
                    self._quick_deaths,
                )
                code = 1
                break
            now = time.monotonic()
            due = [t for t in self._pending_spawns if t <= now]
            if due and self._stop_signal is None:
                self._pending_spawns = [t for t in self._pending_spawns if t > now]
                for _ in due:
                    self._spawn()
        if self._stop_signal is not None:
            log.info(
                "received %s: stopping %d workers (requests in flight get up to %gs)",
                signal.Signals(self._stop_signal).name,
                len(self.workers),
                self.graceful_timeout,
            )
        self._shutdown()
        return code

    def _signal_all(self, sig: int) -> None:
        for pid in list(self.workers):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def _shutdown(self) -> None:
        self._signal_all(signal.SIGTERM)
        signals_seen = self._signals
        deadline = time.monotonic() + self.graceful_timeout + KILL_MARGIN
        while self.workers:
            self._reap()
            if not self.workers:
                break
            if time.monotonic() >= deadline or self._signals > max(signals_seen, 1):
                log.warning(
                    "killing %d workers that did not stop in time: %s",
                    len(self.workers),
                    ", ".join(map(str, self.workers)),
                )
                self._signal_all(signal.SIGKILL)
                deadline = float("inf")
            self._wait(0.2)
        self.sock.close()
        for fd in (self._ready_r, self._ready_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        log.info("aiotrack stopped")


# --------------------------------------------------------------------------- entry point


def _origin_lines(settings: Settings, origins: Mapping[str, str]) -> list[str]:
    """`--port 5001   from MLFLOW_PORT in .env`: each setting given by a flag or a variable, and which."""
    shown = []
    for name, origin in origins.items():
        entry = SETTINGS_BY_NAME[name]
        value = getattr(settings, name)
        if entry.type is bool:
            text = f"{entry.flag} {'on' if value else 'off'}"
        else:
            text = f"{entry.flag} {hide_password(str(value)) if entry.uri else value}"
        shown.append((text, origin))
    if not shown:
        return []
    width = max(len(text) for text, _ in shown)
    lines = [f"    {text.ljust(width)}  from {where}" for text, where in shown]
    return ["  settings given (flag or variable):", *lines]


def banner(settings: Settings, address: tuple[Any, ...], origins: Mapping[str, str] | None = None) -> list[str]:
    from aiotrack.http.middleware.cors import origin_policy
    from aiotrack.http.middleware.hosts import host_policy

    host, port = address[0], address[1]
    shown = f"[{host}]" if ":" in host else host
    lines = [
        f"aiotrack {__version__} (MLflow REST API {MLFLOW_COMPAT_VERSION}) listening on "
        f"http://{shown}:{port}{settings.prefix or '/'} with {settings.workers} worker"
        f"{'s' if settings.workers != 1 else ''} (supervisor pid {os.getpid()})",
        f"  backend store:   {hide_password(settings.backend_store_uri)}",
        f"  registry store:  {hide_password(settings.effective_registry_store_uri)}",
    ]
    if settings.serve_artifacts:
        lines.append(
            f"  artifacts:       served from {hide_password(settings.artifacts_destination)} "
            f"(new experiments: {settings.effective_default_artifact_root})"
        )
    else:
        lines.append(f"  artifacts:       not proxied (new experiments: {settings.effective_default_artifact_root})")
    if settings.artifacts_only:
        lines.append("  mode:            artifacts only")
    if settings.disable_security_middleware:
        lines.append("  security:        host and origin checks DISABLED (--disable-security-middleware)")
    else:
        lines.append(f"  allowed hosts:   {host_policy(settings.allowed_hosts).describe()}")
        lines.append(f"  CORS origins:    {origin_policy(settings.cors_allowed_origins).describe()}")
    lines.append(f"  X-Frame-Options: {settings.x_frame_options}")
    if settings.app_name == "basic-auth":
        from aiotrack.http.app import auth_database_uri
        from aiotrack.services.auth.config import read_auth_config

        auth_config = read_auth_config()
        users_in = hide_password(auth_database_uri(settings, auth_config) or "")
        lines.append(
            f"  auth:            basic-auth, sign-in required (default permission "
            f"{auth_config.default_permission.name}; users in {users_in})"
        )
    else:
        lines.append("  auth:            none (anyone who can reach the server may read and write)")
    if settings.expose_prometheus:
        lines.append(
            f"  prometheus:      {settings.prefix}/metrics (multiprocess files in "
            f"{os.path.abspath(settings.expose_prometheus)})"
        )
    if not settings.artifacts_only:
        from aiotrack.http.api.webui import not_built

        missing_ui = not_built()
        if missing_ui is not None:
            lines.append(f"  web UI:          {missing_ui}")
    lines += _origin_lines(settings, origins or {})
    return lines


def check_settings(settings: Settings) -> None:
    """Refuse bad security options once, in the parent, before any worker starts."""
    from aiotrack.http.middleware.cors import origin_policy
    from aiotrack.http.middleware.hosts import host_policy

    host_policy(settings.allowed_hosts)
    origin_policy(settings.cors_allowed_origins)
    if settings.disable_security_middleware:
        log.warning(
            "!!! --disable-security-middleware: Host and Origin checks are OFF. Any web page the "
            "users of this server visit can send it requests (DNS rebinding, cross-site requests). "
            "Only do this behind a proxy that enforces its own checks. !!!"
        )


def serve(
    settings: Settings, *, graceful_timeout: float = GRACEFUL_TIMEOUT, origins: Mapping[str, str] | None = None
) -> int:
    """Bind, fork the workers, supervise them until SIGTERM/SIGINT; return the exit status."""
    check_settings(settings)
    if settings.expose_prometheus:
        from aiotrack.http.metrics_prometheus import prepare_directory

        prepare_directory(settings.expose_prometheus)
    sock = bind_socket(settings.host, settings.port)
    for line in banner(settings, sock.getsockname(), origins):
        log.info("%s", line)
    return Supervisor(settings, sock, graceful_timeout=graceful_timeout).run()
