"""OAuth2 password flow, refresh-token rotation, logout.

A successful login also sets the device cookie: an HttpOnly, SameSite=Strict cookie, valid for
``device_token_days``, that proves this browser signed in to the account before. It lets the right
password through while strangers have the account locked, and tells a second tab's refresh (same
browser) from a stolen token's."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import Engine

from luna_api.deps import get_engine, get_settings
from luna_api.errors import ApiError
from luna_api.rate_limits import too_many
from luna_api.schemas import Error, RefreshRequest, TokenResponse
from luna_core.auth.login import AuthError, LockedOut, LoginPolicy, Session, login, refresh, revoke
from luna_core.auth.tokens import account_key, issue_access_token, issue_device_token, verify_device_token
from luna_core.settings import Settings

router = APIRouter(prefix="/auth", tags=["auth"])
ERRORS = {401: {"model": Error}, 429: {"model": Error}}
DEVICE_COOKIE = "luna_device"


def _policy(settings: Settings) -> LoginPolicy:
    return LoginPolicy(
        max_failures=settings.login_max_failures,
        lockout=timedelta(minutes=settings.login_lockout_minutes),
        refresh_lifetime=timedelta(days=settings.refresh_token_days),
        max_failures_per_address=settings.login_max_failures_per_address,
        max_failures_per_device=settings.login_max_failures_per_device,
        refresh_reuse=timedelta(seconds=settings.refresh_reuse_seconds),
    )


def _tokens(request: Request, session: Session, settings: Settings) -> TokenResponse:
    return TokenResponse(
        access_token=issue_access_token(session.principal, request.app.state.jwt_key, settings.access_token_minutes),
        expires_in=settings.access_token_minutes * 60,
        refresh_token=session.refresh_token,
    )


def _client_key(request: Request) -> str:
    """Who is refreshing: the browser's device id, or (clients without the cookie) address and user agent."""
    device = verify_device_token(request.cookies.get(DEVICE_COOKIE), request.app.state.jwt_key)
    if device is not None:
        return f"device:{device}"
    seen = f"{request.client.host if request.client else ''}|{request.headers.get('user-agent', '')}"
    return "client:" + hashlib.sha256(seen.encode()).hexdigest()[:32]


def _set_device_cookie(request: Request, response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        DEVICE_COOKIE,
        token,
        max_age=settings.device_token_days * 86400,
        path="/auth",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https" or settings.environment == "prod",
    )


@router.post("/token", response_model=TokenResponse, responses=ERRORS, summary="Log in (username = e-mail)")
async def token(
    request: Request,
    response: Response,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    settings: Annotated[Settings, Depends(get_settings)],
    engine: Annotated[Engine, Depends(get_engine)],
):
    client = request.client.host if request.client else None
    email = form.username.strip().lower()
    limited = await run_in_threadpool(
        request.app.state.rate_limiter.hit, settings.rate_limit_login_account, "login", account_key(email)
    )
    if limited is not None:
        return too_many(limited, "for this e-mail address")
    jwt_key = request.app.state.jwt_key
    known_device = verify_device_token(request.cookies.get(DEVICE_COOKIE), jwt_key, email)
    device_id = known_device or secrets.token_urlsafe(16)
    try:
        session = await run_in_threadpool(
            login,
            engine,
            email,
            form.password,
            _policy(settings),
            client_addr=client,
            device_id=known_device,
            client_key=f"device:{device_id}",
        )
    except LockedOut as error:
        raise ApiError(429, str(error), headers={"Retry-After": str(error.retry_after)}) from None
    except AuthError as error:
        raise ApiError(401, str(error), headers={"WWW-Authenticate": "Bearer"}) from None
    device_token, _ = issue_device_token(email, jwt_key, settings.device_token_days, device_id)
    _set_device_cookie(request, response, settings, device_token)
    return _tokens(request, session, settings)


@router.post("/refresh", response_model=TokenResponse, responses=ERRORS, summary="Exchange a refresh token")
def refresh_tokens(
    request: Request,
    body: RefreshRequest,
    settings: Annotated[Settings, Depends(get_settings)],
    engine: Annotated[Engine, Depends(get_engine)],
) -> TokenResponse:
    try:
        session = refresh(engine, body.refresh_token, _policy(settings), client_key=_client_key(request))
    except AuthError as error:
        raise ApiError(401, str(error), headers={"WWW-Authenticate": "Bearer"}) from None
    return _tokens(request, session, settings)


@router.post("/logout", status_code=204, summary="Revoke a refresh token")
def logout(body: RefreshRequest, engine: Annotated[Engine, Depends(get_engine)]) -> None:
    revoke(engine, body.refresh_token)
