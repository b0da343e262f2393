"""Swagger UI at /docs from assets served by the API itself (the ``fastapi-offline`` package ships them),
so it works without internet and under the strict Content-Security-Policy: FastAPI's stock page loads
its scripts from a CDN and starts them with an inline script, which the policy forbids. Here the start-up
code is a script file of its own. ReDoc is not offered (one documentation page is enough)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from luna_api.security_headers import CONTENT_SECURITY_POLICY

ASSETS = Path(fastapi_offline.__file__).parent / "static"
DOCS_URL = "/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - API documentation</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" href="/favicon.svg">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/start.js"></script>
</body>
</html>
"""

START = """window.ui = SwaggerUIBundle(Object.assign({config}, {{
  oauth2RedirectUrl: window.location.origin + {redirect},
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
}}));
"""


def mount_docs(app: FastAPI) -> None:
    """Create the app with ``docs_url=None, redoc_url=None`` and call this."""
    page = PAGE.format(title=app.title)
    config = {
        "url": app.openapi_url,
        "dom_id": "#swagger-ui",
        "layout": "BaseLayout",
        "deepLinking": True,
        "validatorUrl": None,  # no calls to validator.swagger.io
        "persistAuthorization": False,  # tokens typed into "Authorize" stay out of localStorage
    }
    start = START.format(config=json.dumps(config), redirect=json.dumps(OAUTH2_REDIRECT_URL))
    redirect = get_swagger_ui_oauth2_redirect_html()
    # FastAPI's redirect page is one inline script: allowed by its hash, nothing else inline.
    script = re.search(rb"<script>(.*?)</script>", redirect.body, re.S)
    assert script is not None, "FastAPI's OAuth2 redirect page changed shape"
    digest = base64.b64encode(hashlib.sha256(script.group(1)).digest()).decode()
    redirect_policy = CONTENT_SECURITY_POLICY.replace("script-src 'self'", f"script-src 'sha256-{digest}'")

    app.mount("/docs/assets", StaticFiles(directory=ASSETS), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/docs/start.js", include_in_schema=False)
    def swagger_start() -> Response:
        return Response(start, media_type="text/javascript")

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    def swagger_redirect() -> HTMLResponse:
        return HTMLResponse(redirect.body, headers={"Content-Security-Policy": redirect_policy})
