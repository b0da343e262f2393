"""Password login with a lockout that cannot be turned against a user, and refresh-token rotation with
reuse detection that tolerates the same client racing itself (OAuth 2.0 Security BCP, section 4.14)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, exists, select, text, update

from luna_core import audit
from luna_core.auth import lockout
from luna_core.auth.passwords import hash_password, needs_rehash, verify_password
from luna_core.auth.tokens import Principal, hash_refresh_token, new_refresh_token
from luna_core.db.schema import refresh_tokens, tenants, users
from luna_core.db.tenancy import InvalidTenantId, tenant_scope, validate_tenant_id


class AuthError(Exception):
    """401: the message is safe to show and never says whether the account exists."""


class LockedOut(Exception):
    """429: too many failed attempts for this e-mail or from this address (the same answer for every e-mail)."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, -(-retry_after // 60))
        super().__init__(
            f"too many failed sign-ins; try again in {minutes} minute(s), or sign in on a device you used before"
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    refresh_lifetime: timedelta = timedelta(days=14)
    max_failures_per_address: int = 20
    max_failures_per_device: int = 10
    refresh_reuse: timedelta = timedelta(seconds=30)

    @property
    def lockout_policy(self) -> lockout.LockoutPolicy:
        return lockout.LockoutPolicy(
            self.lockout, self.max_failures, self.max_failures_per_address, self.max_failures_per_device
        )


@dataclass(frozen=True)
class Session:
    principal: Principal
    refresh_token: str
    family_id: uuid.UUID | None = field(default=None, compare=False)


def login(
    engine: Engine,
    email: str,
    password: str,
    policy: LoginPolicy,
    client_addr: str | None = None,
    device_id: str | None = None,
    client_key: str | None = None,
    now: datetime | None = None,
) -> Session:
    """``device_id``: from a valid device token of this account (a browser that signed in before), or None.
    ``client_key``: names the client the refresh token is issued to (default: ``device_id``)."""
    now = now or datetime.now(UTC)
    email = email.strip().lower()
    reservation = _reserve(engine, policy, email, client_addr, device_id, now)
    with engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM luna_login_lookup(:email)"), {"email": email}).first()
    if row is None:
        verify_password(password, None)  # same work as for a real account
        raise AuthError("incorrect e-mail or password")  # the reservation stays: a failure like any other
    valid = verify_password(password, row.password_hash)
    if valid:
        lockout.release(engine, reservation)
    with tenant_scope(engine, row.tenant_id) as connection:
        if not valid:
            audit.record(
                connection,
                tenant_id=row.tenant_id,
                actor=row.email,
                action="login",
                outcome="failed",
                client_addr=client_addr,
                detail={"known_device": device_id is not None},
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
            # users.failed_logins/locked_until (0002) are no longer used: the counts live in login_failures.
            values: dict = {"last_login_at": now}
            if needs_rehash(row.password_hash):
                values["password_hash"] = hash_password(password)
            connection.execute(update(users).where(users.c.id == row.id).values(**values))
            audit.record(connection, tenant_id=row.tenant_id, actor=row.email, action="login", client_addr=client_addr)
            family = uuid.uuid4()
            refresh = _store_refresh_token(
                connection, row.tenant_id, row.id, now + policy.refresh_lifetime, family, client_key or device_id
            )
            principal = Principal(str(row.id), row.tenant_id, row.role, row.is_platform_admin, row.email)
            return Session(principal, refresh, family)
    if not valid:
        raise AuthError("incorrect e-mail or password")
    raise AuthError("account is disabled")


def _reserve(
    engine: Engine, policy: LoginPolicy, email: str, client_addr: str | None, device_id: str | None, now: datetime
) -> lockout.Reservation:
    limits = policy.lockout_policy
    if device_id is not None:
        try:
            return lockout.reserve(
                engine, {lockout.key("device", device_id): limits.max_per_device}, limits.window, now
            )
        except lockout.Throttled:
            pass  # a device that failed too often is judged like any other client
    keys = {lockout.key("account", email): limits.max_per_account}
    if client_addr:
        keys[lockout.key("address", client_addr)] = limits.max_per_address
    try:
        return lockout.reserve(engine, keys, limits.window, now)
    except lockout.Throttled as error:
        raise LockedOut(error.retry_after) from None


def refresh(
    engine: Engine, token: str, policy: LoginPolicy, client_key: str | None = None, now: datetime | None = None
) -> Session:
    """Exchanges a refresh token for a new one (the old one is spent). A spent token used again means it
    was copied, and every session of that user is ended, except within ``policy.refresh_reuse`` of its
    rotation by the client that rotated it (two tabs refreshing at once): that client gets a further
    token of the same family."""
    now = now or datetime.now(UTC)
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
        if stored.revoked_reason == "logout":
            raise AuthError("refresh token is invalid or expired")
        if stored.revoked_reason == "reuse":  # ended with the rest of the user's sessions: raised once already
            raise AuthError("this session was ended because a refresh token was used twice; please sign in again")
        reuse = stored.revoked_at is not None and not _same_client_race(connection, stored, client_key, policy, now)
        if reuse:
            _revoke_all(connection, tenant_id, stored.user_id, now)
        else:
            user = connection.execute(
                select(users, tenants.c.status.label("tenant_status"))
                .join(tenants, tenants.c.id == users.c.tenant_id)
                .where(users.c.id == stored.user_id)
            ).one()
            if not user.is_active or user.tenant_status != "active":
                raise AuthError("account is disabled")
            expires = now + policy.refresh_lifetime
            new_token = _store_refresh_token(connection, tenant_id, user.id, expires, stored.family_id, client_key)
            if stored.revoked_at is None:
                successor = connection.execute(
                    select(refresh_tokens.c.id).where(refresh_tokens.c.token_hash == hash_refresh_token(new_token))
                ).scalar_one()
                connection.execute(
                    update(refresh_tokens)
                    .where(refresh_tokens.c.id == stored.id)
                    .values(revoked_at=now, revoked_reason="rotated", replaced_by=successor)
                )
            principal = Principal(str(user.id), tenant_id, user.role, user.is_platform_admin, user.email)
    if reuse:
        raise AuthError("refresh token was already used; all sessions of this account have been ended")
    return Session(principal, new_token, stored.family_id)


def _same_client_race(connection: Connection, stored, client_key: str | None, policy: LoginPolicy, now) -> bool:
    """A rotated token used again shortly after by the client the rotation answered, while its family lives."""
    if stored.revoked_reason != "rotated" or stored.replaced_by is None or client_key is None:
        return False
    if now - stored.revoked_at > policy.refresh_reuse:
        return False
    successor_client = connection.execute(
        select(refresh_tokens.c.client_key).where(refresh_tokens.c.id == stored.replaced_by)
    ).scalar_one_or_none()
    family_alive = connection.execute(
        select(exists().where(refresh_tokens.c.family_id == stored.family_id, refresh_tokens.c.revoked_at.is_(None)))
    ).scalar_one()
    return successor_client == client_key and family_alive


def _revoke_all(connection: Connection, tenant_id: str, user_id: int, now: datetime) -> None:
    connection.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason="reuse")
    )
    audit.record(
        connection,
        tenant_id=tenant_id,
        actor=f"user:{user_id}",
        action="refresh",
        outcome="reused-token-revoked-all",
    )


def revoke(engine: Engine, token: str) -> None:
    """Logout: the token's whole family ends (tokens a same-client race handed out included)."""
    tenant_id = token.split(".", 1)[0]
    try:
        validate_tenant_id(tenant_id)
    except InvalidTenantId:
        return
    with tenant_scope(engine, tenant_id) as connection:
        family = connection.execute(
            select(refresh_tokens.c.family_id).where(refresh_tokens.c.token_hash == hash_refresh_token(token))
        ).scalar_one_or_none()
        if family is None:
            return
        connection.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.family_id == family, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC), revoked_reason="logout")
        )


def _store_refresh_token(
    connection: Connection,
    tenant_id: str,
    user_id: int,
    expires_at: datetime,
    family_id: uuid.UUID,
    client_key: str | None,
) -> str:
    token, token_hash = new_refresh_token(tenant_id)
    connection.execute(
        refresh_tokens.insert().values(
            tenant_id=tenant_id,
            user_id=user_id,
            token_hash=token_hash,
            expires_at=expires_at,
            family_id=family_id,
            client_key=client_key,
        )
    )
    return token
