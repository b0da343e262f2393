"""The knowledge components one process uses, built once from settings: Tika, the embedder and
the vector index (each holds a model, a client or a connection pool)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from luna_core.knowledge.embeddings import Embedder, build_embedder
from luna_core.knowledge.extract import TikaBackend, backend_for
from luna_core.knowledge.index import VectorIndex
from luna_core.settings import Settings

_MODEL_MARGIN = 12  # tokens kept free below the model's window (prefix, special tokens, rounding)


@dataclass
class Knowledge:
    settings: Settings
    embedder: Embedder
    index: VectorIndex
    tika: TikaBackend

    @property
    def chunk_tokens(self) -> int:
        return min(self.settings.chunk_tokens, self.embedder.max_tokens - _MODEL_MARGIN)

    @property
    def limits(self) -> dict[str, float]:
        s = self.settings
        return {
            "max_bytes": int(s.max_upload_mb * 1024 * 1024),
            "max_unpacked_bytes": int(s.max_unpacked_mb * 1024 * 1024),
            "max_ratio": s.max_zip_ratio,
        }


def build_index(settings: Settings, maintenance: bool = False) -> VectorIndex:
    """The vector index as the application role; with ``maintenance`` (Dagster, the CLI) it may use
    the owner too, for the blue/green rebuild. The API never asks for that."""
    if settings.vector_backend == "qdrant":
        from luna_core.knowledge.index.qdrant import QdrantIndex

        path = None if settings.qdrant_url else settings.data_dir / "qdrant"
        return QdrantIndex(url=settings.qdrant_url, path=path, alias=settings.knowledge_collection)
    from luna_core.knowledge.index.pgvector import PgVectorIndex

    return PgVectorIndex(
        settings.vector_url(),
        alias=settings.knowledge_collection,
        exact_below=settings.search_exact_below,
        owner_url=settings.vector_owner_url() if maintenance else None,
        connect_timeout=settings.db_connect_timeout_seconds,
    )


def prepare_index(settings: Settings) -> None:
    """Owner side of ``luna db upgrade``: the pgvector index's extension, functions and grants, so
    the application role can use it. Qdrant needs nothing beforehand."""
    if settings.vector_backend != "pgvector":
        return
    from luna_core.knowledge.index.pgvector import PgVectorIndex

    index = PgVectorIndex(
        settings.vector_url(), alias=settings.knowledge_collection, owner_url=settings.vector_owner_url()
    )
    index.prepare()
    index.close()


_built: dict[tuple, Knowledge] = {}
_lock = threading.Lock()


def knowledge_for(settings: Settings, maintenance: bool = False) -> Knowledge:
    """One ``Knowledge`` per distinct configuration in this process; ``maintenance`` as in ``build_index``."""
    key = (
        settings.vector_backend,
        settings.vector_url().render_as_string(hide_password=False) if settings.vector_backend == "pgvector" else "",
        settings.qdrant_url,
        str(settings.data_dir),
        settings.knowledge_collection,
        settings.ollama_url,
        settings.ollama_embed_model,
        settings.tika_url,
        settings.search_exact_below,
        maintenance and str(settings.vector_owner_url()),
    )
    with _lock:
        if key not in _built:
            _built[key] = Knowledge(
                settings=settings,
                embedder=build_embedder(settings.ollama_url, settings.ollama_embed_model),
                index=build_index(settings, maintenance),
                tika=backend_for(settings.tika_url),
            )
        return _built[key]
