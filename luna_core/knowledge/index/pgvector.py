"""pgvector: one table per build, a view named after the alias pointing at the live one.

Two roles, least privilege. The owner (``luna db upgrade``, Dagster's blue/green rebuild) runs
``prepare``: the extension, the alias table, the functions that create and swap tables
(``pgvector_sql``), the grants. The runtime role (``url``'s user: the application's) only reads
and writes rows through the view, under row-level security on ``luna.tenant_id`` (set per
transaction, next to the tenant condition every query carries), and creates the first table of an
empty index through the one SECURITY DEFINER function. The API therefore never needs the owner.

Searches and writes go through the view, so swapping it (``CREATE OR REPLACE VIEW`` in one
transaction) moves everyone to the new table at once; queries that began on the old table finish
there before it is dropped. Small tenants are searched exactly over their own rows (a btree on
tenant_id), large ones through HNSW with iterative scans, so the tenant filter never starves the
graph of candidates."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import numpy as np
import psycopg
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from luna_core.knowledge.errors import IndexUnavailable
from luna_core.knowledge.index import IndexInfo, IndexPoint
from luna_core.knowledge.index import pgvector_sql as sql

_LOCK_KEY = 0x4C554E41  # "LUNA": serialises creating and swapping the live table
_META = sql.META_TABLE
_ALIAS = re.compile(r"^[a-z_][a-z0-9_]{0,30}$")  # leaves room for the table suffixes within 63 bytes
_NOT_SET_UP = ("42P01", "42883")  # undefined table, undefined function


class IndexMaintenanceError(PermissionError):
    """A maintenance step (prepare, rebuild, drop) asked of an index that has no owner connection."""


class PgVectorIndex:
    backend = "pgvector"

    def __init__(
        self,
        url: URL,
        alias: str = "luna_knowledge",
        exact_below: int = 500,
        ef_search: int = 100,
        owner_url: URL | None = None,
        connect_timeout: int = 5,
    ):
        if not _ALIAS.match(alias):
            raise ValueError(f"invalid alias {alias!r} (lowercase letters, digits and _, at most 31)")
        self.url = url
        self.owner_url = owner_url
        self.alias = alias
        self.exact_below = exact_below
        self.ef_search = ef_search
        self.connect_timeout = connect_timeout
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        self._prepared = False
        self._counts: dict[str, tuple[float, int]] = {}

    # --- connections ----------------------------------------------------------------------------
    def engine(self) -> Engine:
        """The runtime role's pool (searches and writes)."""
        with self._engine_lock:
            if self._engine is None:
                self._engine = create_engine(
                    self.url,
                    pool_pre_ping=True,
                    pool_size=5,
                    max_overflow=10,
                    connect_args={"connect_timeout": self.connect_timeout},
                )
                event.listen(self._engine, "connect", _register_vector)
            return self._engine

    def _owner_engine(self) -> Engine:
        """The owner, for maintenance only: no pool, so no owner connection outlives its step."""
        if self.owner_url is None:
            raise IndexMaintenanceError(
                "this needs the vector index's owner (LUNA_VECTOR_DATABASE_URL or LUNA_DATABASE_URL): "
                "run it with `luna db upgrade` or from Dagster, not from the API"
            )
        return create_engine(self.owner_url, poolclass=NullPool, connect_args={"connect_timeout": self.connect_timeout})

    def prepare(self) -> None:
        """Owner side: extension, alias table, functions and the runtime role's grants (idempotent;
        tables of older versions get their policy and grants too). Creates the runtime role when the
        vector database is a server of its own that does not know it yet."""
        role = self.url.username
        engine = self._owner_engine()
        try:
            with engine.begin() as connection:
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
                connection.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
                connection.execute(text(sql.META_SQL))
                owner = connection.execute(text("SELECT current_user")).scalar_one()
                grantee = role if role and role != owner else None
                if grantee:
                    _ensure_role(connection, grantee, self.url.password)
                for statement in sql.functions(grantee, _LOCK_KEY):
                    connection.execute(text(statement))
                for function in sql.OWNER_FUNCTIONS:
                    connection.execute(text(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC"))
                if grantee:
                    connection.execute(text(f'GRANT USAGE ON SCHEMA public TO "{grantee}"'))
                    connection.execute(text(f'GRANT SELECT ON {_META} TO "{grantee}"'))
                    connection.execute(text(f'GRANT EXECUTE ON FUNCTION {sql.RUNTIME_FUNCTION} TO "{grantee}"'))
                for row in connection.execute(text(f"SELECT alias, physical FROM {_META}")).all():
                    connection.execute(text("SELECT luna_vector_secure(:t)"), {"t": row.physical})
                    connection.execute(
                        text("SELECT luna_vector_view(:a, :t, false)"), {"a": row.alias, "t": row.physical}
                    )
        except OperationalError as error:
            raise IndexUnavailable(f"pgvector database unreachable: {_short(error)}") from None
        except DBAPIError as error:  # e.g. a server without the vector extension
            raise IndexUnavailable(f"cannot set up the pgvector index: {_short(error)}") from None
        finally:
            engine.dispose()
        self._prepared = True

    def _run(self, work, tenant_id: str | None = None):
        """Runs ``work(connection)`` as the runtime role, inside the tenant's row-level security when
        one is given; a lost database becomes IndexUnavailable."""
        try:
            with self.engine().begin() as connection:
                if tenant_id is not None:
                    connection.execute(text("SELECT set_config('luna.tenant_id', :t, true)"), {"t": tenant_id})
                return work(connection)
        except IndexUnavailable:
            raise
        except OperationalError as error:
            raise IndexUnavailable(f"pgvector database unreachable: {_short(error)}") from None
        except (DBAPIError, psycopg.Error) as error:
            if not _not_set_up(error):
                raise
            if self.owner_url is not None and not self._prepared:
                self.prepare()
                return self._run(work, tenant_id)
            database = self.url.database or "?"
            raise IndexUnavailable(
                f"the pgvector index is not set up in database {database!r} (missing {_short(error)}): "
                "run `luna db upgrade`"
            ) from None

    # --- the one place a tenant condition is added -------------------------------------------
    @staticmethod
    def _tenant_where(tenant_id: str, params: dict[str, Any]) -> str:
        params["tenant"] = tenant_id
        return "tenant_id = :tenant"

    # --- live table ----------------------------------------------------------------------------
    def _live(self, connection: Connection) -> tuple[str, int] | None:
        row = connection.execute(text(f"SELECT physical, dim FROM {_META} WHERE alias = :a"), {"a": self.alias}).first()
        return (row.physical, row.dim) if row else None

    def _ensure(self, connection: Connection, dim: int) -> None:
        live = self._live(connection)
        if live is None:
            connection.execute(text("SELECT luna_vector_ensure(:a, :d)"), {"a": self.alias, "d": dim})
            live = self._live(connection)
            assert live is not None
        if live[1] != dim:
            raise ValueError(
                f"the index holds {live[1]}-d vectors but the embedder makes {dim}-d ones: rebuild the index"
            )

    # --- writes ---------------------------------------------------------------------------------
    def upsert(self, points: Sequence[IndexPoint]) -> None:
        if not points:
            return
        dim = int(points[0].vector.shape[-1])
        by_tenant: dict[str, list[IndexPoint]] = defaultdict(list)
        for point in points:
            by_tenant[point.tenant_id].append(point)

        def work(connection: Connection) -> None:
            self._ensure(connection, dim)
            for tenant_id, group in by_tenant.items():
                connection.execute(text("SELECT set_config('luna.tenant_id', :t, true)"), {"t": tenant_id})
                connection.execute(
                    text(
                        f"INSERT INTO {self.alias} (id, tenant_id, document_id, language, embedding) "
                        "VALUES (:id, :tenant_id, :document_id, :language, :embedding) ON CONFLICT (id) DO UPDATE "
                        "SET tenant_id = EXCLUDED.tenant_id, document_id = EXCLUDED.document_id, "
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
                        for p in group
                    ],
                )

        self._run(work)
        for tenant_id in by_tenant:
            self._counts.pop(tenant_id, None)

    def delete(self, tenant_id: str, ids: Collection[uuid.UUID]) -> None:
        if not ids:
            return
        params: dict[str, Any] = {"ids": list(ids)}
        where = self._tenant_where(tenant_id, params)
        self._run_if_live(
            lambda c: c.execute(text(f"DELETE FROM {self.alias} WHERE {where} AND id = ANY(:ids)"), params), tenant_id
        )
        self._counts.pop(tenant_id, None)

    def delete_document(self, tenant_id: str, document_id: uuid.UUID) -> None:
        params: dict[str, Any] = {"doc": document_id}
        where = self._tenant_where(tenant_id, params)
        self._run_if_live(
            lambda c: c.execute(text(f"DELETE FROM {self.alias} WHERE {where} AND document_id = :doc"), params),
            tenant_id,
        )
        self._counts.pop(tenant_id, None)

    def _run_if_live(self, work, tenant_id: str):
        def guarded(connection: Connection):
            return work(connection) if self._live(connection) else None

        return self._run(guarded, tenant_id)

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
                statement = (
                    f"WITH mine AS MATERIALIZED (SELECT id, embedding FROM {self.alias} WHERE {where}) "
                    "SELECT id, 1 - (embedding <=> :q) AS score FROM mine ORDER BY embedding <=> :q LIMIT :k"
                )
            else:
                connection.execute(text("SET LOCAL hnsw.iterative_scan = strict_order"))
                connection.execute(text(f"SET LOCAL hnsw.ef_search = {int(max(self.ef_search, limit))}"))
                statement = (
                    f"SELECT id, 1 - (embedding <=> :q) AS score FROM {self.alias} WHERE {where} "
                    "ORDER BY embedding <=> :q LIMIT :k"
                )
            return [(row.id, float(row.score)) for row in connection.execute(text(statement), params)]

        return self._run(work, tenant_id)

    def points(self, tenant_id: str) -> list[tuple[uuid.UUID, uuid.UUID]]:
        params: dict[str, Any] = {}
        where = self._tenant_where(tenant_id, params)

        def work(connection: Connection):
            if not self._live(connection):
                return []
            rows = connection.execute(text(f"SELECT id, document_id FROM {self.alias} WHERE {where}"), params)
            return [(row.id, row.document_id) for row in rows]

        return self._run(work, tenant_id)

    # --- blue/green (owner) ---------------------------------------------------------------------
    def rebuild(self, batches: Iterable[Sequence[IndexPoint]], dim: int) -> str:
        if not self._prepared:
            self.prepare()
        engine = self._owner_engine()
        try:
            with engine.begin() as connection:
                name = connection.execute(
                    text("SELECT luna_vector_create_table(:a, :d, true)"), {"a": self.alias, "d": dim}
                ).scalar_one()
            self._copy(engine, name, batches)
            with engine.begin() as connection:
                connection.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
                connection.execute(text("SELECT luna_vector_create_indexes(:t)"), {"t": name})
            with engine.begin() as connection:
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
                live = self._live(connection)
                connection.execute(
                    text("SELECT luna_vector_swap(:a, :t, :d, true)"), {"a": self.alias, "t": name, "d": dim}
                )
        finally:
            engine.dispose()
        self._counts.clear()
        return live[0] if live else ""

    @staticmethod
    def _copy(engine: Engine, name: str, batches: Iterable[Sequence[IndexPoint]]) -> None:
        from pgvector.psycopg import register_vector

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

    def drop(self, collection: str) -> None:
        if not collection:
            return
        if not collection.startswith(self.alias + "_") or not collection.replace("_", "").isalnum():
            raise ValueError(f"refusing to drop {collection!r}")
        engine = self._owner_engine()
        try:
            with engine.begin() as connection:
                connection.execute(text(f"DROP TABLE IF EXISTS {collection}"))
        finally:
            engine.dispose()

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


def _register_vector(dbapi_connection: Any, _record: Any) -> None:
    from pgvector.psycopg import register_vector

    register_vector(dbapi_connection)


def _ensure_role(connection: Connection, role: str, password: str | None) -> None:
    """The runtime role on a vector server of its own (on the record's server the migrations made it)."""
    if connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
        return
    statement = connection.execute(
        text("SELECT format('CREATE ROLE %I LOGIN NOINHERIT PASSWORD %L', CAST(:r AS text), CAST(:p AS text))"),
        {"r": role, "p": password},
    ).scalar_one()
    connection.execute(text(statement))


def _not_set_up(error: Exception) -> bool:
    """Missing alias table or function (``prepare`` never ran), or no vector extension at all."""
    orig = getattr(error, "orig", error)
    return getattr(orig, "sqlstate", None) in _NOT_SET_UP or "vector type not found" in str(orig)


def _short(error: Exception) -> str:
    return (str(getattr(error, "orig", error)).strip().splitlines() or [type(error).__name__])[0][:200]
