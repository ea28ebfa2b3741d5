"""``aiotrack server --dev``: one worker that restarts when aiotrack's code changes.

The reload machinery is aiohttp-devtools' (the engine of ``adev runserver``): its ``AppTask``
watches a directory with watchfiles and, on a change to a ``.py`` file, stops the server process
(SIGINT, then SIGKILL after 5 s) and starts a fresh one. aiotrack plugs in its own server
process: a *spawned* (not forked) Python that imports the changed code anew and serves
``create_app(settings)`` on ``--host``/``--port`` with aiotrack's worker (``adev runserver``
itself would listen on 0.0.0.0 and look for a zero-argument app factory). The watched directory
is the ``aiotrack`` package that is imported. No livereload server is started (the web UI is a
prebuilt bundle).

aiohttp-devtools is an optional extra: ``pip install 'aiotrack[dev]'``.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

import aiotrack
from aiotrack.config import Settings
from aiotrack.errors import ConfigError

log = logging.getLogger("aiotrack")

DEV_GRACEFUL_TIMEOUT = 3.0  # a reload should not wait long for requests in flight


def check_available() -> None:
    try:
        import aiohttp_devtools.runserver.watch  # noqa: F401
    except ImportError:
        raise ConfigError(
            "--dev needs aiohttp-devtools, which is not installed: pip install 'aiotrack[dev]' (or run without --dev)."
        ) from None


def watched_directory() -> Path:
    return Path(aiotrack.__file__).resolve().parent


def _dev_child(settings: Settings) -> None:
    """The server process (spawned afresh on every reload)."""
    from aiotrack.cli.logs import configure_logging
    from aiotrack.cli.workers import bind_socket, run_worker

    configure_logging(settings)
    _quiet_noisy_loggers()
    sock = bind_socket(settings.host, settings.port)
    try:
        asyncio.run(run_worker(settings, sock, parent_pid=os.getppid(), graceful_timeout=DEV_GRACEFUL_TIMEOUT))
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()


def _quiet_noisy_loggers() -> None:
    # Debug logging is for aiotrack and aiohttp; these log every statement or every poll.
    for name in ("aiosqlite", "watchfiles", "asyncio"):
        logging.getLogger(name).setLevel(logging.INFO)


def _make_task(settings: Settings) -> Any:
    from aiohttp_devtools.runserver.config import Config
    from aiohttp_devtools.runserver.watch import AppTask

    class AiotrackAppTask(AppTask):  # type: ignore[misc]  # aiohttp-devtools has no type hints
        def _start_dev_server(self) -> None:
            action = "Starting" if self._reloads == 0 else "Restarting"
            log.info(
                "%s the dev server at http://%s:%d%s", action, settings.host, settings.port, settings.prefix or "/"
            )
            self._process = multiprocessing.get_context("spawn").Process(
                target=_dev_child, args=(settings,), name="aiotrack-dev"
            )
            self._process.start()

    package = watched_directory()
    config = Config(
        app_path=str(package / "http" / "app.py"),
        root_path=str(package),
        host=settings.host,
        main_port=settings.port,
        livereload=False,
        shutdown_by_url=False,
    )
    return AiotrackAppTask(config)


async def _run(settings: Settings) -> None:
    from aiohttp_devtools.runserver.serve import create_auxiliary_app

    task = _make_task(settings)
    # AppTask keeps its reload bookkeeping on the auxiliary app; that app is never served.
    aux = create_auxiliary_app(static_path=None, livereload=False)
    aux.cleanup_ctx.append(task.cleanup_ctx)
    runner = web.AppRunner(aux, handle_signals=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await runner.setup()
    log.info("dev mode: watching %s for changes (debug logging, one worker)", watched_directory())
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def serve(settings: Settings, origins: Mapping[str, str] | None = None) -> int:
    check_available()
    from aiotrack.cli.workers import banner, bind_socket, check_settings

    check_settings(settings)
    if settings.expose_prometheus:
        from aiotrack.http.metrics_prometheus import prepare_directory

        prepare_directory(settings.expose_prometheus)
    _quiet_noisy_loggers()
    probe = bind_socket(settings.host, settings.port)  # fail now, clearly, if the port is taken
    address = probe.getsockname()
    probe.close()
    for line in banner(settings, address, origins):
        log.info("%s", line)
    asyncio.run(_run(settings))
    log.info("aiotrack stopped")
    return 0
