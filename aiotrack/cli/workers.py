"""Serving the app: one process for now (the pre-fork supervisor replaces this)."""

from __future__ import annotations

import logging

from aiohttp import web

from aiotrack.config import Settings

log = logging.getLogger("aiotrack")


def serve(settings: Settings) -> None:
    from aiotrack.http.app import create_app

    log.info("aiotrack listening on http://%s:%d%s", settings.host, settings.port, settings.prefix or "/")
    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None, access_log=log)
