"""The audit log: one append-only, hash-chained row per admin action and data read.

Rows are chained per tenant by a trigger in the database (``luna_audit_chain``), so every
code path that inserts is chained; ``verify_chain`` recomputes each link with the same SQL
function and reports the first row where the chain breaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, text

from luna_core.db.schema import audit_log
from luna_core.db.tenancy import tenant_scope

_INSERT = audit_log.insert()


def record(
    connection: Connection,
    *,
    tenant_id: str,
    actor: str,
    action: str,
    outcome: str = "ok",
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    request_id: str | None = None,
    client_addr: str | None = None,
) -> None:
    """Appends one row; run inside ``tenant_scope`` of ``tenant_id``."""
    # One statement with bound parameters: SQLAlchemy compiles it once, not per row.
    connection.execute(
        _INSERT,
        {
            "tenant_id": tenant_id,
            "actor": actor,
            "action": action,
            "target": target,
            "outcome": outcome,
            "detail": detail or {},
            "request_id": request_id,
            "client_addr": client_addr,
        },
    )


@dataclass(frozen=True)
class ChainBreak:
    tenant_id: str
    row_id: int
    reason: str


_VERIFY_SQL = text(
    """
    SELECT id, hash, prev_hash,
           lag(hash) OVER (ORDER BY id) AS previous_hash,
           luna_audit_row_hash(lag(hash) OVER (ORDER BY id), a) AS expected
    FROM audit_log a
    WHERE tenant_id = :tenant
    ORDER BY id
    """
)


def verify_tenant_chain(connection: Connection, tenant_id: str) -> ChainBreak | None:
    for row in connection.execute(_VERIFY_SQL, {"tenant": tenant_id}):
        if row.prev_hash != row.previous_hash:
            return ChainBreak(tenant_id, row.id, "links to a row that is not its predecessor (a row was removed)")
        if row.hash != row.expected:
            return ChainBreak(tenant_id, row.id, "content does not match its hash (the row was modified)")
    return None


def verify_chain(engine: Engine, tenant_ids: list[str]) -> list[ChainBreak]:
    breaks = []
    for tenant_id in tenant_ids:
        with tenant_scope(engine, tenant_id) as connection:
            found = verify_tenant_chain(connection, tenant_id)
        if found:
            breaks.append(found)
    return breaks


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def query(connection: Connection, tenant_id: str, where: AuditFilter, limit: int, offset: int) -> list[Any]:
    statement = select(audit_log).where(audit_log.c.tenant_id == tenant_id)
    if where.actor:
        statement = statement.where(audit_log.c.actor == where.actor)
    if where.action:
        statement = statement.where(audit_log.c.action == where.action)
    if where.since:
        statement = statement.where(audit_log.c.ts >= where.since)
    if where.until:
        statement = statement.where(audit_log.c.ts < where.until)
    return list(connection.execute(statement.order_by(audit_log.c.id.desc()).limit(limit).offset(offset)))
