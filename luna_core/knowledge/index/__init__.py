"""The vector index behind one interface, with two real backends: pgvector (default) and Qdrant.

The index holds only what a search needs (chunk id, tenant, document, language, vector); the
record in PostgreSQL holds everything, so ``rebuild`` can refill a new collection from it and
swap the alias (blue/green) while searches keep answering from the old one."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class IndexPoint:
    id: uuid.UUID
    tenant_id: str
    document_id: uuid.UUID
    language: str
    vector: np.ndarray


@dataclass(frozen=True)
class IndexInfo:
    backend: str
    alias: str
    collection: str | None
    dim: int | None
    last_reindex_at: datetime | None


class VectorIndex(Protocol):
    backend: str

    def upsert(self, points: Sequence[IndexPoint]) -> None: ...

    def delete(self, tenant_id: str, ids: Collection[uuid.UUID]) -> None: ...

    def delete_document(self, tenant_id: str, document_id: uuid.UUID) -> None: ...

    def search(self, tenant_id: str, vector: np.ndarray, limit: int) -> list[tuple[uuid.UUID, float]]:
        """(chunk id, cosine similarity), best first, of this tenant's points only."""
        ...

    def points(self, tenant_id: str) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """Every (chunk id, document id) of the tenant, duplicates included (for the checks)."""
        ...

    def rebuild(self, batches: Iterable[Sequence[IndexPoint]], dim: int) -> str:
        """Fills a new collection, points the alias at it; returns the old collection's name (or
        '') for ``drop``, which the caller calls after reconciling the new one with the record."""
        ...

    def drop(self, collection: str) -> None: ...

    def info(self) -> IndexInfo: ...

    def close(self) -> None: ...


def collection_name(alias: str, when: datetime, rebuilt: bool = False) -> str:
    """``<alias>_c<time>`` for the first collection, ``<alias>_r<time>`` for each rebuild."""
    return f"{alias}_{'r' if rebuilt else 'c'}{when:%Y%m%d%H%M%S%f}"


def rebuilt_at(alias: str, name: str | None) -> datetime | None:
    """When a collection was built by a rebuild (None for a first collection)."""
    from datetime import UTC

    if not name or not name.startswith(alias + "_r"):
        return None
    try:
        return datetime.strptime(name[len(alias) + 2 :], "%Y%m%d%H%M%S%f").replace(tzinfo=UTC)
    except ValueError:
        return None
