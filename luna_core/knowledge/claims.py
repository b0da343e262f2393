"""One document, one worker: a claim is the status ``processing`` plus a random token, the holder's
name and a lease. Claiming takes the rows with ``FOR UPDATE SKIP LOCKED``, so two workers racing
for the same documents each get different ones; every later step of the holder renews the lease
with its token (``heartbeat``) or locks the row with it before writing (``hold``), and stops with
``ClaimLost`` when the token is no longer there: the document was deleted, reindexed (a new claim
replaces the old) or taken over after the lease ran out (its worker died: a killed API, a lost run).

Runs inside ``tenant_scope`` of the document's tenant, like everything in ``store``."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from luna_core.db.schema import documents
from luna_core.knowledge.errors import ClaimLost

LEASE_SECONDS = 300
"""A claim not renewed for this long belongs to a dead worker; every step renews it."""
RETRY_SECONDS = 300
"""The first retry of a document needing attention; doubled after each failed attempt ..."""
MAX_RETRY_SECONDS = 3600
"""... up to an hour."""

RELEASED = {"claim_token": None, "claimed_by": None, "claim_expires_at": None}


@dataclass(frozen=True)
class Claim:
    document_id: uuid.UUID
    token: uuid.UUID
    owner: str


def worker_name(kind: str = "api") -> str:
    """Who holds a claim, for operators: ``api:<host>:<pid>`` or ``dagster:<run id>``."""
    return f"{kind}:{socket.gethostname()}:{os.getpid()}"


def _lease(seconds: float = LEASE_SECONDS) -> Any:
    return func.now() + func.make_interval(0, 0, 0, 0, 0, 0, seconds)


def claim(
    connection: Connection,
    tenant_id: str,
    owner: str,
    document_ids: Sequence[uuid.UUID] | None = None,
    retry_now: Sequence[uuid.UUID] = (),
) -> list[Claim]:
    """Claims what is due of the tenant's documents (of ``document_ids``): queued ones, ones whose
    holder's lease ran out, and ones needing attention whose retry time came (or that are named in
    ``retry_now``: a request asked for exactly them). Each goes to exactly one caller."""
    due = [
        documents.c.status == "queued",
        and_(
            documents.c.status == "processing",
            or_(documents.c.claim_expires_at.is_(None), documents.c.claim_expires_at < func.now()),
        ),
        and_(documents.c.status == "needs_attention", documents.c.retry_at <= func.now()),
    ]
    if retry_now:
        due.append(and_(documents.c.status == "needs_attention", documents.c.id.in_(list(retry_now))))
    condition = [documents.c.tenant_id == tenant_id, or_(*due)]
    if document_ids is not None:
        condition.append(documents.c.id.in_(list(document_ids)))
    candidates = (
        select(documents.c.id).where(*condition).order_by(documents.c.created_at).with_for_update(skip_locked=True)
    )
    rows = connection.execute(
        update(documents)
        .where(documents.c.id.in_(candidates.scalar_subquery()))
        .values(
            status="processing",
            claim_token=func.gen_random_uuid(),
            claimed_by=owner,
            claim_expires_at=_lease(),
            attempts=documents.c.attempts + 1,
            updated_at=func.now(),
        )
        .returning(documents.c.id, documents.c.claim_token, documents.c.created_at)
    )
    return [Claim(row.id, row.claim_token, owner) for row in sorted(rows, key=lambda r: r.created_at)]


def claimed_by(connection: Connection, tenant_id: str, owner: str) -> list[Claim]:
    """The claims ``owner`` still holds (a Dagster run's ``documents`` step claims, its next step works)."""
    rows = connection.execute(
        select(documents.c.id, documents.c.claim_token)
        .where(
            documents.c.tenant_id == tenant_id,
            documents.c.status == "processing",
            documents.c.claimed_by == owner,
        )
        .order_by(documents.c.created_at)
    )
    return [Claim(row.id, row.claim_token, owner) for row in rows]


def heartbeat(connection: Connection, tenant_id: str, held: Claim) -> None:
    """Renews the lease; ``ClaimLost`` if the claim is not ours any more."""
    renewed = connection.execute(
        update(documents).where(_ours(tenant_id, held)).values(claim_expires_at=_lease()).returning(documents.c.id)
    ).first()
    if renewed is None:
        raise ClaimLost(f"document {held.document_id} is no longer claimed by {held.owner}")


def hold(connection: Connection, tenant_id: str, held: Claim) -> Any:
    """Locks the document's row for the rest of the transaction and returns it, if the claim is
    still ours; the transaction's writes are then the holder's alone."""
    row = connection.execute(select(documents).where(_ours(tenant_id, held)).with_for_update()).first()
    if row is None:
        raise ClaimLost(f"document {held.document_id} is no longer claimed by {held.owner}")
    return row


def _ours(tenant_id: str, held: Claim) -> Any:
    return and_(
        documents.c.tenant_id == tenant_id,
        documents.c.id == held.document_id,
        documents.c.status == "processing",
        documents.c.claim_token == held.token,
    )


def busy(connection: Connection, tenant_id: str) -> set[uuid.UUID]:
    """Documents under a live claim: their chunks and vectors belong to their holder right now."""
    return set(
        connection.execute(
            select(documents.c.id).where(
                documents.c.tenant_id == tenant_id,
                documents.c.status == "processing",
                documents.c.claim_expires_at >= func.now(),
            )
        ).scalars()
    )


def retry_later() -> Any:
    """When a document needing attention is tried again: 5 minutes after the first failed attempt,
    then twice as long after each further one, at most an hour."""
    return func.now() + func.make_interval(
        0,
        0,
        0,
        0,
        0,
        0,
        func.least(MAX_RETRY_SECONDS, RETRY_SECONDS * func.power(2, func.greatest(documents.c.attempts - 1, 0))),
    )


def requeue(connection: Connection, tenant_id: str, document_id: uuid.UUID) -> Any:
    """A reindex asked for this document: queued again whatever its state (a live claim is taken
    over, its holder stops at its next step). Returns the row, or None for a failed document (its
    file went with its chunks: it has to be uploaded again)."""
    return connection.execute(
        update(documents)
        .where(documents.c.tenant_id == tenant_id, documents.c.id == document_id, documents.c.status != "failed")
        .values(status="queued", error=None, error_code=None, retry_at=None, updated_at=func.now(), **RELEASED)
        .returning(*documents.c)
    ).first()


def requeue_all(connection: Connection, tenant_id: str) -> int:
    """Every indexed document of the tenant, and every one needing attention, is queued again (a
    reindex from Luna's feedback); ones being processed right now are left to their holder."""
    return connection.execute(
        update(documents)
        .where(documents.c.tenant_id == tenant_id, documents.c.status.in_(("indexed", "needs_attention")))
        .values(status="queued", retry_at=None, updated_at=func.now(), **RELEASED)
    ).rowcount


def due(connection: Connection, tenant_id: str, queued_for_seconds: float) -> int:
    """How many of the tenant's documents a retry run would claim now: queued for a while, left
    by a dead worker, or needing attention and due again."""
    return connection.execute(
        select(func.count()).where(
            documents.c.tenant_id == tenant_id,
            or_(
                and_(
                    documents.c.status == "queued",
                    documents.c.updated_at < func.now() - func.make_interval(0, 0, 0, 0, 0, 0, queued_for_seconds),
                ),
                and_(
                    documents.c.status == "processing",
                    or_(documents.c.claim_expires_at.is_(None), documents.c.claim_expires_at < func.now()),
                ),
                and_(documents.c.status == "needs_attention", documents.c.retry_at <= func.now()),
            ),
        )
    ).scalar_one()
