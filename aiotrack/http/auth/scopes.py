"""What a search handler asks of auth: the caller's read scope, pushed down into the SQL so that
pages are cut after filtering. Without --app-name basic-auth there is no caller and no scope."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from aiotrack.entities import ReadScope
from aiotrack.http import keys
from aiotrack.http.auth.middleware import principal_of


async def read_scope(request: web.Request, resource_type: str) -> ReadScope | None:
    principal = principal_of(request)
    if principal is None:
        return None
    scope = await request.app[keys.AUTH].read_scope(principal, resource_type)
    return None if scope.everything else scope


async def readable_experiments(request: web.Request, experiment_ids: Sequence[str]) -> list[str]:
    """The listed experiments the caller may read (all of them without auth)."""
    principal = principal_of(request)
    if principal is None:
        return list(experiment_ids)
    return await request.app[keys.AUTH].readable_experiments(principal, experiment_ids)
