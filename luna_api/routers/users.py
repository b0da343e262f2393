"""Users of the caller's tenant: admins manage them, customers see themselves."""

from __future__ import annotations

from fastapi import APIRouter

from luna_api.deps import AdminCtx, Ctx
from luna_api.errors import ApiError, not_found
from luna_api.schemas import Error, Limit, Offset, Page, UserId, UserIn, UserOut, page
from luna_core import users

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


@router.post("", response_model=UserOut, status_code=201, responses={409: {"model": Error}})
def create(body: UserIn, ctx: AdminCtx) -> UserOut:
    created = users.create_user(ctx.db, ctx.tenant_id, body.email, body.password, body.role)
    ctx.audit("user.create", target=f"user/{created.id}", role=body.role)
    return UserOut.model_validate(created)


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
