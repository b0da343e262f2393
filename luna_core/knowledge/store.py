"""The record in PostgreSQL: documents, their chunks and the embeddings of chunk texts.
Every function runs inside ``tenant_scope`` of its tenant (row-level security backs the WHERE)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, case, func, null, select, update
from sqlalchemy.dialects.postgresql import insert

from luna_core.db.schema import chunk_embeddings, document_chunks, documents
from luna_core.knowledge.chunking import Chunk, chunk_id
from luna_core.knowledge.index import IndexPoint


def find_by_sha(connection: Connection, tenant_id: str, sha256: str) -> Any:
    return connection.execute(
        select(documents).where(documents.c.tenant_id == tenant_id, documents.c.sha256 == sha256)
    ).first()


def get(connection: Connection, tenant_id: str, document_id: uuid.UUID) -> Any:
    return connection.execute(
        select(documents).where(documents.c.tenant_id == tenant_id, documents.c.id == document_id)
    ).first()


def list_documents(connection: Connection, tenant_id: str, limit: int, offset: int) -> list[Any]:
    return list(
        connection.execute(
            select(documents)
            .where(documents.c.tenant_id == tenant_id)
            .order_by(documents.c.created_at.desc(), documents.c.id)
            .limit(limit)
            .offset(offset)
        )
    )


def insert_document(connection: Connection, tenant_id: str, **values: Any) -> Any:
    """The new row, or None when the tenant has a document with the same SHA-256 already (another
    upload of the same bytes got there first: the caller answers with that one)."""
    return connection.execute(
        insert(documents)
        .values(tenant_id=tenant_id, **values)
        .on_conflict_do_nothing(constraint="documents_tenant_sha")
        .returning(*documents.c)
    ).first()


def reopen_failed(connection: Connection, tenant_id: str, document_id: uuid.UUID, filename: str) -> Any:
    """A failed document sent again is queued afresh under its old id; its row stays locked until the
    caller's transaction ends (the stored file is written meanwhile). None if it is not failed (any
    more): a parallel upload of the same bytes reopened it first."""
    return connection.execute(
        update(documents)
        .where(documents.c.tenant_id == tenant_id, documents.c.id == document_id, documents.c.status == "failed")
        .values(status="queued", error=None, error_code=None, filename=filename, updated_at=func.now())
        .returning(*documents.c)
    ).first()


def update_document(connection: Connection, tenant_id: str, document_id: uuid.UUID, **values: Any) -> None:
    connection.execute(
        update(documents)
        .where(documents.c.tenant_id == tenant_id, documents.c.id == document_id)
        .values(updated_at=func.now(), **values)
    )


def documents_in(connection: Connection, tenant_id: str, *statuses: str) -> list[uuid.UUID]:
    return list(
        connection.execute(
            select(documents.c.id).where(documents.c.tenant_id == tenant_id, documents.c.status.in_(statuses))
        ).scalars()
    )


# --- embeddings cache ---------------------------------------------------------------------------
def cached_embeddings(
    connection: Connection, tenant_id: str, model: str, hashes: Iterable[str]
) -> dict[str, np.ndarray]:
    wanted = sorted(set(hashes))
    if not wanted:
        return {}
    rows = connection.execute(
        select(chunk_embeddings.c.content_sha256, chunk_embeddings.c.vector).where(
            chunk_embeddings.c.tenant_id == tenant_id,
            chunk_embeddings.c.model == model,
            chunk_embeddings.c.content_sha256.in_(wanted),
        )
    )
    return {row.content_sha256: np.asarray(row.vector, dtype=np.float32) for row in rows}


def store_embeddings(connection: Connection, tenant_id: str, model: str, vectors: dict[str, np.ndarray]) -> None:
    if not vectors:
        return
    rows = [
        {"tenant_id": tenant_id, "model": model, "content_sha256": sha, "dim": int(v.shape[-1]), "vector": v.tolist()}
        for sha, v in vectors.items()
    ]
    connection.execute(insert(chunk_embeddings).values(rows).on_conflict_do_nothing())


# --- chunks -------------------------------------------------------------------------------------
def replace_chunks(
    connection: Connection,
    tenant_id: str,
    document: Any,
    chunks: Sequence[Chunk],
    model: str,
    dim: int,
    indexed: bool,
) -> list[uuid.UUID]:
    """The document's chunks become exactly these (one transaction). ``indexed``: their vectors are
    in the index already (the pipeline puts them there first); otherwise new chunks wait for the
    next sync and unchanged ones keep their mark. Returns the ids of the chunks that went, whose
    vectors the caller removes from the index; embeddings no chunk uses any more are forgotten."""
    ids = [chunk_id(tenant_id, document.sha256, chunk.position, chunk.content_sha256) for chunk in chunks]
    removed = connection.execute(
        document_chunks.delete()
        .where(
            document_chunks.c.tenant_id == tenant_id,
            document_chunks.c.document_id == document.id,
            document_chunks.c.id.notin_(ids),
        )
        .returning(document_chunks.c.id, document_chunks.c.content_sha256)
    ).all()
    if chunks:
        rows = [
            {
                "id": cid,
                "tenant_id": tenant_id,
                "document_id": document.id,
                "position": chunk.position,
                "page": chunk.page,
                "heading": chunk.heading,
                "text": chunk.text,
                "token_count": chunk.token_count,
                "language": chunk.language,
                "content_sha256": chunk.content_sha256,
                "embedding_model": model,
                "embedding_dim": dim,
                "indexed_at": func.now() if indexed else None,
            }
            for cid, chunk in zip(ids, chunks, strict=True)
        ]
        statement = insert(document_chunks).values(rows)
        changed = (document_chunks.c.content_sha256 != statement.excluded.content_sha256) | (
            document_chunks.c.embedding_model != statement.excluded.embedding_model
        )
        keep = {"id", "tenant_id", "indexed_at"}
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=[document_chunks.c.id],
                set_={
                    **{name: statement.excluded[name] for name in rows[0] if name not in keep},
                    "indexed_at": func.now()
                    if indexed
                    else case((changed, null()), else_=document_chunks.c.indexed_at),
                },
            )
        )
    forget_unused_embeddings(connection, tenant_id, [row.content_sha256 for row in removed])
    return [row.id for row in removed]


def has_chunks(connection: Connection, tenant_id: str, document_id: uuid.UUID) -> bool:
    return connection.execute(
        select(
            select(document_chunks.c.id)
            .where(document_chunks.c.tenant_id == tenant_id, document_chunks.c.document_id == document_id)
            .exists()
        )
    ).scalar_one()


def remove_chunks(connection: Connection, tenant_id: str, document_id: uuid.UUID) -> None:
    """A failed document keeps no chunks, and no embedding only its chunks used."""
    hashes = connection.execute(
        document_chunks.delete()
        .where(document_chunks.c.tenant_id == tenant_id, document_chunks.c.document_id == document_id)
        .returning(document_chunks.c.content_sha256)
    ).scalars()
    forget_unused_embeddings(connection, tenant_id, list(hashes))


def chunks_of(connection: Connection, tenant_id: str, document_id: uuid.UUID, limit: int, offset: int) -> list[Any]:
    return list(
        connection.execute(
            select(document_chunks)
            .where(document_chunks.c.tenant_id == tenant_id, document_chunks.c.document_id == document_id)
            .order_by(document_chunks.c.position)
            .limit(limit)
            .offset(offset)
        )
    )


@dataclass(frozen=True)
class RecordChunk:
    id: uuid.UUID
    document_id: uuid.UUID
    language: str
    content_sha256: str
    embed_text: str
    indexed: bool


def record_chunks(
    connection: Connection, tenant_id: str, document_ids: Sequence[uuid.UUID] | None = None
) -> list[RecordChunk]:
    statement = select(
        document_chunks.c.id,
        document_chunks.c.document_id,
        document_chunks.c.language,
        document_chunks.c.content_sha256,
        document_chunks.c.heading,
        document_chunks.c.text,
        document_chunks.c.indexed_at,
    ).where(document_chunks.c.tenant_id == tenant_id)
    if document_ids is not None:
        statement = statement.where(document_chunks.c.document_id.in_(list(document_ids)))
    return [
        RecordChunk(
            row.id,
            row.document_id,
            row.language,
            row.content_sha256,
            f"{row.heading}\n{row.text}" if row.heading else row.text,
            row.indexed_at is not None,
        )
        for row in connection.execute(statement)
    ]


def points_for(chunks: Sequence[RecordChunk], tenant_id: str, vectors: dict[str, np.ndarray]) -> list[IndexPoint]:
    return [IndexPoint(c.id, tenant_id, c.document_id, c.language, vectors[c.content_sha256]) for c in chunks]


def mark_indexed(connection: Connection, tenant_id: str, chunk_ids: Sequence[uuid.UUID]) -> None:
    if chunk_ids:
        connection.execute(
            update(document_chunks)
            .where(document_chunks.c.tenant_id == tenant_id, document_chunks.c.id.in_(list(chunk_ids)))
            .values(indexed_at=func.now())
        )


def promote_index_waiting(
    connection: Connection, tenant_id: str, busy: Iterable[uuid.UUID], document_ids: Sequence[uuid.UUID] | None = None
) -> list[uuid.UUID]:
    """Documents that needed attention only because the vector store was down while they were
    published (their chunks are in the record) become ``indexed`` once a sync put every chunk in."""
    pending = select(document_chunks.c.id).where(
        document_chunks.c.document_id == documents.c.id, document_chunks.c.indexed_at.is_(None)
    )
    statement = (
        update(documents)
        .where(
            documents.c.tenant_id == tenant_id,
            documents.c.status == "needs_attention",
            documents.c.error_code == "index_pending",
            documents.c.id.notin_(list(busy)),
            ~pending.exists(),
        )
        .values(
            status="indexed", error=None, error_code=None, retry_at=None, indexed_at=func.now(), updated_at=func.now()
        )
        .returning(documents.c.id)
    )
    if document_ids is not None:
        statement = statement.where(documents.c.id.in_(list(document_ids)))
    return [row.id for row in connection.execute(statement)]


def delete_document(connection: Connection, tenant_id: str, document_id: uuid.UUID) -> None:
    """Removes the document, its chunks (cascade) and embeddings no other chunk of the tenant uses."""
    hashes = list(
        connection.execute(
            select(document_chunks.c.content_sha256).where(
                document_chunks.c.tenant_id == tenant_id, document_chunks.c.document_id == document_id
            )
        ).scalars()
    )
    connection.execute(documents.delete().where(documents.c.tenant_id == tenant_id, documents.c.id == document_id))
    forget_unused_embeddings(connection, tenant_id, hashes)


def forget_unused_embeddings(connection: Connection, tenant_id: str, hashes: Sequence[str]) -> None:
    if not hashes:
        return
    used = select(document_chunks.c.id).where(
        document_chunks.c.tenant_id == tenant_id, document_chunks.c.content_sha256 == chunk_embeddings.c.content_sha256
    )
    connection.execute(
        chunk_embeddings.delete().where(
            chunk_embeddings.c.tenant_id == tenant_id,
            chunk_embeddings.c.content_sha256.in_(list(hashes)),
            ~used.exists(),
        )
    )


def counts(connection: Connection, tenant_id: str) -> tuple[int, int]:
    """(chunks, documents) of the tenant."""
    chunks = connection.execute(
        select(func.count()).select_from(document_chunks).where(document_chunks.c.tenant_id == tenant_id)
    ).scalar_one()
    docs = connection.execute(
        select(func.count()).select_from(documents).where(documents.c.tenant_id == tenant_id)
    ).scalar_one()
    return chunks, docs


def status_counts(connection: Connection, tenant_id: str) -> dict[str, int]:
    """How many of the tenant's documents are in each status (only statuses that occur)."""
    rows = connection.execute(
        select(documents.c.status, func.count()).where(documents.c.tenant_id == tenant_id).group_by(documents.c.status)
    )
    return {status: count for status, count in rows}
