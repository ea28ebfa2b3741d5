"""Typed application keys: the app's shared state, set up by create_app's cleanup contexts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from aiotrack.config import Settings

if TYPE_CHECKING:
    pass

SETTINGS = web.AppKey("settings", Settings)
TRACKING = web.AppKey("tracking", "TrackingService")
# Artifact roots, the repositories behind them (started by app.py's _artifacts_ctx), location checks.
ARTIFACTS = web.AppKey("artifacts", "ArtifactLocations")
REGISTRY = web.AppKey("registry", "RegistryService")  # aiotrack.services.registry
LOGGED_MODELS = web.AppKey("logged_models", "LoggedModelService")  # aiotrack.services.logged_models
# Other areas (artifacts, registry, logged models) add their own keys in their own modules.
# The worker's budget of large request bodies held at once (aiotrack/http/bodies.py).
BODY_BUDGET = web.AppKey("body_budget", "BodyBudget")
EXTRA = web.AppKey("extra", dict[str, Any])
