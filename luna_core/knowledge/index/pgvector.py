"""pgvector: one table per build, a view named after the alias pointing at the live one.

Searches and writes go through the view, so swapping it (``CREATE OR REPLACE VIEW`` in one
transaction) moves everyone to the new table at once; queries that began on the old table finish
there before it is dropped. Small tenants are searched exactly over their own rows (a btree on
tenant_id), large ones through HNSW with iterative scans, so the tenant filter never starves the
graph of candidates."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, OperationalError

from luna_core.knowledge.errors import IndexUnavailable
from luna_core.knowledge.index import IndexInfo, IndexPoint, collection_name

_LOCK_KEY = 0x4C554E41  # "LUNA": serialises creating and swapping the live table
_META = "luna_vector_alias"


class PgVectorIndex:
    backend = "pgvector"

    def __init__(self, url: URL, alias: str = "luna_knowledge", exact_below: int = 500, ef_search: int = 100):
        if not alias.isidentifier():
            raise ValueError(f"invalid alias {alias!r}")
        self.url = url
        self.alias = alias
        self.exact_below = exact_below
        self.ef_search = ef_search
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        self._counts: dict[str, tuple[float, int]] = {}

    # --- connection ---------------------------------------------------------------------------
    def engine(self) -> Engine:
        with self._engine_lock:
            if self._engine is None:
                self._engine = self._connect()
            return self._engine

    def _connect(self) -> Engine:
        try:
            bootstrap = create_engine(self.url, poolclass=None)
            with bootstrap.begin() as connection:
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
                connection.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
                connection.execute(
                    text(
                        f"CREATE TABLE IF NOT EXISTS {_META} (alias text PRIMARY KEY, physical text NOT NULL, "
                        "dim integer NOT NULL, swapped_at timestamptz NOT NULL DEFAULT now(), rebuilt_at timestamptz)"
                    )
                )
            bootstrap.dispose()
        except (OperationalError, DBAPIError) as error:
            raise IndexUnavailable(f"pgvector database unreachable: {_short(error)}") from None
        engine = create_engine(self.url, pool_pre_ping=True, pool_size=5, max_overflow=10)

        @event.listens_for(engine, "connect")
        def _register(dbapi_connection: Any, _record: Any) -> None:
            from pgvector.psycopg import register_vector

            register_vector(dbapi_connection)

        return engine

    def _run(self, work):
        """Runs ``work(connection)``; a lost database becomes IndexUnavailable."""
        try:
            engine = self.engine()
            with engine.begin() as connection:
                return work(connection)
        except IndexUnavailable:
            raise
        except OperationalError as error:
            raise IndexUnavailable(f"pgvector database unavailable: {_short(error)}") from None

    # --- the one place a tenant condition is added -------------------------------------------
    @staticmethod
    def _tenant_where(tenant_id: str, params: dict[str, Any]) -> str:
        params["tenant"] = tenant_id
        return "tenant_id = :tenant"

    # --- live table ----------------------------------------------------------------------------
    def _live(self, connection: Connection) -> tuple[str, int] | None:
        row = connection.execute(text(f"SELECT physical, dim FROM {_META} WHERE alias = :a"), {"a": self.alias}).first()
        return (row.physical, row.dim) if row else None

    def _create_table(self, connection: Connection, dim: int, *, with_indexes: bool) -> str:
        name = collection_name(self.alias, datetime.now(UTC), rebuilt=not with_indexes)
        connection.execute(
            text(
                f"CREATE TABLE {name} (id uuid PRIMARY KEY, tenant_id text NOT NULL, document_id uuid NOT NULL, "
                f"language text NOT NULL, embedding vector({int(dim)}) NOT NULL)"
            )
        )
        if with_indexes:
            self._create_indexes(connection, name)
        return name

    @staticmethod
    def _create_indexes(connection: Connection, name: str) -> None:
        connection.execute(text(f"CREATE INDEX {name}_tenant ON {name} (tenant_id, document_id)"))
        connection.execute(
            text(f"CREATE INDEX {name}_hnsw ON {name} USING hnsw (embedding vector_cosine_ops) WITH (m = 16)")
        )

    def _point_view_at(self, connection: Connection, name: str, dim: int, *, rebuilt: bool) -> None:
        connection.execute(text(f"CREATE OR REPLACE VIEW {self.alias} AS SELECT * FROM {name}"))
        connection.execute(
            text(
                f"INSERT INTO {_META} (alias, physical, dim, swapped_at, rebuilt_at) "
                "VALUES (:a, :p, :d, now(), CASE WHEN :r THEN now() END) "
                "ON CONFLICT (alias) DO UPDATE SET physical = EXCLUDED.physical, dim = EXCLUDED.dim, "
                "swapped_at = EXCLUDED.swapped_at, rebuilt_at = EXCLUDED.rebuilt_at"
            ),
            {"a": self.alias, "p": name, "d": dim, "r": rebuilt},
        )

    def _ensure(self, connection: Connection, dim: int) -> None:
        live = self._live(connection)
        if live is None:
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            live = self._live(connection)
            if live is None:
                name = self._create_table(connection, dim, with_indexes=True)
                self._point_view_at(connection, name, dim, rebuilt=False)
                return
        if live[1] != dim:
            raise ValueError(
                f"the index holds {live[1]}-d vectors but the embedder makes {dim}-d ones: rebuild the index"
            )

    # --- writes ---------------------------------------------------------------------------------
    def upsert(self, points: Sequence[IndexPoint]) -> None:
        if not points:
            return
        dim = int(points[0].vector.shape[-1])

        def work(connection: Connection) -> None:
            self._ensure(connection, dim)
            connection.execute(
                text(
                    f"INSERT INTO {self.alias} (id, tenant_id, document_id, language, embedding) "
                    "VALUES (:id, :tenant_id, :document_id, :language, :embedding) ON CONFLICT (id) DO UPDATE SET "
                    "tenant_id = EXCLUDED.tenant_id, document_id = EXCLUDED.document_id, "
                    "language = EXCLUDED.language, embedding = EXCLUDED.embedding"
                ),
                [
                    {
                        "id": p.id,
                        "tenant_id": p.tenant_id,
                        "document_id": p.document_id,
                        "language": p.language,
                        "embedding": np.asarray(p.vector, dtype=np.float32),
                    }
                    for p in points
                ],
            )

        self._run(work)
        for tenant_id in {p.tenant_id for p in points}:
            self._counts.pop(tenant_id, None)

    def delete(self, tenant_id: str, ids: Collection[uuid.UUID]) -> None:
        if not ids:
            return
        params: dict[str, Any] = {"ids": list(ids)}
        where = self._tenant_where(tenant_id, params)
        self._run_if_live(
            lambda c: c.execute(text(f"DELETE FROM {self.alias} WHERE {where} AND id = ANY(:ids)"), params)
        )
        self._counts.pop(tenant_id, None)

    def delete_document(self, tenant_id: str, document_id: uuid.UUID) -> None:
        params: dict[str, Any] = {"doc": document_id}
        where = self._tenant_where(tenant_id, params)
        self._run_if_live(
            lambda c: c.execute(text(f"DELETE FROM {self.alias} WHERE {where} AND document_id = :doc"), params)
        )
        self._counts.pop(tenant_id, None)

    def _run_if_live(self, work):
        def guarded(connection: Connection):
            return work(connection) if self._live(connection) else None

        return self._run(guarded)

    # --- reads ----------------------------------------------------------------------------------
    def _tenant_count(self, connection: Connection, tenant_id: str) -> int:
        cached = self._counts.get(tenant_id)
        if cached and time.monotonic() - cached[0] < 60:
            return cached[1]
        params: dict[str, Any] = {}
        where = self._tenant_where(tenant_id, params)
        count = connection.execute(text(f"SELECT count(*) FROM {self.alias} WHERE {where}"), params).scalar_one()
        self._counts[tenant_id] = (time.monotonic(), count)
        return count

    def search(self, tenant_id: str, vector: np.ndarray, limit: int) -> list[tuple[uuid.UUID, float]]:
        params: dict[str, Any] = {"q": np.asarray(vector, dtype=np.float32), "k": int(limit)}
        where = self._tenant_where(tenant_id, params)

        def work(connection: Connection) -> list[tuple[uuid.UUID, float]]:
            if not self._live(connection):
                return []
            if self._tenant_count(connection, tenant_id) < self.exact_below:
                # Exact: the tenant's own rows via the btree, distances computed for each. A
                # materialised CTE keeps the planner from walking the shared HNSW graph instead.
                sql = (
                    f"WITH mine AS MATERIALIZED (SELECT id, embedding FROM {self.alias} WHERE {where}) "
                    "SELECT id, 1 - (embedding <=> :q) AS score FROM mine ORDER BY embedding <=> :q LIMIT :k"
                )
            else:
                connection.execute(text("SET LOCAL hnsw.iterative_scan = strict_order"))
                connection.execute(text(f"SET LOCAL hnsw.ef_search = {int(max(self.ef_search, limit))}"))
                sql = (
                    f"SELECT id, 1 - (embedding <=> :q) AS score FROM {self.alias} WHERE {where} "
                    "ORDER BY embedding <=> :q LIMIT :k"
                )
            return [(row.id, float(row.score)) for row in connection.execute(text(sql), params)]

        return self._run(work)

    def points(self, tenant_id: str) -> list[tuple[uuid.UUID, uuid.UUID]]:
        params: dict[str, Any] = {}
        where = self._tenant_where(tenant_id, params)

        def work(connection: Connection):
            if not self._live(connection):
                return []
            rows = connection.execute(text(f"SELECT id, document_id FROM {self.alias} WHERE {where}"), params)
            return [(row.id, row.document_id) for row in rows]

        return self._run(work)

    # --- blue/green -----------------------------------------------------------------------------
    def rebuild(self, batches: Iterable[Sequence[IndexPoint]], dim: int) -> str:
        from pgvector.psycopg import register_vector

        engine = self.engine()
        with engine.begin() as connection:
            name = self._create_table(connection, dim, with_indexes=False)
        raw = engine.raw_connection()
        try:
            driver = raw.driver_connection
            register_vector(driver)
            with (
                driver.cursor() as cursor,
                cursor.copy(
                    f"COPY {name} (id, tenant_id, document_id, language, embedding) FROM STDIN WITH (FORMAT BINARY)"
                ) as copy,
            ):
                copy.set_types(["uuid", "text", "uuid", "text", "vector"])
                for batch in batches:
                    for p in batch:
                        copy.write_row((p.id, p.tenant_id, p.document_id, p.language, np.asarray(p.vector, np.float32)))
            driver.commit()
        finally:
            raw.close()
        with engine.begin() as connection:
            connection.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
            self._create_indexes(connection, name)
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            live = self._live(connection)
            if live and live[1] != dim:
                connection.execute(text(f"DROP VIEW IF EXISTS {self.alias}"))  # a new column type
            self._point_view_at(connection, name, dim, rebuilt=True)
        self._counts.clear()
        return live[0] if live else ""

    def drop(self, collection: str) -> None:
        if not collection:
            return
        if not collection.startswith(self.alias + "_") or not collection.replace("_", "").isalnum():
            raise ValueError(f"refusing to drop {collection!r}")
        with self.engine().begin() as connection:
            connection.execute(text(f"DROP TABLE IF EXISTS {collection}"))

    def info(self) -> IndexInfo:
        def work(connection: Connection) -> IndexInfo:
            row = connection.execute(
                text(f"SELECT physical, dim, rebuilt_at FROM {_META} WHERE alias = :a"), {"a": self.alias}
            ).first()
            if row is None:
                return IndexInfo(self.backend, self.alias, None, None, None)
            return IndexInfo(self.backend, self.alias, row.physical, row.dim, row.rebuilt_at)

        return self._run(work)

    def close(self) -> None:
        with self._engine_lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None


def _short(error: Exception) -> str:
    return (str(getattr(error, "orig", error)).strip().splitlines() or [type(error).__name__])[0][:200]
