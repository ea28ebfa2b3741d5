"""Typed application keys: the app's shared state, set up by create_app and its cleanup contexts.

Every key names the real type of what it holds, so `request.app[keys.TRACKING]` is a
`TrackingService` to the type checker. State belongs to a typed object of its owner (the
artifact options and flags to `ArtifactLocations`, the stores to their services); there is no
untyped catch-all. A new area adds its key here, with its type.
"""

from __future__ import annotations

from aiohttp import web

from aiotrack.config import Settings
from aiotrack.http.bodies import BodyBudget
from aiotrack.services.artifact_uris import ArtifactLocations
from aiotrack.services.auth.config import AuthConfig
from aiotrack.services.auth.service import AuthService
from aiotrack.services.live import RunsLiveHub
from aiotrack.services.logged_models import LoggedModelService
from aiotrack.services.registry import RegistryService
from aiotrack.services.traces import TraceService
from aiotrack.services.tracking import TrackingService
from aiotrack.stores.sql.replica import ReplicatedDatabase

SETTINGS = web.AppKey("settings", Settings)
TRACKING = web.AppKey("tracking", TrackingService)
# Artifact roots, the repositories behind them (started by app.py's _artifacts_ctx), location
# checks, and what the proxied destination supports (advertised by server-info).
ARTIFACTS = web.AppKey("artifacts", ArtifactLocations)
REGISTRY = web.AppKey("registry", RegistryService)
LOGGED_MODELS = web.AppKey("logged_models", LoggedModelService)
AUTH = web.AppKey("auth", AuthService)  # only with --app-name basic-auth
AUTH_CONFIG = web.AppKey("auth_config", AuthConfig)  # MLflow's basic_auth.ini, read by create_app
# The worker's budget of large request bodies held at once (aiotrack/http/bodies.py).
BODY_BUDGET = web.AppKey("body_budget", BodyBudget)
# Live run updates for the UI (one poller per watched experiment set, per worker).
LIVE = web.AppKey("live", RunsLiveHub)
TRACES = web.AppKey("traces", TraceService)
# The backend store over its primary and read replica (only with --read-replica-backend-store-uri).
READ_REPLICA = web.AppKey("read_replica", ReplicatedDatabase)
