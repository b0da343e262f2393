"""No input can jam an inbox or crash a command: odd Parquet types (a list-typed kwh, bytes with a NUL),
a file that trips an error nobody foresaw. The landing asset runs through a real Dagster materialize,
``luna ingest`` through its CLI, MQTT through the real Mosquitto, all on real PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from dagster import instance_for_test, materialize
from sqlalchemy import func, select
from typer.testing import CliRunner

import luna_core.ingest.mqtt as mqtt_module
import luna_core.ingest.pipeline as pipeline
from luna_assets.checks import ALL_CHECKS
from luna_assets.definitions import ASSETS
from luna_cli.main import app
from luna_core.db.schema import meter_readings, readings_quarantine
from luna_core.db.tenancy import tenant_scope
from luna_core.ingest import IngestError, ingest_file
from luna_core.ingest.mqtt import MqttIngestor
from luna_core.landing import drop_file, inbox_dir, tenant_dir
from luna_core.settings import get_settings
from luna_core.tenants import MeterDef
from tests.dagster_resources import luna_resources
from tests.test_mqtt import HOST, PORT, _publish, _wait_for

T0 = datetime(2026, 6, 19, 22, 0, tzinfo=UTC)
runner = CliRunner()


def _good_csv(path: Path, start: datetime, n: int = 4, meter: str = "main") -> Path:
    rows = "".join(f"{meter},{(start + timedelta(minutes=15 * i)).isoformat()},0.5\n" for i in range(n))
    path.write_text("meter_id,ts,kwh\n" + rows)
    return path


def _list_kwh_parquet(path: Path) -> Path:
    pl.DataFrame({"meter_id": ["main"], "ts": [T0.isoformat()], "kwh": [[0.1, 0.2]]}).write_parquet(path)
    return path


def _binary_parquet(path: Path) -> Path:
    pl.DataFrame(
        {
            "meter_id": [b"main", b"ma\x00in"],
            "ts": [(T0 + timedelta(hours=3)).isoformat(), (T0 + timedelta(hours=3)).isoformat()],
            "kwh": [0.4, 0.4],
            "blob": [b"\x00\xff\xfe", b"ok"],
        }
    ).write_parquet(path)
    return path


def _count(engine, tenant, table) -> int:
    with tenant_scope(engine, tenant) as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_list_typed_kwh_column_is_refused_naming_it(engine, tenant_factory, tmp_path):
    tenant = tenant_factory()
    with pytest.raises(IngestError, match=r"list.parquet: column 'kwh' holds List\(Float64\) values"):
        ingest_file(engine, tenant, _list_kwh_parquet(tmp_path / "list.parquet"))


def test_bytes_with_a_nul_are_read_and_quarantined_not_a_crash(engine, tenant_factory, tmp_path):
    tenant = tenant_factory()
    result = ingest_file(engine, tenant, _binary_parquet(tmp_path / "bytes.parquet"))
    assert (result.rows_stored, result.rows_quarantined) == (1, 1)
    with tenant_scope(engine, tenant) as connection:
        raw, reason = connection.execute(select(readings_quarantine.c.raw, readings_quarantine.c.reason)).one()
    assert raw["meter_id"] == "ma\\u0000in" and raw["blob"] == "ok"
    assert reason == "unknown meter 'ma\\u0000in' for this tenant; register it first (luna meters set)"


@pytest.fixture
def explode_on_meter(monkeypatch):
    """An error nobody foresaw, for files with a meter called 'explode' (every other file as usual)."""
    real = pipeline.validate_readings

    def validate(readings, *args, **kwargs):
        if "explode" in getattr(readings, "frame", readings)["meter_id"].to_list():
            raise ZeroDivisionError("nobody saw this coming")
        return real(readings, *args, **kwargs)

    monkeypatch.setattr(pipeline, "validate_readings", validate)


def test_no_file_jams_the_landing_inbox(engine, settings, tenant_factory, tmp_path, explode_on_meter):
    tenant = tenant_factory("jam", meters=(MeterDef("main", "consumption", 20.0, 15),))
    drop_file(settings, tenant, _good_csv(tmp_path / "a.csv", T0))
    drop_file(settings, tenant, _list_kwh_parquet(tmp_path / "b.parquet"))
    drop_file(settings, tenant, _binary_parquet(tmp_path / "c.parquet"))
    drop_file(settings, tenant, _good_csv(tmp_path / "d.csv", T0, meter="explode"))
    drop_file(settings, tenant, _good_csv(tmp_path / "e.csv", T0 + timedelta(hours=1)))
    resource = luna_resources(database_url=settings.database_url, data_dir=str(settings.data_dir))
    with instance_for_test() as instance:
        instance.add_dynamic_partitions("tenants", [tenant])
        result = materialize(
            [*ASSETS, *ALL_CHECKS],
            selection=["meter_readings"],
            partition_key=tenant,
            instance=instance,
            resources=resource,
        )
    assert result.success
    assert list(inbox_dir(settings, tenant).iterdir()) == []
    processed = sorted(p.name for p in (tenant_dir(settings, tenant) / "processed").iterdir())
    assert processed == ["a.csv", "c.parquet", "e.csv"]
    rejected = tenant_dir(settings, tenant) / "rejected"
    assert sorted(p.name for p in rejected.iterdir()) == [
        "b.parquet",
        "b.parquet.reason.txt",
        "d.csv",
        "d.csv.reason.txt",
    ]
    assert "column 'kwh' holds List(Float64) values" in (rejected / "b.parquet.reason.txt").read_text()
    assert (rejected / "d.csv.reason.txt").read_text() == (
        "d.csv: could not be ingested (ZeroDivisionError: nobody saw this coming); nothing of it was written\n"
    )
    assert _count(engine, tenant, meter_readings) == 4 + 1 + 4
    metadata = result.asset_materializations_for_node("meter_readings")[0].metadata
    assert len(metadata["files_rejected"].value) == 2


@pytest.fixture
def cli_env(settings, monkeypatch):
    monkeypatch.setenv("LUNA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LUNA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("LUNA_DAGSTER_DATABASE_URL", settings.dagster_url().render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_luna_ingest_reports_every_file_and_fails_if_one_was_refused(engine, tenant_factory, tmp_path, cli_env):
    tenant = tenant_factory("cliall", meters=(MeterDef("main", "consumption", 20.0, 15),))
    a = _good_csv(tmp_path / "a.csv", T0)
    bad = _list_kwh_parquet(tmp_path / "bad.parquet")
    c = _good_csv(tmp_path / "c.csv", T0 + timedelta(hours=1))
    (tmp_path / "c.csv").write_text((tmp_path / "c.csv").read_text() + "main,junk,1\n")
    result = runner.invoke(app, ["ingest", str(a), str(bad), str(c), str(a), "--tenant", tenant])
    assert result.exit_code == 1, result.output
    out = result.output
    assert "a.csv" in out and "c.csv" in out and "already ingested" in out
    assert "refused: bad.parquet: column 'kwh' holds List(Float64) values" in out
    assert "c.csv: 1x quarantined: unparseable timestamp in column 'ts'" in out
    assert "1 of 4 file(s) refused" in out
    assert "Traceback" not in out
    assert _count(engine, tenant, meter_readings) == 8


def test_luna_ingest_takes_the_meter_for_files_without_one(engine, tenant_factory, tmp_path, cli_env):
    tenant = tenant_factory("climeter", meters=(MeterDef("main", "consumption", 20.0, 15),))
    path = tmp_path / "single.csv"
    path.write_text("Zeitstempel;Verbrauch (kWh)\n20.06.2026 00:00;0,5\n20.06.2026 00:15;0,75\n")
    result = runner.invoke(app, ["ingest", str(path), "--tenant", tenant, "--meter", "main"])
    assert result.exit_code == 0, result.output
    assert _count(engine, tenant, meter_readings) == 2
    without = runner.invoke(app, ["ingest", str(path), "--tenant", tenant])
    assert without.exit_code == 1 and "missing required column(s) meter_id" in without.output


def test_an_unforeseen_error_in_an_mqtt_batch_keeps_it_in_quarantine_and_the_subscriber_on(
    engine, tenant_factory, monkeypatch
):
    tenant = tenant_factory("mqttrobust", meters=(MeterDef("main", "consumption", 20.0, 15),))
    real, calls = mqtt_module.ingest_records, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise ZeroDivisionError("nobody saw this coming")
        return real(*args, **kwargs)

    monkeypatch.setattr(mqtt_module, "ingest_records", flaky)
    topic = f"luna/{tenant}/meters/main/readings"
    ingestor = MqttIngestor(engine, HOST, PORT, topic, flush_seconds=60, client_id=f"test-{uuid.uuid4().hex[:8]}")
    ingestor.start()
    try:
        _publish([(topic, json.dumps({"ts": T0.isoformat(), "kwh": 0.5}).encode())])
        _wait_for(lambda: ingestor.stats.messages >= 1)
        ingestor.flush()
        _publish([(topic, json.dumps({"ts": (T0 + timedelta(minutes=15)).isoformat(), "kwh": 0.5}).encode())])
        _wait_for(lambda: ingestor.stats.messages >= 2)
        ingestor.flush()
    finally:
        ingestor.stop()
    assert _count(engine, tenant, meter_readings) == 1
    with tenant_scope(engine, tenant) as connection:
        raw, reason = connection.execute(select(readings_quarantine.c.raw, readings_quarantine.c.reason)).one()
    assert raw == {"ts": T0.isoformat(), "kwh": 0.5, "meter_id": "main"}
    assert reason == "could not be ingested (ZeroDivisionError: nobody saw this coming)"
