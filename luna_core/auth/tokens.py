"""Short-lived access tokens (JWT, HS256) and opaque, rotating refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ISSUER = "luna-iems"
ALGORITHM = "HS256"
ROLES = ("admin", "customer")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant and role come from here and nowhere else."""

    subject: str  # user id, or the IdP subject for OIDC tokens
    tenant_id: str
    role: str
    platform_admin: bool = False
    email: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" or self.platform_admin


class TokenError(Exception):
    """Safe to show the client."""


def issue_access_token(principal: Principal, secret: str, minutes: int, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "sub": principal.subject,
        "tenant": principal.tenant_id,
        "role": principal.role,
        "platform": principal.platform_admin,
        "email": principal.email,
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_access_token(token: str, secret: str) -> Principal:
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": ["exp", "sub", "iss"]}
        )
    except jwt.ExpiredSignatureError as error:
        raise TokenError("token expired") from error
    except jwt.InvalidIssuerError as error:
        raise TokenError("token issuer is not trusted") from error
    except jwt.InvalidSignatureError as error:
        raise TokenError("token signature is invalid") from error
    except jwt.InvalidTokenError as error:
        raise TokenError("token is malformed") from error
    if claims.get("role") not in ROLES or not isinstance(claims.get("tenant"), str):
        raise TokenError("token carries no valid tenant and role")
    return Principal(
        subject=str(claims["sub"]),
        tenant_id=claims["tenant"],
        role=claims["role"],
        platform_admin=bool(claims.get("platform")),
        email=claims.get("email"),
    )


def new_refresh_token(tenant_id: str) -> tuple[str, str]:
    """(token for the client, hash to store). The tenant prefix lets the server open the
    right tenant scope before looking the token up; the secret part carries 256 bits."""
    token = f"{tenant_id}.{secrets.token_urlsafe(32)}"
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


DEVICE_TYPE = "luna-device"


def account_key(email: str) -> str:
    """A stable, non-reversible name of an e-mail address (device tokens, lockout keys)."""
    return hashlib.sha256(f"account:{email.strip().lower()}".encode()).hexdigest()


def issue_device_token(
    email: str, secret: str, days: int, device_id: str | None = None, now: datetime | None = None
) -> tuple[str, str]:
    """(token, device id): proof that this client signed in to this account before. Kept by the browser
    in an HttpOnly cookie, so page scripts (and an XSS) cannot read it."""
    now = now or datetime.now(UTC)
    device_id = device_id or secrets.token_urlsafe(16)
    claims = {
        "iss": ISSUER,
        "typ": DEVICE_TYPE,
        "sub": account_key(email),
        "jti": device_id,
        "iat": now,
        "exp": now + timedelta(days=days),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM), device_id


def verify_device_token(token: str | None, secret: str, email: str | None = None) -> str | None:
    """The device id, if the token is ours, unexpired and (given ``email``) issued for that account."""
    if not token:
        return None
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": ["exp", "sub", "jti", "iss"]}
        )
    except jwt.InvalidTokenError:
        return None
    if claims.get("typ") != DEVICE_TYPE or not isinstance(claims.get("jti"), str):
        return None
    if email is not None and claims["sub"] != account_key(email):
        return None
    return claims["jti"]
