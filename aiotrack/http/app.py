"""The application factory: create_app(settings) -> web.Application.

Importing this module does nothing; all state is created by the factory and its cleanup
contexts and kept in typed AppKeys (aiotrack.http.keys). Middleware order, outermost first:

0. request_id_middleware (middleware/request_id.py): outermost, so every request has its id
   (an acceptable incoming X-Request-Id, else a new one) in every log line it causes; a response
   hook echoes it in X-Request-Id.
0b. metrics_middleware (only with --expose-prometheus): counts the final status of every
   request, refusals and errors included.
0c. read_routing_middleware (middleware/read_routing.py, only with --read-replica-backend-store-uri):
   the request's reads may use the replica when its route is marked read-only; a response to a
   request that wrote carries the client's read-after-write position. Outside error_middleware
   so that an error answered after a write carries it too, and outside the auth middleware so
   that its reads are routed.
1. error_middleware: every exception below becomes MLflow's error JSON (so the security
   middlewares' refusals and the handlers' errors share one shape and one set of headers).
1b. preflight_middleware: a successful API preflight (OPTIONS) answers 204, as in MLflow.
2. host check (middleware/hosts.py): DNS-rebinding protection; /health and /version exempt.
3. origin check (middleware/cors.py): state-changing requests from a disallowed Origin -> 403.
   (2 and 3 are removed by --disable-security-middleware.)
3b. auth (http/auth/middleware.py, only with --app-name basic-auth): 401 without valid credentials,
   403 without the permission rules.RULES names for the route (unmapped routes: 403), 429 after
   too many failed sign-ins. After the host and origin checks (a refused origin never costs a
   password check), before everything that reads the request.
4. content-type check (middleware/content_type.py): JSON endpoints take application/json on
   POST/PUT (400 otherwise); artifact uploads are exempt.

Security headers (X-Content-Type-Options, X-Frame-Options; middleware/headers.py) are not a
middleware but an on_response_prepare hook, so that every response carries them: handler
responses, the error JSON made by error_middleware, aiohttp's own 404/405, CORS preflight answers,
static files. CORS response headers and preflight answers come from aiohttp-cors, set up last in
create_app so that it covers every route.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

from aiohttp import web

from aiotrack.config import Settings
from aiotrack.errors import AiotrackError
from aiotrack.http import keys, openapi
from aiotrack.http.api import artifacts as artifacts_api
from aiotrack.http.api import experiments, metrics, runs, server_info, webui
from aiotrack.http.api import live as live_api  # live run updates for the UI (Server-Sent Events)
from aiotrack.http.api import logged_models as logged_models_api
from aiotrack.http.api import otlp as otlp_api
from aiotrack.http.api import registry as registry_api
from aiotrack.http.api import traces as traces_api
from aiotrack.http.api import ui as ui_api  # web UI endpoints MLflow lacks (aiotrack/http/api/ui.py)
from aiotrack.http.bodies import MAX_JSON_BODY_BYTES, BodyBudget
from aiotrack.http.middleware.content_type import content_type_middleware
from aiotrack.http.middleware.cors import origin_middleware, origin_policy, setup_cors
from aiotrack.http.middleware.errors import error_middleware
from aiotrack.http.middleware.headers import install_security_headers, preflight_middleware
from aiotrack.http.middleware.hosts import host_middleware, host_policy
from aiotrack.http.middleware.request_id import install_request_id, request_id_middleware
from aiotrack.services.artifact_uris import ArtifactLocations
from aiotrack.services.tracking import TrackingService
from aiotrack.stores.sql import migrations
from aiotrack.stores.sql.connect import open_when_ready
from aiotrack.stores.sql.replica import ReplicatedDatabase, open_backend_store
from aiotrack.stores.sql.tracking import SqlTrackingStore

if TYPE_CHECKING:
    from aiotrack.services.auth.config import AuthConfig
    from aiotrack.services.auth.service import Lookups
    from aiotrack.stores.sql.database import Database

log = logging.getLogger("aiotrack")

# JSON bodies only (artifact uploads stream and are not bound by this); see http/bodies.py.
CLIENT_MAX_SIZE = MAX_JSON_BODY_BYTES

API_MODULES: tuple[ModuleType, ...] = (experiments, runs, metrics, server_info)
API_MODULES += (ui_api, live_api)
API_MODULES += (artifacts_api,)
API_MODULES += (registry_api, logged_models_api)
API_MODULES += (traces_api, otlp_api)
API_MODULES += (webui,)  # the browser UI at / and /static-files/
# What an --artifacts-only server serves; every other module's routes answer MLflow's 503.
ARTIFACTS_ONLY_MODULES = (artifacts_api, server_info)


async def _tracking_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    # A worker started while the database is away (a replacement for one that died) waits for it
    # like the server's start does, instead of failing at once.
    # With a read replica, two pools: see stores/sql/replica.py.
    db = await open_backend_store(settings, migrations.ensure_current)
    if isinstance(db, ReplicatedDatabase):
        app[keys.READ_REPLICA] = db
    try:
        store = SqlTrackingStore(db)
        locations = app[keys.ARTIFACTS]
        await store.initialize(locations.default_root)
        app[keys.TRACKING] = TrackingService(
            store, locations.default_root, check_artifact_location=locations.check_artifact_location
        )
        yield
    finally:
        await db.close()


async def _live_ctx(app: web.Application) -> AsyncIterator[None]:
    from aiotrack.services.live import RunsLiveHub

    app[keys.LIVE] = RunsLiveHub(app[keys.TRACKING])
    yield


async def _end_live_streams(app: web.Application) -> None:
    """On shutdown, end the UI's live streams at once (aiohttp then waits for open handlers)."""
    if keys.LIVE in app:
        await app[keys.LIVE].close()


async def _registry_ctx(app: web.Application) -> AsyncIterator[None]:
    """Logged models share the tracking database; the registry opens its own database when
    --registry-store-uri names another one, else shares the tracking one."""
    from aiotrack.services.logged_models import LoggedModelService
    from aiotrack.services.registry import RegistryService
    from aiotrack.stores.sql.logged_models import SqlLoggedModelStore
    from aiotrack.stores.sql.registry import SqlRegistryStore

    settings = app[keys.SETTINGS]
    tracking_store = app[keys.TRACKING].store
    assert isinstance(tracking_store, SqlTrackingStore)  # the store _tracking_ctx opens
    tracking_db = tracking_store.db
    own_db = None
    if settings.effective_registry_store_uri != settings.backend_store_uri:
        own_db = await open_when_ready(settings.effective_registry_store_uri, settings, migrations.ensure_current)
    try:
        logged_models = SqlLoggedModelStore(tracking_db)
        app[keys.LOGGED_MODELS] = LoggedModelService(logged_models)
        app[keys.REGISTRY] = RegistryService(
            SqlRegistryStore(own_db or tracking_db),
            tracking_store,
            logged_models,
            (app[keys.ARTIFACTS].default_root, settings.artifacts_destination),
        )
        yield
    finally:
        if own_db is not None:
            await own_db.close()


async def _traces_ctx(app: web.Application) -> AsyncIterator[None]:
    """Traces live in the tracking database; their span artifacts (traces.json) in the artifact
    repositories behind the experiments' locations."""
    from aiotrack.services.trace_artifacts import TraceArtifacts
    from aiotrack.services.traces import TraceService
    from aiotrack.stores.sql.traces import SqlTraceStore

    tracking_store = app[keys.TRACKING].store
    assert isinstance(tracking_store, SqlTrackingStore)  # the store _tracking_ctx opens
    artifacts = TraceArtifacts(app[keys.ARTIFACTS])
    app[keys.TRACES] = TraceService(SqlTraceStore(tracking_store.db), artifacts.read, artifacts.delete)
    yield


def _middlewares(settings: Settings) -> list[Any]:
    """In the order documented at the top of this module."""
    chain: list[Any] = [request_id_middleware]
    if settings.expose_prometheus:
        from aiotrack.http.metrics_prometheus import metrics_middleware

        chain.append(metrics_middleware)
    if settings.read_replica_backend_store_uri and not settings.artifacts_only:
        from aiotrack.http.middleware.read_routing import read_only_routes, read_routing_middleware

        routes = [r for module in API_MODULES for r in module.routes.routes]
        read_only = read_only_routes(routes, settings.prefix)
        chain.append(read_routing_middleware(keys.READ_REPLICA, read_only, settings.prefix or "/"))
    chain.append(error_middleware)
    chain.append(preflight_middleware(settings.prefix))
    if not settings.disable_security_middleware:
        chain.append(host_middleware(host_policy(settings.allowed_hosts), settings.prefix))
        chain.append(origin_middleware(origin_policy(settings.cors_allowed_origins)))
    if settings.app_name == "basic-auth":
        from aiotrack.http.auth.middleware import auth_middleware

        chain.append(auth_middleware(keys.AUTH, settings.prefix))
    chain.append(content_type_middleware(settings.prefix))
    return chain


def auth_database_uri(settings: Settings, config: AuthConfig | None = None) -> str | None:
    """Where basic-auth keeps its tables: the auth config's database_uri, else the backend store
    (None without basic-auth). ``config`` defaults to the one the environment names."""
    if settings.app_name != "basic-auth":
        return None
    if config is None:
        from aiotrack.services.auth.config import read_auth_config

        config = read_auth_config()
    return config.database_uri or settings.backend_store_uri


async def bootstrap_auth(db: Database, config: AuthConfig) -> None:
    """Create the first admin on an empty user table, or refuse (BootstrapError, a ConfigError)."""
    from aiotrack.services.auth.service import AuthService
    from aiotrack.stores.sql.auth import SqlAuthStore

    await AuthService(SqlAuthStore(db), config, _no_lookups()).bootstrap_admin()


def _no_lookups() -> Lookups:
    from aiotrack.services.auth.service import Lookups

    async def unavailable(_: str) -> Any:
        raise AiotrackError("This server does not serve the tracking store.", "TEMPORARILY_UNAVAILABLE")

    return Lookups(unavailable, unavailable, unavailable, unavailable)


def _lookups(app: web.Application) -> Lookups:
    """What the permission checks need to know about runs, logged models and registry entries."""
    from aiotrack.services.auth.service import Lookups

    if app[keys.SETTINGS].artifacts_only:
        return _no_lookups()
    tracking = app[keys.TRACKING].store
    registry = app[keys.REGISTRY].store
    logged_models = app[keys.LOGGED_MODELS].store

    async def experiment_of_run(run_id: str) -> str:
        return str((await tracking.get_run_info(run_id))["experiment_id"])

    async def experiment_of_logged_model(model_id: str) -> str:
        return str((await logged_models.get_logged_model(model_id, allow_deleted=True))["info"]["experiment_id"])

    async def experiment_id_by_name(name: str) -> str:
        return str((await tracking.get_experiment_by_name(name))["experiment_id"])

    traces = app[keys.TRACES]

    async def experiment_of_trace(trace_id: str) -> str:
        info = await traces.get_trace_info(trace_id)
        location = (info.get("trace_location") or {}).get("mlflow_experiment") or {}
        return str(location.get("experiment_id") or info.get("experiment_id") or "\x00no-experiment")

    return Lookups(
        experiment_of_run, experiment_of_logged_model, experiment_id_by_name, registry.is_prompt, experiment_of_trace
    )


async def _auth_ctx(app: web.Application) -> AsyncIterator[None]:
    """basic-auth: the auth store (its own database, or the backend store's) and the service."""
    from aiotrack.services.auth.limits import SharedGeneration
    from aiotrack.services.auth.service import AuthService
    from aiotrack.stores.sql.auth import SqlAuthStore

    settings = app[keys.SETTINGS]
    config = app[keys.AUTH_CONFIG]
    uri = auth_database_uri(settings, config)
    assert uri is not None
    shared = None
    if not settings.artifacts_only:
        tracking_store = app[keys.TRACKING].store
        assert isinstance(tracking_store, SqlTrackingStore)  # the store _tracking_ctx opens
        shared = tracking_store.db
    if shared is not None and uri == settings.backend_store_uri:
        db = shared
        await migrations.ensure_current(db)
    else:
        db = await open_when_ready(uri, settings, migrations.ensure_current)
    try:
        await bootstrap_auth(db, config)
        # A change made through one worker (or one server on this machine) reaches all at once.
        generation = SharedGeneration(uri)
        app[keys.AUTH] = AuthService(SqlAuthStore(db), config, _lookups(app), generation)
        yield
    finally:
        if db is not shared:
            await db.close()


async def _artifacts_ctx(app: web.Application) -> AsyncIterator[None]:
    """Start the artifact repositories (S3 client per worker, local leftover sweeper); close them."""
    repos = app[keys.ARTIFACTS].repositories()
    started = []
    try:
        for repo in repos:
            await repo.start()
            started.append(repo)
        yield
    finally:
        for repo in reversed(started):
            await repo.close()


def _register_artifacts_only_refusals(app: web.Application, module: ModuleType, prefix: str) -> None:
    for r in module.routes.routes:
        for path in r.paths(prefix):

            async def refuse(request: web.Request, rule: str = "/api/" + r.path if r.api else r.path) -> web.Response:
                return artifacts_api.artifacts_only_refusal(rule)

            app.router.add_route(r.method, path, refuse)


def create_app(settings: Settings, *, auth_config: AuthConfig | None = None) -> web.Application:
    app = web.Application(middlewares=_middlewares(settings), client_max_size=CLIENT_MAX_SIZE)
    install_security_headers(app, settings.x_frame_options, settings.prefix)
    install_request_id(app)
    if settings.expose_prometheus:
        from aiotrack.http.metrics_prometheus import setup_prometheus

        setup_prometheus(app, settings.expose_prometheus, settings.prefix)
    app[keys.SETTINGS] = settings
    app[keys.BODY_BUDGET] = BodyBudget()
    app[keys.ARTIFACTS] = ArtifactLocations(settings)  # checks the artifact options (ConfigError)
    app.cleanup_ctx.append(_artifacts_ctx)
    if not settings.artifacts_only:
        app.cleanup_ctx.append(_tracking_ctx)
        app.cleanup_ctx.append(_registry_ctx)
        app.cleanup_ctx.append(_traces_ctx)
        app.cleanup_ctx.append(_live_ctx)
        app.on_shutdown.append(_end_live_streams)
    if settings.app_name == "basic-auth":
        from aiotrack.http.api import auth as auth_api
        from aiotrack.services.auth.config import read_auth_config

        # MLflow's auth configuration (MLFLOW_AUTH_CONFIG_PATH, MLFLOW_AUTH_ADMIN_*), checked by
        # the CLI before any worker starts; tests pass their own.
        app[keys.AUTH_CONFIG] = auth_config or read_auth_config()
        app.cleanup_ctx.append(_auth_ctx)
        auth_api.routes.register(app, settings.prefix)
    for module in API_MODULES:
        if settings.artifacts_only and module not in ARTIFACTS_ONLY_MODULES:
            _register_artifacts_only_refusals(app, module, settings.prefix)
        else:
            module.routes.register(app, settings.prefix)
    openapi.add_route(app, settings.prefix)  # describes every route above: keep after them
    webui.add_prefix_redirect(app, settings.prefix)
    # Keep last: CORS headers and preflight answers for every route registered above.
    setup_cors(app, origin_policy(settings.cors_allowed_origins))
    return app
