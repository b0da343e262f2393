"""The vector index is reached as the application role, never the owner (issue 13, point 9).

On the embedded pgvector server of the test session (``vector_database_url``): ``prepare`` (the
owner side of ``luna db upgrade``) sets the index up; the runtime role then reads and writes rows
under row-level security, creates the first table of an empty index through the one SECURITY
DEFINER function, and can change nothing else. An API built without any owner URL answers every
knowledge request, and the regular API, which could derive the owner URL, never checks out an owner
connection to Luna's database or the vector server while serving them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import Pool

from luna_core.db.tenancy import tenant_scope
from luna_core.knowledge.errors import IndexUnavailable
from luna_core.knowledge.index import IndexPoint
from luna_core.knowledge.index.pgvector import IndexMaintenanceError, PgVectorIndex
from luna_core.settings import Settings
from luna_core.users import create_user
from tests import documents as make

DIM = 8


def _point(tenant: str, seed: int) -> IndexPoint:
    vector = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return IndexPoint(uuid.uuid4(), tenant, uuid.uuid4(), "de", vector / np.linalg.norm(vector))


@pytest.fixture
def alias() -> str:
    return f"roles_{uuid.uuid4().hex[:10]}"


def test_settings_reach_the_vector_index_as_the_app_role(settings):
    assert settings.vector_url().username == settings.app_db_role
    assert settings.vector_owner_url() == make_url(settings.vector_database_url)
    # Without a separate vector database the index lives beside the record, reached as the app role.
    shared = Settings(database_url="postgresql://owner:pw@db:5432/luna", app_db_password="app-pw", _env_file=None)
    assert shared.vector_url() == shared.app_url() and shared.vector_url().username == "luna_app"
    assert shared.vector_owner_url() == shared.owner_url()
    # The API in production: no owner URL at all, and nothing needs one.
    api_only = Settings(app_database_url="postgresql://luna_app:pw@db:5432/luna", _env_file=None)
    assert api_only.vector_url().username == "luna_app" and api_only.vector_owner_url() is None


def test_app_role_uses_the_index_under_rls_and_can_change_nothing_else(settings, alias):
    app = PgVectorIndex(settings.vector_url(), alias=alias)  # no owner: as the API builds it
    a, b = f"ta-{uuid.uuid4().hex[:6]}", f"tb-{uuid.uuid4().hex[:6]}"
    a_points = [_point(a, i) for i in range(3)]
    b_points = [_point(b, 10 + i) for i in range(2)]
    app.upsert(a_points + b_points)  # the first table, made through luna_vector_ensure
    assert {p for p, _ in app.points(a)} == {p.id for p in a_points}
    assert {p for p, _ in app.search(b, a_points[0].vector, 10)} == {p.id for p in b_points}

    with app.engine().begin() as connection:
        assert connection.execute(text("SELECT current_user")).scalar_one() == settings.app_db_role
        # The second wall: without the tenant setting the role sees no row, with it only the tenant's.
        assert connection.execute(text(f"SELECT count(*) FROM {alias}")).scalar_one() == 0
        connection.execute(text("SELECT set_config('luna.tenant_id', :t, true)"), {"t": a})
        assert connection.execute(text(f"SELECT count(*) FROM {alias}")).scalar_one() == 3
        assert connection.execute(text(f"SELECT count(*) FROM {alias} WHERE tenant_id = :b"), {"b": b}).scalar() == 0
    physical = app.info().collection
    forbidden = [
        (f"INSERT INTO {alias} (id, tenant_id, document_id, language, embedding) "
         f"SELECT gen_random_uuid(), '{b}', gen_random_uuid(), 'de', embedding FROM {alias} LIMIT 1"),
        f"DROP TABLE {physical}",
        f"CREATE TABLE {alias}_mine (id int)",
        f"SELECT luna_vector_create_table('{alias}', 8, true)",
        f"SELECT luna_vector_swap('{alias}', '{physical}', 8, true)",
        "DROP EXTENSION vector",
    ]  # fmt: skip
    for statement in forbidden:
        refused = r"row-level security|permission denied|must be owner"
        with pytest.raises(DBAPIError, match=refused), app.engine().begin() as connection:
            connection.execute(text("SELECT set_config('luna.tenant_id', :t, true)"), {"t": a})
            connection.execute(text(statement))
    with pytest.raises(IndexMaintenanceError, match="owner"):
        app.rebuild([a_points], DIM)
    with pytest.raises(IndexMaintenanceError):
        app.drop(physical or "")

    owner = PgVectorIndex(settings.vector_url(), alias=alias, owner_url=settings.vector_owner_url())
    previous = owner.rebuild([a_points, b_points], DIM)
    owner.drop(previous)
    assert previous == physical and app.info().collection != physical
    # The rebuilt table carries the same policy and grants: the app role keeps working on it.
    assert {p for p, _ in app.search(a, b_points[0].vector, 10)} == {p.id for p in a_points}
    app.delete(a, [a_points[0].id])
    assert len(app.points(a)) == 2
    app.close()
    owner.close()


def test_an_index_that_was_never_set_up_says_what_to_run(settings, vector_database_url):
    name = f"vec_{uuid.uuid4().hex[:8]}"
    server = create_engine(vector_database_url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        app_url = settings.vector_url().set(database=name)
        app = PgVectorIndex(app_url, alias="luna_knowledge")
        with pytest.raises(IndexUnavailable, match=r"not set up.*luna db upgrade"):
            app.upsert([_point("t-x", 1)])
        with pytest.raises(IndexUnavailable, match="not set up"):
            app.search("t-x", _point("t-x", 1).vector, 5)
        owner = PgVectorIndex(
            app_url, alias="luna_knowledge", owner_url=make_url(vector_database_url).set(database=name)
        )
        owner.prepare()
        app.upsert([_point("t-x", 2)])
        assert len(app.points("t-x")) == 1
        app.close()
        owner.close()
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


# --- the API -------------------------------------------------------------------------------------
@contextmanager
def connections_used() -> Iterator[list[tuple[str, str, str]]]:
    """(user, host, database) of every connection any pool in this process hands out meanwhile."""
    used: list[tuple[str, str, str]] = []

    def checkout(dbapi_connection, _record, _proxy) -> None:
        info = dbapi_connection.info
        used.append((info.user, info.host, info.dbname))

    event.listen(Pool, "checkout", checkout)
    try:
        yield used
    finally:
        event.remove(Pool, "checkout", checkout)


def _knowledge_requests(client, engine, tenant_factory) -> None:
    """Normal requests of a tenant admin: upload (the background task chunks, embeds and indexes),
    list, search, ask Luna, read the chunks, delete, and the platform status."""
    tenant = tenant_factory("roles-api")
    email, password = f"admin-{uuid.uuid4().hex[:6]}@{tenant}.example.com", "correct horse battery"
    with tenant_scope(engine, tenant) as connection:
        create_user(connection, tenant, email, password, "admin", platform_admin=True)
    with connections_used() as used:
        token = client.post("/auth/token", data={"username": email, "password": password}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        uploaded = client.post("/ingest/doc", headers=headers, files={"file": ("r.pdf", make.pdf_bytes())})
        assert uploaded.status_code == 202, uploaded.text
        document = client.get(f"/documents/{uploaded.json()['id']}", headers=headers).json()
        assert document["status"] == "indexed", document
        assert client.get("/documents", headers=headers).json()["items"]
        hits = client.post("/search", headers=headers, json={"query": "Wann ist die Wärmepumpe günstig?"})
        assert hits.status_code == 200 and hits.json()["hits"][0]["document_id"] == document["id"]
        asked = client.post("/rag/ask", headers=headers, json={"question": "Wann läuft die Wärmepumpe am günstigsten?"})
        assert asked.status_code == 200, asked.text
        assert client.get(f"/documents/{document['id']}/chunks", headers=headers).status_code == 200
        status = client.get("/admin/status", headers=headers)
        assert status.status_code == 200, status.text
        vector_store = next(c for c in status.json()["components"] if c["name"] == "vector_store")
        assert vector_store["ok"], vector_store
        assert client.delete(f"/documents/{document['id']}", headers=headers).status_code == 204
    return used


def _owner_connections(used, settings: Settings) -> list[tuple[str, str, str]]:
    """Connections to Luna's database or to the vector server by any role but the application's
    (after checking that both were used at all, as the application role)."""
    record, vectors = settings.owner_url(), make_url(settings.vector_database_url)
    vector_host = vectors.query.get("host") or vectors.host
    watched = [(user, host, db) for user, host, db in used if db == record.database or host == vector_host]
    assert {host == vector_host for user, host, _ in watched if user == settings.app_db_role} == {True, False}
    return [entry for entry in watched if entry[0] != settings.app_db_role]


def test_an_api_without_owner_credentials_serves_every_knowledge_request(
    settings, api_settings, engine, tenant_factory
):
    from fastapi.testclient import TestClient

    from luna_api.main import create_app

    values = api_settings.model_dump()
    values.update(
        database_url=None,
        vector_database_url=None,
        app_database_url=settings.app_url().render_as_string(hide_password=False),
        vector_app_database_url=settings.vector_url().render_as_string(hide_password=False),
    )
    app_only = Settings.model_validate(values)
    with pytest.raises(RuntimeError):
        app_only.owner_url()  # there is no owner to reach
    with TestClient(create_app(app_only), raise_server_exceptions=False) as client:
        used = _knowledge_requests(client, engine, tenant_factory)
    assert used and _owner_connections(used, settings) == []


def test_the_api_never_checks_out_an_owner_connection(settings, api, engine, tenant_factory):
    used = _knowledge_requests(api, engine, tenant_factory)
    users = {user for user, _, _ in used}
    assert settings.app_db_role in users
    assert _owner_connections(used, settings) == [], used
