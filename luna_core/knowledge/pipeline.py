"""The one document pipeline: claim -> read and check -> extract -> chunk -> embed (cached by
content hash) -> publish. The API's background task runs it for one fresh upload, the Dagster
assets for a tenant's batch; both call these functions, and a claim (``claims``) makes sure only
one of them works on a document at a time.

Publishing is blue/green per document: the new chunks' vectors go into the index beside the live
ones (a changed chunk has a new id), then the record switches to the new chunks in one
transaction, then only the vectors of chunks that went are removed. Searches see the old chunks
or the new ones, never a mix and never none.

What can go wrong, and what it costs:
- the file itself can never be indexed (``DocumentRejected``): a document without a live index
  ends ``failed`` with the reason and nothing of it stays behind (no chunks, vectors, stored file);
  one that had an index keeps it and needs attention (the bytes were fine before, so the file is
  not what changed);
- anything outside the document (``ServiceUnavailable``: the stored file missing, a key that does
  not open it, storage, vector store or embedding server unreachable; or an error of our own): the
  document keeps its chunks and vectors, becomes ``needs_attention`` with the reason, and is tried
  again later (``claims.retry_later``) or when reindexed; the caller reports the failure;
- processing takes longer than ``LUNA_DOCUMENT_TIMEOUT_SECONDS``: stopped, a rejection as above."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Engine, func

from luna_core.db.tenancy import tenant_scope
from luna_core.knowledge import claims, files, sniff, store
from luna_core.knowledge.chunking import Chunk, chunk_blocks, chunk_id
from luna_core.knowledge.claims import Claim
from luna_core.knowledge.errors import (
    ClaimLost,
    DocumentRejected,
    IndexUnavailable,
    ProcessingTimeout,
    ServiceUnavailable,
)
from luna_core.knowledge.extract import extract
from luna_core.knowledge.index import IndexPoint
from luna_core.knowledge.reconcile import (
    IndexAudit,
    RebuildReport,
    SyncReport,
    audit_index,
    delete_document,
    rebuild_index,
    sync_index,
)
from luna_core.knowledge.service import Knowledge

log = logging.getLogger(__name__)
EMBED_BATCH = 8  # the claim is renewed and the time limit checked after each batch

__all__ = [
    "IndexAudit",
    "Outcome",
    "RebuildReport",
    "SyncReport",
    "audit_index",
    "claim",
    "claimed",
    "delete_document",
    "process_claims",
    "process_document",
    "rebuild_index",
    "sync_index",
]


@dataclass
class Outcome:
    indexed: list[uuid.UUID] = field(default_factory=list)
    failed: dict[uuid.UUID, str] = field(default_factory=dict)
    attention: dict[uuid.UUID, str] = field(default_factory=dict)
    """documents that need attention after this attempt: their reason (for the run's failure)"""
    lost: list[uuid.UUID] = field(default_factory=list)
    """claims another worker took over (or documents deleted) while they were processed"""
    embedded: int = 0
    cached: int = 0


class Deadline:
    """The time one document may take (``LUNA_DOCUMENT_TIMEOUT_SECONDS``), checked between steps."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.ends:
            raise ProcessingTimeout(
                f"processing took longer than {self.seconds:g} s (LUNA_DOCUMENT_TIMEOUT_SECONDS) and was stopped; "
                "split the document into smaller files, or raise the limit"
            )


# --- entry points ---------------------------------------------------------------------------------
def process_document(
    engine: Engine, knowledge: Knowledge, tenant_id: str, document_id: uuid.UUID, owner: str | None = None
) -> str:
    """Processes one document now if it is due (queued, left by a dead worker, or due for a retry);
    one another worker holds is left to it. Returns its status afterwards."""
    with tenant_scope(engine, tenant_id) as connection:
        held = claims.claim(connection, tenant_id, owner or claims.worker_name(), [document_id])
    process_claims(engine, knowledge, tenant_id, held)
    with tenant_scope(engine, tenant_id) as connection:
        row = store.get(connection, tenant_id, document_id)
    return row.status if row else "deleted"


def claim(
    engine: Engine,
    tenant_id: str,
    owner: str,
    reprocess_all: bool = False,
    document_ids: Sequence[uuid.UUID] = (),
) -> list[Claim]:
    """The tenant's documents due now, claimed for ``owner``; ``reprocess_all`` first queues every
    indexed one (and every one needing attention) again, ``document_ids`` are retried now even if
    their retry time has not come (a request asked for them)."""
    with tenant_scope(engine, tenant_id) as connection:
        if reprocess_all:
            claims.requeue_all(connection, tenant_id)
        return claims.claim(connection, tenant_id, owner, retry_now=document_ids)


def claimed(engine: Engine, tenant_id: str, owner: str) -> list[Claim]:
    with tenant_scope(engine, tenant_id) as connection:
        return claims.claimed_by(connection, tenant_id, owner)


def process_claims(engine: Engine, knowledge: Knowledge, tenant_id: str, held: Sequence[Claim]) -> Outcome:
    """Each claimed document in turn; one document's trouble never stops the others."""
    outcome = Outcome()
    for one in held:
        deadline = Deadline(knowledge.settings.document_timeout_seconds)
        try:
            status, embedded, cached = _process(engine, knowledge, tenant_id, one, deadline)
        except ClaimLost as lost:
            log.info("%s", lost)
            outcome.lost.append(one.document_id)
            continue
        except DocumentRejected as error:
            status = _reject(engine, knowledge, tenant_id, one, error)
            embedded = cached = 0
        except ServiceUnavailable as error:
            status = _needs_attention(engine, tenant_id, one, error.code, str(error), error.detail)
            embedded = cached = 0
        except Exception as error:  # our own bug: the document is not to blame, and not to be lost
            log.exception("processing document %s failed unexpectedly", one.document_id)
            reason = f"an unexpected error stopped processing ({type(error).__name__}); it is retried"
            status = _needs_attention(engine, tenant_id, one, "unexpected", reason, repr(error))
            embedded = cached = 0
        if status is None:
            outcome.lost.append(one.document_id)
        elif status[0] == "indexed":
            outcome.indexed.append(one.document_id)
        elif status[0] == "failed":
            outcome.failed[one.document_id] = status[1]
        else:
            outcome.attention[one.document_id] = status[1]
        outcome.embedded += embedded
        outcome.cached += cached
    return outcome


# --- one document -----------------------------------------------------------------------------------
Status = tuple[str, str] | None  # (status, reason) afterwards; None: the claim was lost


def _process(
    engine: Engine, knowledge: Knowledge, tenant_id: str, held: Claim, deadline: Deadline
) -> tuple[Status, int, int]:
    settings, embedder = knowledge.settings, knowledge.embedder
    with tenant_scope(engine, tenant_id) as connection:
        document = claims.hold(connection, tenant_id, held)
    data = files.read(settings, tenant_id, held.document_id, sha256=document.sha256)
    deadline.check()
    kind = sniff.check(document.filename, data, **knowledge.limits)
    extracted = extract(knowledge.tika, data, kind, document.filename)
    _step(engine, tenant_id, held, deadline)
    chunks = chunk_blocks(
        extracted.blocks, embedder.count_tokens, knowledge.chunk_tokens, settings.chunk_overlap_tokens, deadline.check
    )
    _step(engine, tenant_id, held, deadline)
    with tenant_scope(engine, tenant_id) as connection:
        vectors = store.cached_embeddings(connection, tenant_id, embedder.model, (c.content_sha256 for c in chunks))
    todo = {c.content_sha256: c.embed_text for c in chunks if c.content_sha256 not in vectors}
    fresh = _embed(engine, knowledge, tenant_id, held, deadline, todo)
    vectors.update(fresh)
    title = extracted.title or next((b.text for b in extracted.blocks if b.heading_level == 1), None)
    metadata = {
        "title": (title or document.filename)[:500],
        "author": extracted.author,
        "pages": extracted.pages,
        "language": extracted.language,
        "content_type": sniff.CONTENT_TYPES[kind],
        "chunk_count": len(chunks),
        "chunked_at": func.now(),
    }
    status = _publish(engine, knowledge, tenant_id, held, document, chunks, vectors, fresh, metadata)
    return status, len(fresh), len(chunks) - len(todo)


def _step(engine: Engine, tenant_id: str, held: Claim, deadline: Deadline) -> None:
    """Between steps: still within the time limit, and still ours (the lease renewed)."""
    deadline.check()
    with tenant_scope(engine, tenant_id) as connection:
        claims.heartbeat(connection, tenant_id, held)


def _embed(
    engine: Engine,
    knowledge: Knowledge,
    tenant_id: str,
    held: Claim,
    deadline: Deadline,
    texts_by_hash: dict[str, str],
) -> dict[str, np.ndarray]:
    hashes = list(texts_by_hash)
    vectors: dict[str, np.ndarray] = {}
    for start in range(0, len(hashes), EMBED_BATCH):
        batch = hashes[start : start + EMBED_BATCH]
        embedded = knowledge.embedder.embed_passages([texts_by_hash[h] for h in batch])
        vectors.update(zip(batch, embedded, strict=True))
        _step(engine, tenant_id, held, deadline)
    return vectors


def _publish(
    engine: Engine,
    knowledge: Knowledge,
    tenant_id: str,
    held: Claim,
    document,
    chunks: Sequence[Chunk],
    vectors: dict[str, np.ndarray],
    fresh: dict[str, np.ndarray],
    metadata: dict,
) -> Status:
    embedder = knowledge.embedder
    points = [
        IndexPoint(
            chunk_id(tenant_id, document.sha256, c.position, c.content_sha256),
            tenant_id,
            document.id,
            c.language,
            vectors[c.content_sha256],
        )
        for c in chunks
    ]
    index_error: IndexUnavailable | None = None
    try:
        knowledge.index.upsert(points)  # beside the live vectors: nothing answers from them yet
    except IndexUnavailable as error:
        index_error = error
    with tenant_scope(engine, tenant_id) as connection:
        claims.hold(connection, tenant_id, held)
        if index_error is not None and store.has_chunks(connection, tenant_id, document.id):
            # The live chunks and their vectors stay as they are: the switch waits for the index.
            raise index_error
        store.store_embeddings(connection, tenant_id, embedder.model, fresh)
        dim = int(points[0].vector.shape[-1]) if points else embedder.dim  # no probe of a server for it
        removed = store.replace_chunks(
            connection, tenant_id, document, chunks, embedder.model, dim, indexed=index_error is None
        )
        values = {**metadata, **claims.RELEASED}
        if index_error is None:
            status: Status = ("indexed", "")
            values.update(status="indexed", error=None, error_code=None, retry_at=None, indexed_at=func.now())
            values["attempts"] = 0
        else:
            # A first index of this document: the record answers searches while the store is down.
            reason = f"{index_error}; its chunks answer from the record until the vector store is back"
            status = ("needs_attention", reason)
            values.update(status="needs_attention", error=reason[:2000], error_code="index_pending")
            values["retry_at"] = claims.retry_later()
        store.update_document(connection, tenant_id, document.id, **values)
    if removed:
        try:
            knowledge.index.delete(tenant_id, removed)
        except IndexUnavailable:
            log.warning("vector store down: %d replaced vectors of %s go with the next sync", len(removed), document.id)
    return status


def _reject(engine: Engine, knowledge: Knowledge, tenant_id: str, held: Claim, error: DocumentRejected) -> Status:
    """Failed for good, unless the document has a live index: then that keeps answering."""
    reason = str(error)[:2000]
    try:
        with tenant_scope(engine, tenant_id) as connection:
            claims.hold(connection, tenant_id, held)
            if store.has_chunks(connection, tenant_id, held.document_id):
                reason = f"processing it again was refused ({reason}); its last index still answers"[:2000]
                store.update_document(
                    connection, tenant_id, held.document_id, status="needs_attention", error=reason,
                    error_code=error.code, retry_at=None, **claims.RELEASED,
                )  # fmt: skip
                return ("needs_attention", reason)
            store.update_document(
                connection, tenant_id, held.document_id, status="failed", error=reason, error_code=error.code,
                chunk_count=0, retry_at=None, **claims.RELEASED,
            )  # fmt: skip
            # Inside the row lock: a re-upload of the same bytes waits, then stores its file afresh.
            files.delete(knowledge.settings, tenant_id, held.document_id)
    except ClaimLost as lost:
        log.info("%s", lost)
        return None
    try:
        knowledge.index.delete_document(tenant_id, held.document_id)
    except IndexUnavailable:
        log.warning("vector store down: vectors of failed document %s go with the next sync", held.document_id)
    return ("failed", reason)


def _needs_attention(engine: Engine, tenant_id: str, held: Claim, code: str, reason: str, detail: str) -> Status:
    """Something outside the document failed: it keeps what it had, says why, and is retried."""
    more = f" ({detail})" if detail != reason else ""
    log.warning("document %s of %s needs attention: %s%s", held.document_id, tenant_id, reason, more)
    try:
        with tenant_scope(engine, tenant_id) as connection:
            claims.hold(connection, tenant_id, held)
            store.update_document(
                connection, tenant_id, held.document_id, status="needs_attention", error=reason[:2000],
                error_code=code, retry_at=claims.retry_later(), **claims.RELEASED,
            )  # fmt: skip
    except ClaimLost as lost:
        log.info("%s", lost)
        return None
    return ("needs_attention", reason)
