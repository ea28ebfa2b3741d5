"""A stand-in static front for the browser tests, used ONLY while `aiotrack server` does not serve
the web UI itself: serves aiotrack/webui_dist at <prefix>/ and <prefix>/static-files/, and
forwards every other request to the real aiotrack server (same path). Not part of the product.

    python tests/ui/front.py --dist aiotrack/webui_dist --upstream http://127.0.0.1:5000 --port 8080 [--prefix /p]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import aiohttp
from aiohttp import web

HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length", "host"}


def make_app(dist: Path, upstream: str, prefix: str) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    session: dict = {}

    async def on_startup(_app):
        session["s"] = aiohttp.ClientSession(auto_decompress=False)

    async def on_cleanup(_app):
        await session["s"].close()

    async def index(_req):
        return web.FileResponse(dist / "index.html", headers={"Cache-Control": "no-cache"})

    async def static(req):
        path = (dist / "static-files" / req.match_info["path"]).resolve()
        if not str(path).startswith(str((dist / "static-files").resolve())) or not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Cache-Control": "public, max-age=31536000, immutable"})

    async def proxy(req: web.Request):
        headers = {k: v for k, v in req.headers.items() if k.lower() not in HOP}
        async with session["s"].request(req.method, upstream + req.rel_url.raw_path_qs, headers=headers,
                                        data=await req.read(), allow_redirects=False) as r:
            body = await r.read()
            out = {k: v for k, v in r.headers.items() if k.lower() not in HOP}
            if r.headers.get("Content-Encoding"):
                out["Content-Encoding"] = r.headers["Content-Encoding"]
            return web.Response(status=r.status, body=body, headers=out)

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    app.router.add_get(prefix + "/", index)
    if prefix:
        app.router.add_get(prefix, lambda r: web.HTTPFound(prefix + "/"))
    app.router.add_get(prefix + "/static-files/{path:.+}", static)
    app.router.add_route("*", "/{tail:.*}", proxy)
    return app


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--dist", required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--prefix", default="")
    a = ap.parse_args()
    web.run_app(make_app(Path(a.dist), a.upstream.rstrip("/"), a.prefix.rstrip("/")), host="127.0.0.1", port=a.port,
                print=None, access_log=None)
