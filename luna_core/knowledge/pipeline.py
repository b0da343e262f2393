"""The one document pipeline: claim -> check and extract -> chunk -> embed (cached by content
hash) -> record -> index. The API's background task runs it for one fresh upload, the Dagster
assets run its stages for a tenant's batch; both call these functions.

A file that can never be indexed ends ``failed`` with the reason, and nothing of it stays behind
(no chunks, no vectors, no stored file). An outage of the vector store or the embedding server
puts the document back to ``queued`` with the reason; the retry finds its embeddings cached."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Engine, func

from luna_core.db.tenancy import tenant_scope
from luna_core.knowledge import files, sniff, store
from luna_core.knowledge.chunking import chunk_blocks
from luna_core.knowledge.errors import DocumentRejected, IndexUnavailable, ServiceUnavailable
from luna_core.knowledge.extract import extract
from luna_core.knowledge.service import Knowledge

log = logging.getLogger(__name__)
BATCH = 256


@dataclass
class Outcome:
    chunked: list[uuid.UUID] = field(default_factory=list)
    failed: dict[uuid.UUID, str] = field(default_factory=dict)
    requeued: dict[uuid.UUID, str] = field(default_factory=dict)
    embedded: int = 0
    cached: int = 0


@dataclass
class SyncReport:
    upserted: int = 0
    deleted: int = 0
    indexed_documents: list[uuid.UUID] = field(default_factory=list)


# --- whole pipeline ------------------------------------------------------------------------------
def process_document(engine: Engine, knowledge: Knowledge, tenant_id: str, document_id: uuid.UUID) -> str:
    """Processes one queued document now; returns its status afterwards."""
    with tenant_scope(engine, tenant_id) as connection:
        claimed = store.claim(connection, tenant_id, [document_id])
    if claimed:
        _prepare_and_index(engine, knowledge, tenant_id, claimed)
    with tenant_scope(engine, tenant_id) as connection:
        row = store.get(connection, tenant_id, document_id)
    return row.status if row else "deleted"


def process_queued(engine: Engine, knowledge: Knowledge, tenant_id: str) -> tuple[Outcome, SyncReport]:
    with tenant_scope(engine, tenant_id) as connection:
        claimed = store.claim(connection, tenant_id)
    return _prepare_and_index(engine, knowledge, tenant_id, claimed)


def _prepare_and_index(
    engine: Engine, knowledge: Knowledge, tenant_id: str, document_ids: Sequence[uuid.UUID]
) -> tuple[Outcome, SyncReport]:
    outcome = prepare_documents(engine, knowledge, tenant_id, document_ids)
    report = SyncReport()
    if outcome.chunked:
        try:
            report = sync_index(engine, knowledge, tenant_id, outcome.chunked)
        except ServiceUnavailable as error:
            requeue(engine, tenant_id, outcome.chunked, error)
    return outcome, report


# --- stages ---------------------------------------------------------------------------------------
def claim(engine: Engine, tenant_id: str, reprocess_all: bool = False) -> list[uuid.UUID]:
    """The tenant's documents to process now; ``reprocess_all`` first queues every indexed one again."""
    with tenant_scope(engine, tenant_id) as connection:
        if reprocess_all:
            store.requeue_indexed(connection, tenant_id)
        return store.claim(connection, tenant_id)


def prepare_documents(
    engine: Engine, knowledge: Knowledge, tenant_id: str, document_ids: Sequence[uuid.UUID]
) -> Outcome:
    """Extract, chunk and embed each claimed document into the record (not yet the index)."""
    outcome = Outcome()
    for document_id in document_ids:
        try:
            embedded, cached = prepare_document(engine, knowledge, tenant_id, document_id)
        except DocumentRejected as error:
            fail_document(engine, knowledge, tenant_id, document_id, error)
            outcome.failed[document_id] = str(error)
        except ServiceUnavailable as error:
            requeue(engine, tenant_id, [document_id], error)
            outcome.requeued[document_id] = str(error)
        else:
            outcome.chunked.append(document_id)
            outcome.embedded += embedded
            outcome.cached += cached
    return outcome


def prepare_document(engine: Engine, knowledge: Knowledge, tenant_id: str, document_id: uuid.UUID) -> tuple[int, int]:
    """Returns (chunks embedded now, chunks whose embedding was cached)."""
    settings, embedder = knowledge.settings, knowledge.embedder
    with tenant_scope(engine, tenant_id) as connection:
        document = store.get(connection, tenant_id, document_id)
    if document is None:
        return 0, 0
    try:
        data = files.read(settings, tenant_id, document_id)
    except FileNotFoundError:
        raise DocumentRejected("missing", "the stored file is gone; upload the document again") from None
    kind = sniff.check(document.filename, data, **knowledge.limits)
    extracted = extract(knowledge.tika, data, kind, document.filename)
    chunks = chunk_blocks(
        extracted.blocks, embedder.count_tokens, knowledge.chunk_tokens, settings.chunk_overlap_tokens
    )
    with tenant_scope(engine, tenant_id) as connection:
        cached = store.cached_embeddings(connection, tenant_id, embedder.model, (c.content_sha256 for c in chunks))
    todo = {c.content_sha256: c.embed_text for c in chunks if c.content_sha256 not in cached}
    fresh = _embed(knowledge, todo)
    title = extracted.title or next((b.text for b in extracted.blocks if b.heading_level == 1), None)
    with tenant_scope(engine, tenant_id) as connection:
        store.store_embeddings(connection, tenant_id, embedder.model, fresh)
        store.replace_chunks(connection, tenant_id, document, chunks, embedder.model, embedder.dim)
        store.update_document(
            connection,
            tenant_id,
            document_id,
            title=(title or document.filename)[:500],
            author=extracted.author,
            pages=extracted.pages,
            language=extracted.language,
            content_type=sniff.CONTENT_TYPES[kind],
            chunk_count=len(chunks),
            chunked_at=func.now(),
            error=None,
        )
    return len(fresh), len(chunks) - len(todo)


def _embed(knowledge: Knowledge, texts_by_hash: dict[str, str]) -> dict[str, np.ndarray]:
    if not texts_by_hash:
        return {}
    hashes = list(texts_by_hash)
    vectors = knowledge.embedder.embed_passages([texts_by_hash[h] for h in hashes])
    return dict(zip(hashes, vectors, strict=True))


def fail_document(
    engine: Engine, knowledge: Knowledge, tenant_id: str, document_id: uuid.UUID, error: DocumentRejected
) -> None:
    """Failed for good: the reason stays on the row; chunks, vectors and the stored file go."""
    with tenant_scope(engine, tenant_id) as connection:
        hashes = [c.content_sha256 for c in store.record_chunks(connection, tenant_id, [document_id])]
        connection.execute(
            store.document_chunks.delete().where(
                store.document_chunks.c.tenant_id == tenant_id, store.document_chunks.c.document_id == document_id
            )
        )
        store.forget_unused_embeddings(connection, tenant_id, hashes)
        store.update_document(
            connection, tenant_id, document_id, status="failed", error=str(error)[:2000], chunk_count=0
        )
    files.delete(knowledge.settings, tenant_id, document_id)
    try:
        knowledge.index.delete_document(tenant_id, document_id)
    except IndexUnavailable:
        log.warning("vector store down: vectors of failed document %s are removed by the next sync", document_id)


def requeue(engine: Engine, tenant_id: str, document_ids: Sequence[uuid.UUID], error: Exception) -> None:
    reason = f"waiting to retry: {error}"
    log.warning("documents %s requeued: %s", [str(d) for d in document_ids], error)
    with tenant_scope(engine, tenant_id) as connection:
        store.requeue(connection, tenant_id, document_ids, reason)


def sync_index(
    engine: Engine, knowledge: Knowledge, tenant_id: str, document_ids: Sequence[uuid.UUID] | None = None
) -> SyncReport:
    """Makes the index hold exactly the record's chunks (of these documents, or of the tenant):
    missing or changed ones are upserted from the recorded embeddings, points without a chunk are
    deleted; then documents whose chunks are all in the index become ``indexed``."""
    scope = set(document_ids) if document_ids is not None else None
    with tenant_scope(engine, tenant_id) as connection:
        chunks = store.record_chunks(connection, tenant_id, document_ids)
    in_index = knowledge.index.points(tenant_id)
    indexed_ids = {point_id for point_id, doc in in_index if scope is None or doc in scope}
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
        done = store.finish_indexed(connection, tenant_id, document_ids)
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
        fresh = _embed(knowledge, missing)
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
    is down is never returned (searches join the record) and the next sync removes it."""
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
    with tenant_scope(engine, tenant_id) as connection:
        chunks = store.record_chunks(connection, tenant_id)
        live = set(store.documents_in(connection, tenant_id, "indexed"))
        live |= set(store.documents_in(connection, tenant_id, "processing"))
        live |= set(store.documents_in(connection, tenant_id, "queued"))
    points = knowledge.index.points(tenant_id)
    seen: dict[uuid.UUID, int] = {}
    for point_id, _ in points:
        seen[point_id] = seen.get(point_id, 0) + 1
    expected = {c.id for c in chunks if c.document_id in live and c.indexed}
    return IndexAudit(
        indexed_chunks=len(expected),
        missing=sorted(expected - seen.keys()),
        duplicated=sorted(point for point, n in seen.items() if n > 1),
        foreign=sorted(seen.keys() - {c.id for c in chunks}),
        of_missing_documents=sorted({point for point, doc in points if doc not in live}),
    )
