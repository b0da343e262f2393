"""The audit log: one append-only, hash-chained row per admin action and data read.

Rows are chained per tenant by a trigger in the database (``luna_audit_chain``), so every
code path that inserts is chained; ``verify_chain`` recomputes each link with the same SQL
function and reports the first row where the chain breaks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, text

from luna_core.db.schema import audit_log
from luna_core.db.tenancy import tenant_scope

_INSERT = audit_log.insert()


@dataclass(frozen=True)
class RequestOrigin:
    request_id: str
    client_addr: str | None = None


# Set once per HTTP request by the API, so every row written while serving it carries the
# request id, however deep in the core the row is written (login, ingest, tenants, ...).
_origin: ContextVar[RequestOrigin | None] = ContextVar("luna_audit_origin", default=None)


@contextmanager
def origin(request_id: str, client_addr: str | None = None) -> Iterator[None]:
    """Rows recorded inside this block carry this request id and client address."""
    token = _origin.set(RequestOrigin(request_id, client_addr))
    try:
        yield
    finally:
        _origin.reset(token)


def bind_origin(request_id: str, client_addr: str | None = None) -> None:
    """As ``origin``, for the rest of the current context (an async request task and the
    threads it hands work to copy it; the next request starts from a fresh context)."""
    _origin.set(RequestOrigin(request_id, client_addr))


def actor(email: str | None, subject: str) -> str:
    """The one spelling of who acted: the e-mail when known, else ``user:<id>`` for a local
    account and ``oidc:<sub>`` (as the principal already carries it) for an identity provider's."""
    if email:
        return email
    return subject if subject.startswith("oidc:") else f"user:{subject}"


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
    """Appends one row; run inside ``tenant_scope`` of ``tenant_id``. The request id and client
    address default to those of the HTTP request being served (see ``origin``)."""
    current = _origin.get()
    if current is not None:
        request_id = request_id or current.request_id
        client_addr = client_addr or current.client_addr
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


_HEAD_SQL = text("SELECT seq, hash, legacy_until FROM audit_chain_heads WHERE tenant_id = :tenant")

# The chain follows chain_seq, the order the trigger's lock gave. Rows up to legacy_until were
# hashed before migration 0013 (v1, id order, forks possible): each is checked against the link it
# recorded; later rows against their predecessor in the chain.
_VERIFY_SQL = text(
    """
    SELECT id, chain_seq, hash, prev_hash,
           lag(hash) OVER w AS previous_hash,
           lag(chain_seq) OVER w AS previous_seq,
           CASE WHEN chain_seq <= :legacy_until THEN luna_audit_row_hash(prev_hash, a)
                ELSE luna_audit_row_hash_v2(lag(hash) OVER w, a) END AS expected
    FROM audit_log a
    WHERE tenant_id = :tenant
    WINDOW w AS (ORDER BY chain_seq)
    ORDER BY chain_seq
    """
)
_LEGACY_HASHES_SQL = text("SELECT hash FROM audit_log WHERE tenant_id = :tenant AND chain_seq <= :legacy_until")

REMOVED = "links to a row that is not its predecessor (a row was removed or reordered)"
MODIFIED = "content does not match its hash (the row was modified)"


def verify_tenant_chain(connection: Connection, tenant_id: str) -> ChainBreak | None:
    # The head is read first: rows appended while this runs lie beyond it and are checked as well.
    head = connection.execute(_HEAD_SQL, {"tenant": tenant_id}).first()
    legacy_until = head.legacy_until if head else 0
    legacy = {h for (h,) in connection.execute(_LEGACY_HASHES_SQL, {"tenant": tenant_id, "legacy_until": legacy_until})}
    last_id = 0
    head_row_seen = head is None or head.seq == 0
    for row in connection.execute(_VERIFY_SQL, {"tenant": tenant_id, "legacy_until": legacy_until}):
        if row.chain_seq != (row.previous_seq or 0) + 1:
            return ChainBreak(
                tenant_id,
                row.id,
                f"{REMOVED}: chain position {row.chain_seq} follows {row.previous_seq or 'the start'}",
            )
        if row.chain_seq <= legacy_until:
            linked = row.prev_hash in legacy if row.chain_seq > 1 else row.prev_hash is None
            if not linked:
                return ChainBreak(tenant_id, row.id, REMOVED)
        elif row.prev_hash != row.previous_hash:
            return ChainBreak(tenant_id, row.id, REMOVED)
        if row.hash != row.expected:
            return ChainBreak(tenant_id, row.id, MODIFIED)
        if head is not None and row.chain_seq == head.seq:
            if row.hash != head.hash:
                return ChainBreak(tenant_id, row.id, MODIFIED)
            head_row_seen = True
        last_id = row.id
    if not head_row_seen:
        return ChainBreak(
            tenant_id,
            last_id,
            f"the chain ends before its recorded head at position {head.seq} (the newest rows were removed)",
        )
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
