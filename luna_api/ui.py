"""Serves the built dashboard (``luna_ui/dist``) at ``/`` beside the API, outside its OpenAPI schema.

API routes always win: the dashboard only answers requests no route matched (a routing 404), and
only for browsers (GET/HEAD asking for HTML) or for files that exist in the build. Every other miss
stays the API's JSON 404. The dashboard's own paths (``/prices``, ``/console/...``) are chosen not to
collide with API paths, so a reload of any page lands in the single-page app.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

DEFAULT_DIST = Path(__file__).resolve().parents[1] / "luna_ui" / "dist"
NO_CACHE = {"Cache-Control": "no-cache"}
NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Luna IEMS</title></head>
<body>
<h1>Luna IEMS API is running</h1>
<p>The dashboard has not been built yet. Build it with <code>make ui</code>
(runs <code>npm ci</code> and <code>npm run build</code> in <code>luna_ui/</code>; Node.js 20.19 or newer),
then reload this page.</p>
<p>The API itself is ready: <a href="/docs">/docs</a>.</p></body></html>"""


class HashedAssets(StaticFiles):
    """Vite puts a content hash in every asset name, so they can be cached for good."""

    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _dist_file(dist: Path, url_path: str) -> Path | None:
    """A file of the build named by the URL (favicon.svg...), never anything outside it."""
    relative = url_path.lstrip("/")
    if not relative:
        return None
    root = dist.resolve()
    candidate = (root / relative).resolve()
    if candidate.is_relative_to(root) and candidate.is_file():
        return candidate
    return None


def mount_ui(app: FastAPI, dist: Path | None = None) -> None:
    """Call after every router is included. The build may appear after start-up (`make ui`)."""
    dist = dist or DEFAULT_DIST
    index = dist / "index.html"

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def dashboard() -> Response:
        if index.is_file():
            return FileResponse(index, headers=NO_CACHE)
        return HTMLResponse(NOT_BUILT)

    app.mount("/assets", HashedAssets(directory=dist / "assets", check_dir=False), name="ui-assets")

    api_not_found = app.exception_handlers[StarletteHTTPException]

    async def dashboard_or_not_found(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 404 and request.method in ("GET", "HEAD"):
            found = _dist_file(dist, request.url.path)
            if found is not None:
                return FileResponse(found)
            if _wants_html(request) and index.is_file():
                # A deep link or reload of a dashboard page: the app's router takes it from here.
                return FileResponse(index, headers=NO_CACHE)
        return await api_not_found(request, error)

    app.add_exception_handler(StarletteHTTPException, dashboard_or_not_found)
