"""Password login with lockout, and refresh-token rotation with reuse detection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, text, update

from luna_core import audit
from luna_core.auth.passwords import hash_password, needs_rehash, verify_password
from luna_core.auth.tokens import Principal, hash_refresh_token, new_refresh_token
from luna_core.db.schema import refresh_tokens, tenants, users
from luna_core.db.tenancy import InvalidTenantId, tenant_scope, validate_tenant_id


class AuthError(Exception):
    """401: the message is safe to show and never says whether the account exists."""


class LockedOut(Exception):
    """429: too many failed attempts."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {max(1, retry_after // 60)} minute(s)")
        self.retry_after = retry_after


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    refresh_lifetime: timedelta = timedelta(days=14)


@dataclass(frozen=True)
class Session:
    principal: Principal
    refresh_token: str


def login(engine: Engine, email: str, password: str, policy: LoginPolicy, client_addr: str | None = None) -> Session:
    now = datetime.now(UTC)
    with engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM luna_login_lookup(:email)"), {"email": email}).first()
    if row is None:
        verify_password(password, None)  # same work as for a real account
        raise AuthError("incorrect e-mail or password")
    if row.locked_until and row.locked_until > now:
        raise LockedOut(int((row.locked_until - now).total_seconds()))
    valid = verify_password(password, row.password_hash)
    with tenant_scope(engine, row.tenant_id) as connection:
        if not valid:
            failures = row.failed_logins + 1
            locked = failures >= policy.max_failures
            connection.execute(
                update(users)
                .where(users.c.id == row.id)
                .values(failed_logins=0 if locked else failures, locked_until=now + policy.lockout if locked else None)
            )
            audit.record(
                connection,
                tenant_id=row.tenant_id,
                actor=row.email,
                action="login",
                outcome="failed",
                client_addr=client_addr,
                detail={"locked": locked},
            )
        elif not row.is_active or row.tenant_status != "active":
            audit.record(
                connection,
                tenant_id=row.tenant_id,
                actor=row.email,
                action="login",
                outcome="disabled",
                client_addr=client_addr,
            )
        else:
            values = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
            if needs_rehash(row.password_hash):
                values["password_hash"] = hash_password(password)
            connection.execute(update(users).where(users.c.id == row.id).values(**values))
            audit.record(connection, tenant_id=row.tenant_id, actor=row.email, action="login", client_addr=client_addr)
            refresh = _store_refresh_token(connection, row.tenant_id, row.id, now + policy.refresh_lifetime)
            principal = Principal(str(row.id), row.tenant_id, row.role, row.is_platform_admin, row.email)
            return Session(principal, refresh)
    if not valid:
        raise AuthError("incorrect e-mail or password")
    raise AuthError("account is disabled")


def refresh(engine: Engine, token: str, policy: LoginPolicy) -> Session:
    """Exchanges a refresh token for a new one (the old one is spent). A spent token used
    again means it was copied: every session of that user is ended."""
    now = datetime.now(UTC)
    tenant_id = token.split(".", 1)[0]
    try:
        validate_tenant_id(tenant_id)
    except InvalidTenantId as error:
        raise AuthError("refresh token is invalid") from error
    with tenant_scope(engine, tenant_id) as connection:
        stored = connection.execute(
            select(refresh_tokens).where(refresh_tokens.c.token_hash == hash_refresh_token(token)).with_for_update()
        ).first()
        if stored is None or stored.expires_at <= now:
            raise AuthError("refresh token is invalid or expired")
        if stored.revoked_at is not None:
            connection.execute(
                update(refresh_tokens)
                .where(refresh_tokens.c.user_id == stored.user_id, refresh_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            audit.record(
                connection,
                tenant_id=tenant_id,
                actor=audit.actor(
                    connection.execute(select(users.c.email).where(users.c.id == stored.user_id)).scalar(),
                    str(stored.user_id),
                ),
                action="refresh",
                outcome="reused-token-revoked-all",
            )
            reuse = True
        else:
            reuse = False
            user = connection.execute(
                select(users, tenants.c.status.label("tenant_status"))
                .join(tenants, tenants.c.id == users.c.tenant_id)
                .where(users.c.id == stored.user_id)
            ).one()
            if not user.is_active or user.tenant_status != "active":
                raise AuthError("account is disabled")
            connection.execute(update(refresh_tokens).where(refresh_tokens.c.id == stored.id).values(revoked_at=now))
            new_token = _store_refresh_token(connection, tenant_id, user.id, now + policy.refresh_lifetime)
            principal = Principal(str(user.id), tenant_id, user.role, user.is_platform_admin, user.email)
    if reuse:
        raise AuthError("refresh token was already used; all sessions of this account have been ended")
    return Session(principal, new_token)


def revoke(engine: Engine, token: str) -> None:
    tenant_id = token.split(".", 1)[0]
    try:
        validate_tenant_id(tenant_id)
    except InvalidTenantId:
        return
    with tenant_scope(engine, tenant_id) as connection:
        connection.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.token_hash == hash_refresh_token(token), refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )


def _store_refresh_token(connection, tenant_id: str, user_id: int, expires_at: datetime) -> str:
    token, token_hash = new_refresh_token(tenant_id)
    connection.execute(
        refresh_tokens.insert().values(
            tenant_id=tenant_id, user_id=user_id, token_hash=token_hash, expires_at=expires_at
        )
    )
    return token
