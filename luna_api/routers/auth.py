"""OAuth2 password flow, refresh-token rotation, logout."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import Engine

from luna_api.deps import get_engine, get_settings
from luna_api.errors import ApiError
from luna_api.schemas import Error, RefreshRequest, TokenResponse
from luna_core.auth.login import AuthError, LockedOut, LoginPolicy, Session, login, refresh, revoke
from luna_core.auth.tokens import issue_access_token
from luna_core.settings import Settings

router = APIRouter(prefix="/auth", tags=["auth"])
ERRORS = {401: {"model": Error}, 429: {"model": Error}}


def _policy(settings: Settings) -> LoginPolicy:
    return LoginPolicy(
        max_failures=settings.login_max_failures,
        lockout=timedelta(minutes=settings.login_lockout_minutes),
        refresh_lifetime=timedelta(days=settings.refresh_token_days),
    )


def _tokens(request: Request, session: Session, settings: Settings) -> TokenResponse:
    return TokenResponse(
        access_token=issue_access_token(session.principal, request.app.state.jwt_key, settings.access_token_minutes),
        expires_in=settings.access_token_minutes * 60,
        refresh_token=session.refresh_token,
    )


@router.post("/token", response_model=TokenResponse, responses=ERRORS, summary="Log in (username = e-mail)")
def token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    settings: Annotated[Settings, Depends(get_settings)],
    engine: Annotated[Engine, Depends(get_engine)],
) -> TokenResponse:
    client = request.client.host if request.client else None
    try:
        session = login(engine, form.username, form.password, _policy(settings), client_addr=client)
    except LockedOut as error:
        raise ApiError(429, str(error), headers={"Retry-After": str(error.retry_after)}) from None
    except AuthError as error:
        raise ApiError(401, str(error), headers={"WWW-Authenticate": "Bearer"}) from None
    return _tokens(request, session, settings)


@router.post("/refresh", response_model=TokenResponse, responses=ERRORS, summary="Exchange a refresh token")
def refresh_tokens(
    request: Request,
    body: RefreshRequest,
    settings: Annotated[Settings, Depends(get_settings)],
    engine: Annotated[Engine, Depends(get_engine)],
) -> TokenResponse:
    try:
        session = refresh(engine, body.refresh_token, _policy(settings))
    except AuthError as error:
        raise ApiError(401, str(error), headers={"WWW-Authenticate": "Bearer"}) from None
    return _tokens(request, session, settings)


@router.post("/logout", status_code=204, summary="Revoke a refresh token")
def logout(body: RefreshRequest, engine: Annotated[Engine, Depends(get_engine)]) -> None:
    revoke(engine, body.refresh_token)
