"""Users of a tenant: created by admins, customers see themselves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects.postgresql import insert

from luna_core.auth.passwords import check_password, hash_password
from luna_core.db.schema import ROLES, users


class UserError(ValueError):
    pass


class UserExists(UserError):
    pass


@dataclass(frozen=True)
class User:
    id: int
    tenant_id: str
    email: str
    role: str
    is_active: bool
    is_platform_admin: bool
    created_at: datetime
    last_login_at: datetime | None


_COLUMNS = (
    users.c.id,
    users.c.tenant_id,
    users.c.email,
    users.c.role,
    users.c.is_active,
    users.c.is_platform_admin,
    users.c.created_at,
    users.c.last_login_at,
)


def create_user(
    connection: Connection, tenant_id: str, email: str, password: str, role: str, *, platform_admin: bool = False
) -> User:
    """Run inside ``tenant_scope``. E-mail addresses are unique across the platform (they are the login)."""
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if "@" not in email or len(email) > 254:
        raise UserError("email is not a valid address")
    check_password(password, email)
    row = connection.execute(
        insert(users)
        .values(
            tenant_id=tenant_id,
            email=email.strip().lower(),
            password_hash=hash_password(password),
            role=role,
            is_platform_admin=platform_admin,
        )
        .on_conflict_do_nothing(index_elements=[users.c.email])
        .returning(*_COLUMNS)
    ).first()
    if row is None:
        raise UserExists(f"a user with e-mail {email!r} already exists")
    return User(**row._mapping)


def list_users(connection: Connection, tenant_id: str, limit: int, offset: int) -> tuple[list[User], int]:
    where = users.c.tenant_id == tenant_id
    total = connection.execute(select(func.count()).select_from(users).where(where)).scalar_one()
    rows = connection.execute(select(*_COLUMNS).where(where).order_by(users.c.id).limit(limit).offset(offset))
    return [User(**row._mapping) for row in rows], total


def get_user(connection: Connection, tenant_id: str, user_id: int) -> User | None:
    row = connection.execute(select(*_COLUMNS).where(users.c.tenant_id == tenant_id, users.c.id == user_id)).first()
    return User(**row._mapping) if row else None


def set_active(connection: Connection, tenant_id: str, user_id: int, active: bool) -> User | None:
    connection.execute(
        update(users).where(users.c.tenant_id == tenant_id, users.c.id == user_id).values(is_active=active)
    )
    return get_user(connection, tenant_id, user_id)
