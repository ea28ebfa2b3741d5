"""Typed application keys: the app's shared state, set up by create_app's cleanup contexts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from aiotrack.config import Settings

if TYPE_CHECKING:
    from aiotrack.services.tracking import TrackingService

SETTINGS = web.AppKey("settings", Settings)
TRACKING = web.AppKey("tracking", "TrackingService")
# Other areas (artifacts, registry, logged models) add their own keys in their own modules.
EXTRA = web.AppKey("extra", dict[str, Any])
