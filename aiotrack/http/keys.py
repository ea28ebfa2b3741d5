"""Typed application keys: the app's shared state, set up by create_app's cleanup contexts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from aiotrack.config import Settings

if TYPE_CHECKING:
    from aiotrack.services.artifact_uris import ArtifactLocations
    from aiotrack.services.logged_models import LoggedModelService
    from aiotrack.services.registry import RegistryService
    from aiotrack.services.tracking import TrackingService

SETTINGS = web.AppKey("settings", Settings)
TRACKING: web.AppKey[TrackingService] = web.AppKey("tracking")
# Artifact roots, the repositories behind them (started by app.py's _artifacts_ctx), location checks.
ARTIFACTS: web.AppKey[ArtifactLocations] = web.AppKey("artifacts")
REGISTRY: web.AppKey[RegistryService] = web.AppKey("registry")  # aiotrack.services.registry
LOGGED_MODELS: web.AppKey[LoggedModelService] = web.AppKey("logged_models")  # aiotrack.services.logged_models
# Other areas (artifacts, registry, logged models) add their own keys in their own modules.
EXTRA = web.AppKey("extra", dict[str, Any])
