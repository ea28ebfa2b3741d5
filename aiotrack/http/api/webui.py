"""The browser UI: index.html at the root (under the static prefix) and its hashed assets.

The single-page app in webui/ is built into aiotrack/webui_dist/ (during `pip install` or
`python -m build`, see setup.py) with relative asset URLs, so it works under any --static-prefix.
Where the build could not run, `/` (and the start-up banner) say why and how to get the UI. Assets carry a content
hash in their names and are cached for a year; index.html is revalidated on every load.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from aiohttp import web

from aiotrack.http.routing import Routes

routes = Routes()

PACKAGE = Path(__file__).resolve().parent.parent.parent
DIST = PACKAGE / "webui_dist"
ASSETS = DIST / "static-files"
# Written by setup.py when a build leaves no UI: {"reason": ..., "node": "20.19" or null}.
NOT_BUILT_MARKER = "NOT-BUILT.json"


def not_built() -> str | None:
    """None when the UI is installed; else one sentence: why it is missing and how to get it."""
    if (DIST / "index.html").is_file():
        return None
    reason, node = "no build ran in this installation", None
    try:
        recorded = json.loads((DIST / NOT_BUILT_MARKER).read_text())
        reason, node = f"the build said: {recorded['reason']}", recorded.get("node")
    except (OSError, ValueError, KeyError, TypeError):
        node = _node_requirement_of_source_tree()
    needs = f"Node.js >= {node}" if node else "Node.js"
    how = f"reinstall aiotrack with {needs} and npm on PATH, or install the aiotrack wheel, which carries the built UI"
    if (PACKAGE.parent / "webui" / "package.json").is_file():
        how += " (in this source tree: cd webui && npm ci && npm run build)"
    return f"the web UI is not built ({reason}); to get it, {how}."


def _node_requirement_of_source_tree() -> str | None:
    try:
        wanted = json.loads((PACKAGE.parent / "webui" / "package.json").read_text())["engines"]["node"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    found = re.fullmatch(r"\s*>=\s*v?([\d.]+)\s*", str(wanted))
    return found.group(1) if found else None


def _not_built_page(explanation: str) -> str:
    return (
        '<!doctype html><meta charset="utf-8"><title>aiotrack: web UI not built</title>'
        "<h1>aiotrack is running; its web UI is not built in this installation</h1>"
        "<p>The REST API works: point the mlflow client at this server.</p>"
        f"<p>{html.escape(explanation[0].upper() + explanation[1:])}</p>"
    )


@routes.get("/", api=False)
async def index(request: web.Request) -> web.StreamResponse:
    page = DIST / "index.html"
    if not page.is_file():
        explanation = not_built() or "the web UI is not built."
        return web.Response(text=_not_built_page(explanation), content_type="text/html", status=404)
    return web.FileResponse(page, headers={"Cache-Control": "no-cache"})


@routes.get("/static-files/{path:.+}", api=False)
async def asset(request: web.Request) -> web.StreamResponse:
    relative = request.match_info["path"]
    target = (ASSETS / relative).resolve()
    if ASSETS.resolve() not in target.parents or not target.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(target, headers={"Cache-Control": "public, max-age=31536000, immutable"})


def add_prefix_redirect(app: web.Application, prefix: str) -> None:
    """``/prefix`` -> ``/prefix/``: the UI's relative URLs need the trailing slash."""
    if prefix:

        async def redirect(request: web.Request) -> web.StreamResponse:
            raise web.HTTPFound(prefix + "/")

        app.router.add_get(prefix, redirect)
