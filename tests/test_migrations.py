"""Alembic upgrade to head and downgrade to base on a fresh database, and schema.py matches the result."""

from __future__ import annotations

import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from luna_core.db import migrate
from luna_core.db.schema import TENANT_TABLES, metadata
from tests.conftest import create_database, drop_database


def test_upgrade_downgrade_upgrade():
    name = f"luna_migrate_{uuid.uuid4().hex[:8]}"
    engine = create_engine(create_database(name))
    try:
        migrate.upgrade(engine, "luna_app")
        assert migrate.current_revision(engine) == migrate.head_revision()
        tables = set(inspect(engine).get_table_names())
        assert {"tenants", "market_prices", *TENANT_TABLES} <= tables

        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), metadata)
        assert diff == [], f"schema.py and the migrations disagree: {diff}"

        with engine.begin() as connection:
            connection.execute(text("INSERT INTO tenants (id, name, kind) VALUES ('mig-a', 'A', 'household')"))
            created = connection.execute(
                text("SELECT luna_ensure_reading_partitions('2026-01-31T23:00:00Z', '2026-03-01T00:00:00Z')")
            ).scalar_one()
        assert created == 3  # January, February, March
        partitions = {t for t in inspect(engine).get_table_names() if t.startswith("meter_readings_y")}
        assert partitions == {"meter_readings_y2026m01", "meter_readings_y2026m02", "meter_readings_y2026m03"}

        migrate.downgrade(engine, "luna_app")
        assert migrate.current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

        migrate.upgrade(engine, "luna_app")
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()
        drop_database(name)
