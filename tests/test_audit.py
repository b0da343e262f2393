"""The audit chain verifies, and a modified or deleted row is detected."""

from __future__ import annotations

from sqlalchemy import text

from luna_core import audit
from luna_core.db.engine import owner_engine
from luna_core.db.tenancy import tenant_scope


def _write(engine, tenant, n):
    for i in range(n):
        with tenant_scope(engine, tenant) as connection:
            audit.record(
                connection,
                tenant_id=tenant,
                actor="admin@x",
                action="read",
                target=f"meter/{i}",
                detail={"i": i},
                request_id=f"r{i}",
                client_addr="127.0.0.1",
            )


def _owner_sql(settings, sql, **params):
    # The app role cannot UPDATE or DELETE audit rows; a tamperer with owner rights can.
    with owner_engine(settings).begin() as connection:
        connection.execute(text("SET LOCAL row_security = off"))
        connection.execute(text(sql), params)


def test_chain_verifies_and_links_rows(engine, tenant_factory):
    a, b = tenant_factory("audit-a"), tenant_factory("audit-b")
    _write(engine, a, 3)
    _write(engine, b, 2)
    assert audit.verify_chain(engine, [a, b]) == []
    with tenant_scope(engine, a) as connection:
        rows = connection.execute(text("SELECT prev_hash, hash FROM audit_log ORDER BY id")).all()
    assert rows[0].prev_hash is None
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]


def test_modified_row_is_detected(engine, settings, tenant_factory):
    tenant = tenant_factory("audit-m")
    _write(engine, tenant, 4)
    _owner_sql(
        settings, "UPDATE audit_log SET outcome = 'denied' WHERE tenant_id = :t AND target = 'meter/2'", t=tenant
    )
    [found] = audit.verify_chain(engine, [tenant])
    assert "modified" in found.reason


def test_deleted_row_is_detected(engine, settings, tenant_factory):
    tenant = tenant_factory("audit-d")
    _write(engine, tenant, 4)
    _owner_sql(settings, "DELETE FROM audit_log WHERE tenant_id = :t AND target = 'meter/1'", t=tenant)
    [found] = audit.verify_chain(engine, [tenant])
    assert "removed" in found.reason
