"""Qdrant through ``qdrant-client``: a server (production) or the client's local mode (tests, one
process). One collection per build behind the alias; the tenant is a keyword payload index with
``is_tenant=true``, and every request carries the tenant ``must`` filter built in ``_tenant_filter``
(the only place it is made)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from luna_core.knowledge.errors import IndexUnavailable
from luna_core.knowledge.index import IndexInfo, IndexPoint, collection_name, rebuilt_at


class QdrantIndex:
    backend = "qdrant"

    def __init__(self, url: str | None = None, path: Path | str | None = None, alias: str = "luna_knowledge"):
        if not (url or path):
            raise ValueError("give a Qdrant url or a local path")
        self.url = url
        self.path = str(path) if path else None
        self.alias = alias
        self._client: Any = None
        # Local mode is not thread-safe; a server is, but the lock costs nothing next to a request.
        self._lock = threading.RLock()

    def client(self):
        from qdrant_client import QdrantClient

        with self._lock:
            if self._client is None:
                self._client = QdrantClient(url=self.url, timeout=10) if self.url else QdrantClient(path=self.path)
            return self._client

    def _call(self, work):
        from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

        try:
            with self._lock:
                return work(self.client())
        except (ResponseHandlingException, ConnectionError, TimeoutError) as error:
            raise IndexUnavailable(f"Qdrant unavailable: {type(error).__name__}: {error}") from None
        except UnexpectedResponse as error:
            if error.status_code and error.status_code >= 500:
                raise IndexUnavailable(f"Qdrant answered {error.status_code}") from None
            raise

    # --- the one place a tenant condition is added -------------------------------------------
    @staticmethod
    def _tenant_filter(tenant_id: str, *conditions: Any):
        from qdrant_client import models

        tenant = models.FieldCondition(key="tenant_id", match=models.MatchValue(value=tenant_id))
        return models.Filter(must=[tenant, *conditions])

    # --- collections ----------------------------------------------------------------------------
    def _live(self, client) -> str | None:
        for alias in client.get_aliases().aliases:
            if alias.alias_name == self.alias:
                return alias.collection_name
        return None

    def _create(self, client, dim: int, rebuilt: bool = False) -> str:
        from qdrant_client import models

        name = collection_name(self.alias, datetime.now(UTC), rebuilt)
        client.create_collection(
            name,
            vectors_config=models.VectorParams(size=dim, distance=models.Distance.COSINE),
            hnsw_config=models.HnswConfigDiff(payload_m=16, m=0),  # per-tenant graphs, no global one
        )
        client.create_payload_index(
            name,
            field_name="tenant_id",
            field_schema=models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True),
        )
        client.create_payload_index(name, field_name="document_id", field_schema=models.PayloadSchemaType.KEYWORD)
        return name

    def _swap(self, client, name: str) -> None:
        from qdrant_client import models

        operations: list[Any] = []
        if self._live(client):
            operations.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=self.alias)))
        operations.append(
            models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name=name, alias_name=self.alias))
        )
        client.update_collection_aliases(change_aliases_operations=operations)  # one atomic change

    def _ensure(self, client, dim: int) -> None:
        live = self._live(client)
        if live is None:
            self._swap(client, self._create(client, dim))
            return
        size = client.get_collection(live).config.params.vectors.size
        if size != dim:
            raise ValueError(f"the index holds {size}-d vectors but the embedder makes {dim}-d ones: rebuild it")

    @staticmethod
    def _point(p: IndexPoint):
        from qdrant_client import models

        return models.PointStruct(
            id=str(p.id),
            vector=np.asarray(p.vector, dtype=np.float32).tolist(),
            payload={"tenant_id": p.tenant_id, "document_id": str(p.document_id), "language": p.language},
        )

    # --- writes ---------------------------------------------------------------------------------
    def upsert(self, points: Sequence[IndexPoint]) -> None:
        if not points:
            return

        def work(client) -> None:
            self._ensure(client, int(points[0].vector.shape[-1]))
            client.upsert(self.alias, points=[self._point(p) for p in points], wait=True)

        self._call(work)

    def delete(self, tenant_id: str, ids: Collection[uuid.UUID]) -> None:
        from qdrant_client import models

        if not ids:
            return
        selector = models.FilterSelector(
            filter=self._tenant_filter(tenant_id, models.HasIdCondition(has_id=[str(i) for i in ids]))
        )
        self._call(lambda c: self._live(c) and c.delete(self.alias, points_selector=selector, wait=True))

    def delete_document(self, tenant_id: str, document_id: uuid.UUID) -> None:
        from qdrant_client import models

        document = models.FieldCondition(key="document_id", match=models.MatchValue(value=str(document_id)))
        selector = models.FilterSelector(filter=self._tenant_filter(tenant_id, document))
        self._call(lambda c: self._live(c) and c.delete(self.alias, points_selector=selector, wait=True))

    # --- reads ----------------------------------------------------------------------------------
    def search(self, tenant_id: str, vector: np.ndarray, limit: int) -> list[tuple[uuid.UUID, float]]:
        def work(client) -> list[tuple[uuid.UUID, float]]:
            if not self._live(client):
                return []
            found = client.query_points(
                self.alias,
                query=np.asarray(vector, dtype=np.float32).tolist(),
                query_filter=self._tenant_filter(tenant_id),
                limit=int(limit),
                with_payload=False,
            )
            return [(uuid.UUID(str(point.id)), float(point.score)) for point in found.points]

        return self._call(work)

    def points(self, tenant_id: str) -> list[tuple[uuid.UUID, uuid.UUID]]:
        def work(client) -> list[tuple[uuid.UUID, uuid.UUID]]:
            if not self._live(client):
                return []
            found: list[tuple[uuid.UUID, uuid.UUID]] = []
            offset = None
            while True:
                batch, offset = client.scroll(
                    self.alias,
                    scroll_filter=self._tenant_filter(tenant_id),
                    limit=1000,
                    offset=offset,
                    with_payload=["document_id"],
                    with_vectors=False,
                )
                found += [(uuid.UUID(str(p.id)), uuid.UUID(p.payload["document_id"])) for p in batch]
                if offset is None:
                    return found

        return self._call(work)

    # --- blue/green -----------------------------------------------------------------------------
    def rebuild(self, batches: Iterable[Sequence[IndexPoint]], dim: int) -> str:
        name = self._call(lambda c: self._create(c, dim, rebuilt=True))
        for batch in batches:
            if batch:
                self._call(lambda c, b=batch: c.upsert(name, points=[self._point(p) for p in b], wait=True))

        def swap(client) -> str:
            old = self._live(client) or ""
            self._swap(client, name)
            return old

        return self._call(swap)

    def drop(self, collection: str) -> None:
        if collection:
            self._call(lambda c: c.delete_collection(collection))

    def info(self) -> IndexInfo:
        def work(client) -> IndexInfo:
            live = self._live(client)
            dim = client.get_collection(live).config.params.vectors.size if live else None
            return IndexInfo(self.backend, self.alias, live, dim, None)

        info = self._call(work)
        return IndexInfo(info.backend, info.alias, info.collection, info.dim, rebuilt_at(self.alias, info.collection))

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
