"""Quarantine reasons carry the real values (the date, the limit, the setting to change), the batch
record knows which rows it refused and why, and a file whose rows were quarantined can be ingested
again once the cause is fixed. Real PostgreSQL; the clock is set with time-machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine
from sqlalchemy import func, select

from luna_core.db.schema import ingest_batches, meter_readings, readings_quarantine
from luna_core.db.tenancy import tenant_scope
from luna_core.ingest import IngestPolicy, ingest_file
from luna_core.tenants import MeterDef, upsert_meters

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def _csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path.write_text("meter_id,ts,kwh\n" + "".join(f"{m},{ts},{kwh}\n" for m, ts, kwh in rows))
    return path


def _quarantine(engine, tenant):
    with tenant_scope(engine, tenant) as connection:
        return connection.execute(
            select(
                readings_quarantine.c.batch_id,
                readings_quarantine.c.row_number,
                readings_quarantine.c.reason,
                readings_quarantine.c.superseded_by,
            ).order_by(readings_quarantine.c.id)
        ).all()


def _stored(engine, tenant) -> int:
    with tenant_scope(engine, tenant) as connection:
        return connection.execute(select(func.count()).select_from(meter_readings)).scalar_one()


def test_old_rows_name_the_cut_off_and_the_setting_and_come_in_after_it_changed(engine, tenant_factory, tmp_path):
    tenant = tenant_factory(meters=(MeterDef("main", "consumption", 20.0, 15),))
    path = _csv(
        tmp_path / "history.csv",
        [
            ("main", "2026-05-20T00:00:00Z", "0.5"),  # older than 30 days on 1 July
            ("main", "2026-06-20T00:00:00Z", "0.5"),
            ("main", "2026-06-20T00:15:00Z", "0.5"),
        ],
    )
    with time_machine.travel(NOW, tick=False):
        first = ingest_file(engine, tenant, path, policy=IngestPolicy(max_age=timedelta(days=30)))
        assert (first.rows_stored, first.rows_quarantined) == (2, 1)
        old = (
            "is before 2026-06-01, the oldest accepted (LUNA_INGEST_MAX_AGE_DAYS=30); raise the setting to accept "
            "older readings"
        )
        assert first.reasons == {f"timestamp {old}": 1}
        [(batch, row, reason, superseded)] = _quarantine(engine, tenant)
        assert (batch, row, superseded) == (first.batch_id, 1, None)
        assert reason == f"timestamp 2026-05-20 00:00 UTC {old}"
        with tenant_scope(engine, tenant) as connection:
            recorded = connection.execute(
                select(ingest_batches.c.reasons).where(ingest_batches.c.id == first.batch_id)
            ).scalar_one()
        assert recorded == first.reasons

        # The same file again with the same setting: read again, refused again, nothing piles up.
        again = ingest_file(engine, tenant, path, policy=IngestPolicy(max_age=timedelta(days=30)))
        assert not again.already_ingested and again.retry_of == first.batch_id
        assert (again.rows_stored, again.rows_unchanged, again.rows_quarantined) == (0, 2, 1)

        fixed = ingest_file(engine, tenant, path, policy=IngestPolicy(max_age=timedelta(days=60)))
    assert (fixed.rows_stored, fixed.rows_unchanged, fixed.rows_quarantined) == (1, 2, 0)
    assert fixed.retry_of == again.batch_id
    assert _stored(engine, tenant) == 3
    assert [q.superseded_by for q in _quarantine(engine, tenant)] == [again.batch_id, fixed.batch_id]
    # Nothing is quarantined any more: the next copy of the file is recognised as ingested.
    assert ingest_file(engine, tenant, path).already_ingested


def test_a_file_refused_for_an_unknown_meter_comes_in_once_the_meter_exists(engine, tenant_factory, tmp_path):
    tenant = tenant_factory(meters=(MeterDef("main", "consumption", 20.0, 15),))
    path = _csv(tmp_path / "two.csv", [("main", "2026-06-20T00:00:00Z", "0.5"), ("pv", "2026-06-20T00:00:00Z", "0.7")])
    first = ingest_file(engine, tenant, path)
    assert first.reasons == {"unknown meter for this tenant; register it first (luna meters set)": 1}
    assert first.examples == {
        "unknown meter for this tenant; register it first (luna meters set)": "row 2: unknown meter 'pv' for this "
        "tenant; register it first (luna meters set)"
    }
    assert [(q.row_number, q.batch_id) for q in _quarantine(engine, tenant)] == [(2, first.batch_id)]
    upsert_meters(engine, tenant, [MeterDef("pv", "pv", 10.0)])
    second = ingest_file(engine, tenant, path)
    assert (second.rows_stored, second.rows_quarantined, second.retry_of) == (1, 0, first.batch_id)
    assert any("read again" in note for note in second.notes)


def test_a_spike_names_the_limit_and_the_interval(engine, tenant_factory, tmp_path):
    tenant = tenant_factory(meters=(MeterDef("main", "consumption", 4.0, 15),))
    result = ingest_file(engine, tenant, _csv(tmp_path / "s.csv", [("main", "2026-06-20T00:00:00Z", "3")]))
    assert result.reasons == {
        "implausible spike: above the limit of meter 'main' (1.0 kWh: max_kw 4.0 x 15 minutes); check the unit or "
        "the meter's max_kw": 1
    }
    [(_, _, reason, _)] = _quarantine(engine, tenant)
    assert reason.startswith("implausible spike: 3.0 kWh in 15 minutes at 2026-06-20 00:00 UTC exceeds the limit")
