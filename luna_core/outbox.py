"""The requests outbox: the API records what someone asked for (a new tenant's first run, a
backfill); a Dagster sensor turns each pending request into a run and reports back here.
The API never imports Dagster, and Dagster never imports FastAPI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from luna_core.db.schema import requests
from luna_core.db.tenancy import tenant_scope

# reindex_documents: Luna's feedback sensor asks for it; ingest_document and knowledge_rebuild:
# the documents API asks for them. The knowledge sensors run all three.
KINDS = ("register_tenant", "backfill", "retrain", "reindex_documents", "ingest_document", "knowledge_rebuild")


@dataclass(frozen=True)
class Request:
    id: int
    tenant_id: str
    kind: str
    payload: dict[str, Any]


def enqueue(
    connection: Connection, tenant_id: str, kind: str, payload: dict[str, Any] | None = None, requested_by: str = ""
) -> int:
    """Run inside ``tenant_scope``."""
    if kind not in KINDS:
        raise ValueError(f"unknown request kind {kind!r}; expected one of {', '.join(KINDS)}")
    return connection.execute(
        requests.insert()
        .values(tenant_id=tenant_id, kind=kind, payload=payload or {}, requested_by=requested_by)
        .returning(requests.c.id)
    ).scalar_one()


def pending(engine: Engine, tenant_ids: list[str], kinds: tuple[str, ...] | None = None) -> list[Request]:
    """Pending requests of these tenants (of these kinds), oldest first (one tenant scope at a time: RLS)."""
    found: list[Request] = []
    for tenant_id in tenant_ids:
        with tenant_scope(engine, tenant_id) as connection:
            rows = connection.execute(
                select(requests.c.id, requests.c.tenant_id, requests.c.kind, requests.c.payload)
                .where(requests.c.tenant_id == tenant_id, requests.c.status == "pending")
                .where(requests.c.kind.in_(kinds or KINDS))
                .order_by(requests.c.id)
            )
            found += [Request(row.id, row.tenant_id, row.kind, row.payload) for row in rows]
    return found


def recent(connection: Connection, tenant_id: str, kind: str, limit: int) -> list[Any]:
    """The newest requests of one kind (rows of ``requests``), newest first. Run inside ``tenant_scope``."""
    return list(
        connection.execute(
            select(requests)
            .where(requests.c.tenant_id == tenant_id, requests.c.kind == kind)
            .order_by(requests.c.created_at.desc(), requests.c.id.desc())
            .limit(limit)
        )
    )


def mark(
    engine: Engine, tenant_id: str, request_id: int, status: str, *, run_id: str | None = None, error: str | None = None
) -> None:
    values: dict[str, Any] = {"status": status, "updated_at": func.now()}
    if run_id:
        values["dagster_run_id"] = run_id
    if error:
        values["error"] = error[:2000]
    with tenant_scope(engine, tenant_id) as connection:
        connection.execute(update(requests).where(requests.c.id == request_id).values(**values))


def status_of(engine: Engine, tenant_id: str, request_id: int) -> tuple[str, str | None]:
    with tenant_scope(engine, tenant_id) as connection:
        row = connection.execute(
            select(requests.c.status, requests.c.dagster_run_id).where(requests.c.id == request_id)
        ).one()
    return row.status, row.dagster_run_id
