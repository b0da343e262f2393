"""Row-level security as the second wall: tenant A never sees tenant B, and no setting sees nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import ProgrammingError

from luna_core.db import schema
from luna_core.db.tenancy import InvalidTenantId, tenant_scope
from luna_core.ingest import ingest_records

TS = datetime(2026, 2, 3, 12, tzinfo=UTC)


@pytest.fixture
def tenants_with_data(engine, tenant_factory):
    a, b = tenant_factory("iso-a"), tenant_factory("iso-b")
    for tenant in (a, b):
        ingest_records(
            engine,
            tenant,
            [{"meter_id": "main", "ts": TS.isoformat(), "kwh": "1"}, {"meter_id": "main", "ts": "junk", "kwh": "1"}],
            source="http",
            source_ref="iso",
        )
        with tenant_scope(engine, tenant) as connection:
            connection.execute(schema.events.insert().values(tenant_id=tenant, ts=TS, kind="test"))
            connection.execute(schema.labels.insert().values(tenant_id=tenant, ts_from=TS, ts_to=TS, label="x"))
            connection.execute(schema.requests.insert().values(tenant_id=tenant, kind="backfill"))
            connection.execute(
                schema.audit_log.insert().values(tenant_id=tenant, actor="test", action="seed", outcome="ok")
            )
            connection.execute(
                schema.users.insert().values(tenant_id=tenant, email=f"{tenant}@x.test", role="customer")
            )
    return a, b


@pytest.mark.parametrize("table", schema.TENANT_TABLES)
def test_tenant_sees_only_its_own_rows(engine, tenants_with_data, table):
    a, b = tenants_with_data
    for me, other in ((a, b), (b, a)):
        with tenant_scope(engine, me) as connection:
            # No WHERE clause on purpose: the policy alone must hide the other tenant.
            owners = set(connection.execute(text(f"SELECT DISTINCT tenant_id FROM {table}")).scalars())
        assert other not in owners


@pytest.mark.parametrize("table", ["meter_readings", "readings_quarantine", "events", "audit_log", "users"])
def test_without_tenant_setting_nothing_is_visible(engine, tenants_with_data, table):
    with engine.connect() as connection:
        assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0


def test_cannot_write_into_another_tenant(engine, tenants_with_data):
    a, b = tenants_with_data
    with pytest.raises(ProgrammingError, match="row-level security"), tenant_scope(engine, a) as connection:
        connection.execute(schema.events.insert().values(tenant_id=b, ts=TS, kind="forged"))


def test_app_role_cannot_rewrite_the_audit_log(engine, tenants_with_data):
    a, _ = tenants_with_data
    with pytest.raises(ProgrammingError, match="permission denied"), tenant_scope(engine, a) as connection:
        connection.execute(text("DELETE FROM audit_log"))


def test_app_role_is_not_the_owner(engine):
    with engine.connect() as connection:
        user = connection.execute(text("SELECT current_user")).scalar_one()
        owner = connection.execute(text("SELECT tableowner FROM pg_tables WHERE tablename = 'meters'")).scalar_one()
        bypass = connection.execute(text("SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user"))
    assert user == "luna_app" and owner != user and bypass.scalar_one() is False


@pytest.mark.parametrize("bad", ["", "A", "../etc", "x" * 80, "a;drop table tenants", None])
def test_tenant_ids_are_validated_before_use(engine, bad):
    with pytest.raises(InvalidTenantId), tenant_scope(engine, bad):
        pass


def test_every_tenant_table_has_tenant_id_not_null_and_a_policy(engine):
    with engine.connect() as connection:
        for table in schema.TENANT_TABLES:
            nullable = connection.execute(
                text(
                    "SELECT is_nullable FROM information_schema.columns "
                    "WHERE table_name = :t AND column_name = 'tenant_id'"
                ),
                {"t": table},
            ).scalar_one()
            policies = connection.execute(
                select(func.count()).select_from(text("pg_policies")).where(text("tablename = :t")), {"t": table}
            ).scalar_one()
            assert (table, nullable, policies) == (table, "NO", 1)


def test_only_reads_commit_without_waiting_for_the_wal_flush(engine, tenant_factory):
    tenant = tenant_factory("sync")
    with tenant_scope(engine, tenant) as connection:
        assert connection.execute(text("SHOW synchronous_commit")).scalar_one() == "on"
    with tenant_scope(engine, tenant, durable=False) as connection:
        assert connection.execute(text("SHOW synchronous_commit")).scalar_one() == "off"
    # transaction-local: the pooled connection goes back durable
    with engine.connect() as connection:
        assert connection.execute(text("SHOW synchronous_commit")).scalar_one() == "on"
