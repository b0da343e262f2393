"""The Luna IEMS API: routers per domain, auth and the tenant connection as dependencies.

Run: ``uvicorn luna_api.main:app`` (``make demo`` does). Never imports Dagster: actions that
need a pipeline run are written to the ``requests`` outbox and a sensor turns them into runs.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI

from luna_api import errors, metrics
from luna_api.body_limit import BodyLimitMiddleware
from luna_api.deps import bind_audit_origin
from luna_api.docs import mount_docs
from luna_api.observability import ObservabilityMiddleware, bind_route, configure_logging
from luna_api.rate_limits import RateLimitMiddleware, doors
from luna_api.routers import (
    admin,
    auth,
    documents,
    energy,
    health,
    ingest,
    luna,
    market,
    models,
    playbook,
    search,
    tariffs,
    tenants,
    users,
)
from luna_api.schemas import Error
from luna_api.security_headers import SecurityHeadersMiddleware
from luna_api.ui import mount_ui
from luna_core import __version__
from luna_core.db.engine import app_engine
from luna_core.i18n import catalogue_for
from luna_core.luna import Retriever
from luna_core.luna.llm import OllamaChat
from luna_core.luna.retrieval import KnowledgeRetriever
from luna_core.ratelimit import RateLimiter
from luna_core.settings import Settings, get_settings

# Documented on every authenticated route, so clients (and schema checks) know the error shape.
COMMON_ERRORS: dict[int | str, dict] = {
    status: {"model": Error, "description": description}
    for status, description in (
        (400, "the request body cannot be read (not valid JSON, form data or UTF-8)"),
        (401, "missing, expired or invalid token"),
        (403, "the role does not allow this"),
        (404, "not found (also for another tenant's objects)"),
        (409, "conflict with the current state"),
        (413, "request body too large"),
        (422, "invalid input: the detail names the field and why"),
        (429, "too many attempts"),
        (500, "unexpected error; the body carries the request id"),
        (503, "the database is unavailable right now; retry after the Retry-After seconds"),
    )
}


def create_app(settings: Settings | None = None, retriever: Retriever | None = None) -> FastAPI:
    """``retriever``: Luna's document search (a ``luna_core.luna.Retriever``); by default the
    knowledge package's hybrid search over the tenant's documents."""
    settings = settings or get_settings()
    configure_logging("WARNING" if settings.environment == "test" else "INFO")
    app = FastAPI(
        title="Luna IEMS API",
        version=__version__,
        description="Energy data of one tenant at a time: the tenant comes from the access token only. "
        "Errors are JSON {error, detail}.",
        dependencies=[Depends(bind_route), Depends(bind_audit_origin)],
        docs_url=None,  # luna_api.docs serves Swagger UI from local assets, under the CSP
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.catalogue = catalogue_for(settings)  # the texts the server writes, per reader's language
    app.state.jwt_key = settings.jwt_key()  # once: outside prod it is read from a file
    app.state.engine = app_engine(settings)
    app.state.oidc = _oidc(settings)
    app.state.retriever = retriever or KnowledgeRetriever(app.state.engine, settings)
    app.state.chat = (
        OllamaChat(settings.ollama_url, settings.chat_model, settings.chat_timeout_seconds)
        if settings.ollama_url
        else None
    )
    metrics.install(app.state.engine, settings)
    app.state.rate_limiter = RateLimiter(settings.redis_url, settings.redis_key_prefix)
    # Uploads may be larger than other requests (plus room for the multipart envelope).
    upload_limit = max(settings.max_request_bytes, int(settings.max_upload_mb * 1024 * 1024) + 65536)
    # Outermost last: headers on every answer (429 and 413 too), then request ids and metrics, then the
    # rate limits (before any body is read), then the body limit counting bytes as they arrive.
    app.add_middleware(
        BodyLimitMiddleware, max_body_bytes=settings.max_request_bytes, path_limits={"/ingest/doc": upload_limit}
    )
    app.add_middleware(RateLimitMiddleware, limiter=app.state.rate_limiter, doors=doors(settings))
    app.add_middleware(ObservabilityMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    errors.install(app)
    for router in (
        auth,
        tenants,
        users,
        energy,
        market,
        ingest,
        documents,
        search,
        models,
        playbook,
        tariffs,
        admin,
        luna,
    ):
        app.include_router(router.router, responses=COMMON_ERRORS)
    app.include_router(health.router)
    mount_docs(app)
    mount_ui(app, settings.ui_dist_dir)  # last: API routes keep priority
    return app


def _oidc(settings: Settings):
    if not settings.oidc_issuer:
        return None
    from luna_core.auth.oidc import OidcVerifier, oidc_config_from_settings

    return OidcVerifier(oidc_config_from_settings(settings))


def __getattr__(name: str):
    # `uvicorn luna_api.main:app` builds the app from the environment on first access only,
    # so importing this module (tests, tools) has no side effects.
    if name == "app":
        return create_app()
    raise AttributeError(name)
