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


def test_reordered_rows_are_detected(engine, settings, tenant_factory):
    tenant = tenant_factory("audit-r")
    _write(engine, tenant, 4)
    # Swap the chain places of rows 2 and 3 (through a free number: the places are unique).
    for sql in (
        "UPDATE audit_log SET chain_seq = -1 WHERE tenant_id = :t AND chain_seq = 2",
        "UPDATE audit_log SET chain_seq = 2 WHERE tenant_id = :t AND chain_seq = 3",
        "UPDATE audit_log SET chain_seq = 3 WHERE tenant_id = :t AND chain_seq = -1",
    ):
        _owner_sql(settings, sql, t=tenant)
    [found] = audit.verify_chain(engine, [tenant])
    assert "reordered" in found.reason


def test_removed_newest_rows_are_detected(engine, settings, tenant_factory):
    """A chain alone cannot tell a cut-off end; the head the trigger keeps can."""
    tenant = tenant_factory("audit-t")
    _write(engine, tenant, 4)
    _owner_sql(settings, "DELETE FROM audit_log WHERE tenant_id = :t AND target IN ('meter/2', 'meter/3')", t=tenant)
    [found] = audit.verify_chain(engine, [tenant])
    assert "newest rows were removed" in found.reason


def test_first_row_removed_is_detected(engine, settings, tenant_factory):
    tenant = tenant_factory("audit-f")
    _write(engine, tenant, 3)
    _owner_sql(settings, "DELETE FROM audit_log WHERE tenant_id = :t AND target = 'meter/0'", t=tenant)
    [found] = audit.verify_chain(engine, [tenant])
    assert "removed" in found.reason


def test_the_application_cannot_move_a_chain_head(engine, tenant_factory):
    import pytest
    from sqlalchemy.exc import ProgrammingError

    tenant = tenant_factory("audit-h")
    _write(engine, tenant, 1)
    with pytest.raises(ProgrammingError, match="permission denied"), tenant_scope(engine, tenant) as connection:
        connection.execute(text("UPDATE audit_chain_heads SET seq = 0"))


def test_actor_is_spelled_one_way():
    assert audit.actor("boss@x.example.com", "17") == "boss@x.example.com"
    assert audit.actor(None, "17") == "user:17"
    assert audit.actor(None, "oidc:abc") == "oidc:abc"
