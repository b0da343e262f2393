"""Users of the caller's tenant: admins manage them, customers see themselves."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from luna_api.deps import AdminCtx, Ctx, get_engine, get_settings
from luna_api.errors import ApiError, not_found
from luna_api.schemas import (
    Error,
    InvitationAccept,
    InvitationOut,
    Limit,
    Offset,
    Page,
    UserId,
    UserInvite,
    UserOut,
    page,
)
from luna_core import invitations, mail, users
from luna_core.settings import Settings

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me", response_model=UserOut)
def me(ctx: Ctx) -> UserOut:
    found = users.get_user(ctx.db, ctx.tenant_id, _user_id(ctx.principal.subject))
    if found is None:
        raise not_found("user")
    ctx.audit("user.read", target=f"user/{found.id}")
    return UserOut.model_validate(found)


@router.get("", response_model=Page[UserOut])
def list_users(
    ctx: AdminCtx,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[UserOut]:
    found, total = users.list_users(ctx.db, ctx.tenant_id, limit, offset)
    ctx.audit("user.list", detail_count=len(found))
    return page([UserOut.model_validate(u) for u in found], limit, offset, total=total)


@router.post("", response_model=InvitationOut, status_code=202, responses={409: {"model": Error}})
def invite(body: UserInvite, ctx: AdminCtx, settings: Annotated[Settings, Depends(get_settings)]) -> InvitationOut:
    """Invites an address: it receives a link to choose a password. The answer is the same
    whether or not the address has an account in another tenant (only its owner is told);
    409 only when it already has an account in this tenant."""
    invitation, message = invitations.invite(
        ctx.db,
        ctx.tenant_id,
        body.email,
        body.role,
        invited_by=ctx.actor,
        public_url=settings.public_url,
        lifetime=timedelta(days=settings.invitation_days),
    )
    ctx.audit("user.invite", target=f"invitation/{invitation.id}", role=body.role)
    ctx.close()  # the invitation is stored before its e-mail goes out
    try:
        mail.send(settings, message.to, message.subject, message.body)
    except (OSError, smtplib.SMTPException):
        raise ApiError(
            503, "the mail server is unavailable: the invitation is kept, invite again to resend it", code="unavailable"
        ) from None
    return InvitationOut.model_validate(invitation)


@router.get("/invitations", response_model=Page[InvitationOut])
def list_invitations(ctx: AdminCtx, limit: Limit = 100, offset: Offset = 0) -> Page[InvitationOut]:
    found, total = invitations.list_invitations(ctx.db, ctx.tenant_id, limit, offset)
    ctx.audit("user.invitation.list", returned=len(found))
    return page([InvitationOut.model_validate(i) for i in found], limit, offset, total=total)


@router.post(
    "/invitations/accept",
    response_model=UserOut,
    status_code=201,
    responses={400: {"model": Error}, 409: {"model": Error}, 422: {"model": Error}},
    summary="Accept an invitation (no login: the token from the e-mail is the proof)",
)
async def accept_invitation(body: InvitationAccept, engine: Annotated[Engine, Depends(get_engine)]) -> UserOut:
    try:
        user = await run_in_threadpool(invitations.accept, engine, body.token, body.password)
    except invitations.InvitationInvalid as error:
        raise ApiError(400, str(error)) from None
    return UserOut.model_validate(user)


@router.get("/{user_id}", response_model=UserOut, responses={404: {"model": Error}})
def get_one(user_id: UserId, ctx: Ctx) -> UserOut:
    if not ctx.principal.is_admin and str(user_id) != ctx.principal.subject:
        raise not_found("user")
    found = users.get_user(ctx.db, ctx.tenant_id, user_id)
    if found is None:
        raise not_found("user")
    ctx.audit("user.read", target=f"user/{user_id}")
    return UserOut.model_validate(found)


@router.post("/{user_id}/disable", response_model=UserOut, responses={404: {"model": Error}})
def disable(user_id: UserId, ctx: AdminCtx) -> UserOut:
    if str(user_id) == ctx.principal.subject:
        raise ApiError(409, "you cannot disable your own account")
    found = users.set_active(ctx.db, ctx.tenant_id, user_id, False)
    if found is None:
        raise not_found("user")
    ctx.audit("user.disable", target=f"user/{user_id}")
    return UserOut.model_validate(found)


def _user_id(subject: str) -> int:
    if not subject.isdigit():
        raise ApiError(404, "this identity has no local user record (signed in through OpenID Connect)")
    return int(subject)
