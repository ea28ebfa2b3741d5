"""The browser UI: index.html at the root (under the static prefix) and its hashed assets.

The single-page app in webui/ is built into aiotrack/webui_dist/ (during `pip install`, see
setup.py) with relative asset URLs, so it works under any --static-prefix. Assets carry a content
hash in their names and are cached for a year; index.html is revalidated on every load.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from aiotrack.http.routing import Routes

routes = Routes()

DIST = Path(__file__).resolve().parent.parent.parent / "webui_dist"
ASSETS = DIST / "static-files"

NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>aiotrack</title>
<h1>aiotrack is running; its web UI is not built in this installation</h1>
<p>The REST API works. To build the UI: <code>cd webui &amp;&amp; npm ci &amp;&amp; npm run build</code>
(or reinstall aiotrack on a machine with Node.js and npm).</p>"""


@routes.get("/", api=False)
async def index(request: web.Request) -> web.StreamResponse:
    page = DIST / "index.html"
    if not page.is_file():
        return web.Response(text=NOT_BUILT, content_type="text/html", status=404)
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
