"""Invitations: how a tenant admin adds a person without learning anything about other tenants.

E-mail addresses are unique across the platform (they are the login). If an admin could create
an account with a password of their choosing, the answer (409, or a login that fails with that
password) would tell them whether the address already has an account in another tenant. So an
admin invites an address and a role; the answer is the same in every case, and only the owner of
the address learns the rest: a fresh address gets a one-time link to choose a password, an
address that already has an account gets a note saying so (and an invitation that can never be
accepted). A conflict that arises later (the address took an account in the meantime) is shown
to the person accepting, who owns the address, never to the admin.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, select, text, update

from luna_core import audit
from luna_core.db.schema import ROLES, user_invitations, users
from luna_core.db.tenancy import InvalidTenantId, tenant_scope, validate_tenant_id
from luna_core.tenants import get_tenant
from luna_core.users import User, UserError, UserExists, create_user


class InvitationInvalid(ValueError):
    """The token is unknown, used or expired (one message for all: safe to show)."""


@dataclass(frozen=True)
class Invitation:
    id: int
    tenant_id: str
    email: str
    role: str
    status: str  # pending | accepted | expired
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _status(row, now: datetime) -> str:
    if row.accepted_at is not None:
        return "accepted"
    return "expired" if row.expires_at <= now else "pending"


def _invitation(row, now: datetime) -> Invitation:
    return Invitation(row.id, row.tenant_id, row.email, row.role, _status(row, now), row.created_at, row.expires_at)


def _has_account_anywhere(connection: Connection, email: str) -> bool:
    # The one narrow cross-tenant lookup (SECURITY DEFINER, exact address only); its answer never leaves here.
    return connection.execute(text("SELECT 1 FROM luna_login_lookup(:email)"), {"email": email}).first() is not None


def invite(
    connection: Connection,
    tenant_id: str,
    email: str,
    role: str,
    *,
    invited_by: str,
    public_url: str,
    lifetime: timedelta,
    now: datetime | None = None,
) -> tuple[Invitation, Mail]:
    """Run inside ``tenant_scope``. Returns the invitation (the same whether or not the address
    has an account elsewhere) and the e-mail to send to the address."""
    now = now or datetime.now(UTC)
    email = email.strip().lower()
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if "@" not in email or len(email) > 254:
        raise UserError("email is not a valid address")
    mine = connection.execute(
        select(users.c.id).where(users.c.tenant_id == tenant_id, func.lower(users.c.email) == email)
    ).first()
    if mine is not None:
        # The admin can list their own users: saying so reveals nothing about other tenants.
        raise UserExists(f"{email} already has an account in this tenant")
    # A new invitation replaces an open one for the same address.
    connection.execute(
        delete(user_invitations).where(
            user_invitations.c.tenant_id == tenant_id,
            user_invitations.c.email == email,
            user_invitations.c.accepted_at.is_(None),
        )
    )
    elsewhere = _has_account_anywhere(connection, email)
    token = None if elsewhere else f"{tenant_id}.{secrets.token_urlsafe(32)}"
    row = connection.execute(
        user_invitations.insert()
        .values(
            tenant_id=tenant_id,
            email=email,
            role=role,
            token_hash=_hash(token) if token else None,
            invited_by=invited_by,
            expires_at=now + lifetime,
        )
        .returning(*user_invitations.c)
    ).one()
    tenant_name = get_tenant(connection, tenant_id).name
    return _invitation(row, now), _mail(email, tenant_name, token, public_url, row.expires_at)


def _mail(email: str, tenant_name: str, token: str | None, public_url: str, expires_at: datetime) -> Mail:
    subject = f"Luna IEMS: Einladung / invitation ({tenant_name})"
    until = expires_at.strftime("%Y-%m-%d %H:%M UTC")
    if token:
        link = f"{public_url.rstrip('/')}/invite#{token}"
        body = (
            f"Sie wurden zu {tenant_name} in Luna IEMS eingeladen. Wählen Sie Ihr Passwort bis {until}:\n{link}\n\n"
            f"You have been invited to {tenant_name} on Luna IEMS. Choose your password by {until}:\n{link}\n"
        )
    else:
        body = (
            f"Sie wurden zu {tenant_name} in Luna IEMS eingeladen. Ihre Adresse hat aber schon ein Konto, und "
            "jede Adresse gehört zu genau einer Organisation. Bitte antworten Sie der einladenden Person mit "
            "einer anderen Adresse, oder melden Sie sich mit Ihrem bestehenden Konto an.\n\n"
            f"You have been invited to {tenant_name} on Luna IEMS, but your address already has an account, and "
            "each address belongs to exactly one organisation. Please give the person who invited you another "
            "address, or sign in with your existing account.\n"
        )
    return Mail(email, subject, body)


def list_invitations(
    connection: Connection, tenant_id: str, limit: int, offset: int, now: datetime | None = None
) -> tuple[list[Invitation], int]:
    now = now or datetime.now(UTC)
    where = user_invitations.c.tenant_id == tenant_id
    total = connection.execute(select(func.count()).select_from(user_invitations).where(where)).scalar_one()
    rows = connection.execute(
        select(user_invitations).where(where).order_by(user_invitations.c.id.desc()).limit(limit).offset(offset)
    )
    return [_invitation(row, now) for row in rows], total


def accept(engine: Engine, token: str, password: str, now: datetime | None = None) -> User:
    """Creates the invited account with the password its owner chose. ``UserExists`` (409) goes
    to the person accepting, who owns the address."""
    now = now or datetime.now(UTC)
    tenant_id = token.split(".", 1)[0]
    try:
        validate_tenant_id(tenant_id)
    except InvalidTenantId:
        raise InvitationInvalid("the invitation is invalid, used or expired") from None
    with tenant_scope(engine, tenant_id) as connection:
        row = connection.execute(
            select(user_invitations).where(user_invitations.c.token_hash == _hash(token)).with_for_update()
        ).first()
        if row is None or _status(row, now) != "pending":
            raise InvitationInvalid("the invitation is invalid, used or expired")
        user = create_user(connection, tenant_id, row.email, password, row.role)
        connection.execute(update(user_invitations).where(user_invitations.c.id == row.id).values(accepted_at=now))
        audit.record(
            connection,
            tenant_id=tenant_id,
            actor=audit.actor(user.email, str(user.id)),
            action="user.invitation.accept",
            target=f"user/{user.id}",
            detail={"invitation": row.id, "role": row.role},
        )
    return user
