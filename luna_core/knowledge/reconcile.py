"""The vector index against the record: reconcile a tenant's part (``sync_index``), rebuild the
whole index blue/green (``rebuild_index``), audit it for the checks, and delete a document.

The record (PostgreSQL) decides: a vector whose chunk is not in the record is removed, a chunk
without its vector is upserted from the recorded embedding. Documents under a live claim are left
out: their holder is putting their new vectors beside the live ones right now (``pipeline``)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Engine

from luna_core.db.tenancy import tenant_scope
from luna_core.knowledge import claims, files, store
from luna_core.knowledge.errors import IndexUnavailable
from luna_core.knowledge.service import Knowledge

log = logging.getLogger(__name__)
BATCH = 256


@dataclass
class SyncReport:
    upserted: int = 0
    deleted: int = 0
    indexed_documents: list[uuid.UUID] = field(default_factory=list)


def sync_index(
    engine: Engine, knowledge: Knowledge, tenant_id: str, document_ids: Sequence[uuid.UUID] | None = None
) -> SyncReport:
    """Makes the index hold exactly the record's chunks (of these documents, or of the tenant):
    missing or changed ones are upserted from the recorded embeddings, points without a chunk are
    deleted; documents that waited only for the vector store become ``indexed``."""
    scope = set(document_ids) if document_ids is not None else None
    # The index first, then the record: a vector upserted after this read is not seen as an orphan,
    # and one upserted before it belongs to a document whose claim (or new chunks) the record shows.
    in_index = knowledge.index.points(tenant_id)
    with tenant_scope(engine, tenant_id) as connection:
        busy = claims.busy(connection, tenant_id)
        chunks = [c for c in store.record_chunks(connection, tenant_id, document_ids) if c.document_id not in busy]
    indexed_ids = {point_id for point_id, doc in in_index if (scope is None or doc in scope) and doc not in busy}
    record_ids = {c.id for c in chunks}
    todo = [c for c in chunks if not c.indexed or c.id not in indexed_ids]
    orphans = indexed_ids - record_ids
    for batch in _batches(todo, BATCH):
        vectors = _vectors(engine, knowledge, tenant_id, batch)
        knowledge.index.upsert(store.points_for(batch, tenant_id, vectors))
        with tenant_scope(engine, tenant_id) as connection:
            store.mark_indexed(connection, tenant_id, [c.id for c in batch])
    knowledge.index.delete(tenant_id, orphans)
    with tenant_scope(engine, tenant_id) as connection:
        done = store.promote_index_waiting(connection, tenant_id, busy, document_ids)
    return SyncReport(upserted=len(todo), deleted=len(orphans), indexed_documents=done)


def _vectors(
    engine: Engine, knowledge: Knowledge, tenant_id: str, chunks: Sequence[store.RecordChunk]
) -> dict[str, np.ndarray]:
    """Recorded embeddings; chunks recorded under another model (the embedder changed) are embedded now."""
    model = knowledge.embedder.model
    with tenant_scope(engine, tenant_id) as connection:
        vectors = store.cached_embeddings(connection, tenant_id, model, (c.content_sha256 for c in chunks))
    missing = {c.content_sha256: c.embed_text for c in chunks if c.content_sha256 not in vectors}
    if missing:
        hashes = list(missing)
        fresh = dict(zip(hashes, knowledge.embedder.embed_passages([missing[h] for h in hashes]), strict=True))
        with tenant_scope(engine, tenant_id) as connection:
            store.store_embeddings(connection, tenant_id, model, fresh)
        vectors.update(fresh)
    return vectors


def _batches(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- delete and rebuild -------------------------------------------------------------------------
def delete_document(engine: Engine, knowledge: Knowledge, tenant_id: str, document_id: uuid.UUID) -> bool:
    """Rows, stored file and vectors. The record goes first: a vector left behind while the store
    is down is never returned (searches join the record) and the next sync removes it. A worker
    processing the document meanwhile loses its claim and stops."""
    with tenant_scope(engine, tenant_id) as connection:
        if store.get(connection, tenant_id, document_id) is None:
            return False
        store.delete_document(connection, tenant_id, document_id)
    files.delete(knowledge.settings, tenant_id, document_id)
    try:
        knowledge.index.delete_document(tenant_id, document_id)
    except IndexUnavailable:
        log.warning("vector store down: vectors of deleted document %s are removed by the next sync", document_id)
    return True


@dataclass
class RebuildReport:
    collection: str
    previous: str
    points: int
    synced: dict[str, SyncReport]


def rebuild_index(engine: Engine, knowledge: Knowledge, tenant_ids: Sequence[str]) -> RebuildReport:
    """Blue/green: a new collection filled from the record (no re-embedding), the alias swapped,
    writes that happened meanwhile reconciled from the record, the old collection dropped.
    Searches answer from the old collection until the swap and from the new one after it."""
    count = 0

    def batches() -> Iterator[list]:
        nonlocal count
        for tenant_id in tenant_ids:
            with tenant_scope(engine, tenant_id) as connection:
                chunks = store.record_chunks(connection, tenant_id)
            for batch in _batches(chunks, 1000):
                vectors = _vectors(engine, knowledge, tenant_id, batch)
                count += len(batch)
                yield store.points_for(batch, tenant_id, vectors)

    previous = knowledge.index.rebuild(batches(), knowledge.embedder.dim)
    synced = {tenant_id: sync_index(engine, knowledge, tenant_id) for tenant_id in tenant_ids}
    knowledge.index.drop(previous)
    return RebuildReport(knowledge.index.info().collection or "", previous, count, synced)


@dataclass
class IndexAudit:
    """How the tenant's part of the index compares with the record."""

    indexed_chunks: int
    missing: list[uuid.UUID]
    duplicated: list[uuid.UUID]
    foreign: list[uuid.UUID]
    """points whose chunk is not in the record (a deleted or failed document's)"""
    of_missing_documents: list[uuid.UUID]
    """points whose document no longer exists"""


def audit_index(engine: Engine, knowledge: Knowledge, tenant_id: str) -> IndexAudit:
    points = knowledge.index.points(tenant_id)
    with tenant_scope(engine, tenant_id) as connection:
        busy = claims.busy(connection, tenant_id)
        chunks = store.record_chunks(connection, tenant_id)
        live = set(store.documents_in(connection, tenant_id, "indexed", "processing", "queued", "needs_attention"))
    seen: dict[uuid.UUID, int] = {}
    for point_id, _ in points:
        seen[point_id] = seen.get(point_id, 0) + 1
    expected = {c.id for c in chunks if c.document_id in live and c.document_id not in busy and c.indexed}
    settled = [(point, doc) for point, doc in points if doc not in busy]  # a holder's new vectors are not foreign
    return IndexAudit(
        indexed_chunks=len(expected),
        missing=sorted(expected - seen.keys()),
        duplicated=sorted(point for point, n in seen.items() if n > 1),
        foreign=sorted({point for point, _ in settled} - {c.id for c in chunks}),
        of_missing_documents=sorted({point for point, doc in settled if doc not in live}),
    )
