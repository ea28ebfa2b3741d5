"""The application factory: create_app(settings) -> web.Application.

Importing this module does nothing; all state is created by the factory and its cleanup
contexts and kept in typed AppKeys (aiotrack.http.keys). Middleware order, outermost first:

1. error_middleware: every exception below becomes MLflow's error JSON (so the security
   middlewares' refusals and the handlers' errors share one shape and one set of headers).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from aiotrack.config import Settings
from aiotrack.http import keys
from aiotrack.http.api import experiments, metrics, runs, server_info
from aiotrack.http.api import ui as ui_api  # web UI endpoints MLflow lacks (aiotrack/http/api/ui.py)
from aiotrack.http.middleware.errors import error_middleware
from aiotrack.services.tracking import TrackingService
from aiotrack.stores.sql import migrations
from aiotrack.stores.sql.database import Database, PostgresDatabase, SqliteDatabase
from aiotrack.stores.sql.tracking import SqlTrackingStore
from aiotrack.stores.sql.uri import parse_store_uri

log = logging.getLogger("aiotrack")

# JSON bodies only (artifact uploads stream and are not bound by this): dataset profiles may
# reach 16 MiB in MLflow's limits.
CLIENT_MAX_SIZE = 32 * 1024 * 1024

API_MODULES = (experiments, runs, metrics, server_info)
API_MODULES += (ui_api,)


async def open_database(uri: str) -> Database:
    parsed = parse_store_uri(uri)
    if parsed.kind == "sqlite":
        return await SqliteDatabase(parsed.target).open()
    return await PostgresDatabase(parsed.target).open()


async def _tracking_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    db = await open_database(settings.backend_store_uri)
    try:
        await migrations.ensure_current(db)
        store = SqlTrackingStore(db)
        await store.initialize(settings.effective_default_artifact_root)
        app[keys.TRACKING] = TrackingService(store, settings.effective_default_artifact_root)
        yield
    finally:
        await db.close()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=CLIENT_MAX_SIZE)
    app[keys.SETTINGS] = settings
    app[keys.EXTRA] = {}
    app.cleanup_ctx.append(_tracking_ctx)
    for module in API_MODULES:
        module.routes.register(app, settings.prefix)
    return app
