"""What Luna needs from document search, as an interface of its own.

Luna depends on a ``Retriever``, never on a search implementation: the API keeps one in
``app.state.retriever`` and core functions take it as a parameter. The knowledge package's hybrid
search (``luna_core.knowledge.search.hybrid_search``) is wired in by ``KnowledgeRetriever``, which
maps each ``SearchHit`` to a ``Passage`` (the fields are the same).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol, runtime_checkable

from sqlalchemy import Engine

from luna_core.settings import Settings


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk of one of the tenant's documents."""

    chunk_id: str
    document_id: str
    title: str
    page: int | None
    heading: str | None
    text: str
    snippet: str
    score: float
    language: str | None = None
    highlights: tuple[tuple[int, int], ...] = ()


@runtime_checkable
class Retriever(Protocol):
    def search(self, tenant_id: str, query: str, k: int) -> list[Passage]:
        """The ``k`` best passages of ``tenant_id``'s documents for ``query``, best first.

        Must search that tenant's documents only: the tenant is a filter of the search itself,
        not something the caller checks afterwards."""
        ...


class NoDocuments:
    """A retriever that finds nothing: Luna answers from live data or says that it does not know."""

    def search(self, tenant_id: str, query: str, k: int) -> list[Passage]:
        return []


class KnowledgeRetriever:
    """Luna's retriever over the tenant's documents: the knowledge package's hybrid search."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings

    def search(self, tenant_id: str, query: str, k: int) -> list[Passage]:
        # Imported here: loading the embedding model is only worth it once someone asks.
        from luna_core.knowledge.search import hybrid_search

        hits = hybrid_search(self._engine, self._settings, tenant_id, query, k)
        return [Passage(**asdict(hit)) for hit in hits]
