"""The one ingest path on real PostgreSQL: validation, quarantine, idempotency, atomicity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, func, select, text

from luna_core.db.schema import ingest_batches, meter_readings, readings_quarantine
from luna_core.db.tenancy import tenant_scope
from luna_core.ingest import IngestError, ingest_file, ingest_frame, ingest_records
from luna_core.ingest.timestamps import ACCEPTED
from tests.conftest import Meter

T0 = datetime(2026, 1, 10, tzinfo=UTC)


def _iso(ts: datetime) -> str:
    return ts.isoformat()


def _rows(meter: str, n: int, start: datetime = T0, kwh: float = 0.5) -> list[dict[str, str]]:
    return [{"meter_id": meter, "ts": _iso(start + timedelta(minutes=15 * i)), "kwh": str(kwh)} for i in range(n)]


def _count(engine: Engine, tenant: str, table) -> int:
    with tenant_scope(engine, tenant) as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    pl.DataFrame(rows, schema={"meter_id": pl.Utf8, "ts": pl.Utf8, "kwh": pl.Utf8}).write_csv(path)
    return path


def test_clean_file_is_stored_once_and_rerun_changes_nothing(engine, tenant_factory, tmp_path):
    tenant = tenant_factory(meters=(Meter("main"), Meter("pv", "pv", 10)))
    path = _write_csv(tmp_path / "clean.csv", _rows("main", 96) + _rows("pv", 96, kwh=1.0))

    first = ingest_file(engine, tenant, path)
    assert (first.rows_received, first.rows_stored, first.rows_quarantined) == (192, 192, 0)
    assert first.min_ts == T0 and first.max_ts == T0 + timedelta(minutes=15 * 95)

    again = ingest_file(engine, tenant, path)
    assert again.already_ingested and again.batch_id == first.batch_id
    # The same rows sent again under another name (new hash) change nothing either.
    renamed = ingest_frame(engine, tenant, pl.read_csv(path, infer_schema=False), source="file", source_ref="copy.csv")
    assert (renamed.rows_stored, renamed.rows_unchanged) == (0, 192)
    assert _count(engine, tenant, meter_readings) == 192


def test_each_fault_is_quarantined_with_its_reason(engine, tenant_factory):
    tenant = tenant_factory(meters=(Meter("main", max_kw=4.0),))
    good = _rows("main", 8)
    bad = [
        {"meter_id": "main", "ts": _iso(T0 + timedelta(hours=5)), "kwh": "-0.3"},
        {"meter_id": "main", "ts": _iso(T0 + timedelta(hours=5, minutes=15)), "kwh": "250"},
        {"meter_id": "main", "ts": _iso(T0 + timedelta(hours=5, minutes=30)), "kwh": "n/a"},
        {"meter_id": "main", "ts": "yesterday", "kwh": "0.2"},
        {"meter_id": "ghost", "ts": _iso(T0 + timedelta(hours=6)), "kwh": "0.2"},
        {"meter_id": "main", "ts": _iso(T0 + timedelta(hours=6, minutes=7)), "kwh": "0.2"},
        {
            "meter_id": "main",
            "ts": _iso(datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=3)),
            "kwh": "0.2",
        },
        {"meter_id": "main", "ts": "1926-01-14T00:00:00+00:00", "kwh": "0.2"},  # 2026 mistyped
    ]
    duplicate = dict(good[0])
    result = ingest_records(engine, tenant, [*good, duplicate, *bad], source="http", source_ref="test")

    assert result.rows_stored == 8
    assert result.rows_duplicate == 1
    assert result.rows_quarantined == len(bad)
    with tenant_scope(engine, tenant) as connection:
        quarantined = connection.execute(
            select(
                readings_quarantine.c.raw["ts"].astext,
                readings_quarantine.c.raw["kwh"].astext,
                readings_quarantine.c.reason,
            )
        ).all()
    reason_of = {(ts, kwh): reason for ts, kwh, reason in quarantined}
    future = datetime.fromisoformat(bad[6]["ts"])
    expected = [
        "negative energy -0.3 kWh",
        "implausible spike: 250.0 kWh in 15 minutes at 2026-01-10 05:15 UTC exceeds the limit of meter 'main' "
        "(1.0 kWh: max_kw 4.0 x 15 minutes); check the unit or the meter's max_kw",
        "value 'n/a' in column 'kwh' is not a number",
        f"unparseable timestamp 'yesterday' in column 'ts'; {ACCEPTED}",
        "unknown meter 'ghost' for this tenant; register it first (luna meters set)",
        "timestamp 2026-01-10 06:07 UTC is not on the meter's 15-minute grid (meter 'main' reads every 15 minutes)",
        f"timestamp {future:%Y-%m-%d %H:%M} UTC is after ",
        "timestamp 1926-01-14 00:00 UTC is before ",
    ]
    got = [reason_of[(row["ts"], row["kwh"])] for row in bad]
    assert got[:6] == expected[:6]
    assert got[6].startswith(expected[6]) and "LUNA_INGEST_FUTURE_TOLERANCE_MINUTES=60" in got[6]
    assert got[7].startswith(expected[7]) and "(LUNA_INGEST_MAX_AGE_DAYS=3660)" in got[7]


def test_conflicting_duplicates_keep_neither(engine, tenant_factory):
    tenant = tenant_factory()
    rows = [*_rows("main", 2), {"meter_id": "main", "ts": _iso(T0), "kwh": "0.9"}]
    result = ingest_records(engine, tenant, rows, source="http", source_ref="test")
    assert (result.rows_stored, result.rows_quarantined) == (1, 2)
    assert result.reasons == {"conflicting values for the same meter and time in one batch": 2}


def test_naive_local_times_across_dst_are_placed_or_quarantined(engine, tenant_factory):
    tenant = tenant_factory()
    rows = [
        {"meter_id": "main", "ts": "2026-03-29T01:45:00", "kwh": "0.1"},  # CET, fine
        {"meter_id": "main", "ts": "2026-03-29T02:15:00", "kwh": "0.1"},  # spring-forward gap
        {"meter_id": "main", "ts": "2026-10-25T02:15:00", "kwh": "0.1"},  # fall-back: twice
        {"meter_id": "main", "ts": "2026-10-25T03:15:00", "kwh": "0.1"},  # CET again, fine
    ]
    result = ingest_records(engine, tenant, rows, source="http", source_ref="dst")
    assert result.rows_stored == 2
    assert sorted(result.reasons) == [
        "ambiguous local time in Europe/Berlin (DST fall-back hour); send a UTC offset",
        "local time does not exist in Europe/Berlin (DST spring-forward gap)",
    ]
    with tenant_scope(engine, tenant) as connection:
        reasons = sorted(connection.execute(select(readings_quarantine.c.reason)).scalars())
    assert reasons == [
        "2026-03-29 02:15: local time does not exist in Europe/Berlin (DST spring-forward gap)",
        "2026-10-25 02:15: ambiguous local time in Europe/Berlin (DST fall-back hour); send a UTC offset",
    ]
    with tenant_scope(engine, tenant) as connection:
        stored = sorted(connection.execute(select(meter_readings.c.ts)).scalars())
    assert stored == [datetime(2026, 3, 29, 0, 45, tzinfo=UTC), datetime(2026, 10, 25, 2, 15, tzinfo=UTC)]


def test_corrected_value_replaces_the_old_one_and_late_rows_are_counted(engine, tenant_factory):
    tenant = tenant_factory()
    ingest_records(engine, tenant, _rows("main", 8), source="http", source_ref="a")
    corrected = ingest_records(
        engine,
        tenant,
        [{"meter_id": "main", "ts": _iso(T0), "kwh": "0.75", "quality": "substituted"}],
        source="http",
        source_ref="b",
    )
    assert (corrected.rows_stored, corrected.rows_late) == (1, 1)
    with tenant_scope(engine, tenant) as connection:
        row = connection.execute(select(meter_readings).where(meter_readings.c.ts == T0)).one()
    assert (row.kwh, row.quality) == (0.75, "substituted")


def test_parquet_with_typed_columns(engine, tenant_factory, tmp_path):
    tenant = tenant_factory()
    frame = pl.DataFrame(
        {
            "meter_id": ["main"] * 4,
            "ts": [T0 + timedelta(minutes=15 * i) for i in range(4)],
            "kwh": [0.1, 0.2, -1.0, 0.4],
        }
    )
    path = tmp_path / "typed.parquet"
    frame.write_parquet(path)
    result = ingest_file(engine, tenant, path)
    assert (result.rows_stored, result.rows_quarantined) == (3, 1)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "columns.csv",
            "counter,moment,amount\nmain,2026-01-01T00:00:00Z,1\n",
            "missing required column(s) meter_id, ts, kwh",
        ),
        ("nounit.csv", "meter,time,value\nmain,2026-01-01T00:00:00Z,1\n", "column 'value' does not say its unit"),
        ("empty.csv", "meter_id,ts,kwh\n", "contains no readings"),
        ("readings.xlsx", "whatever", "unsupported file type .xlsx"),
        ("broken.parquet", "not parquet at all", "cannot read as parquet"),
    ],
)
def test_malformed_file_is_a_clear_error_and_writes_nothing(engine, tenant_factory, tmp_path, name, content, message):
    tenant = tenant_factory()
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(IngestError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ingest_file(engine, tenant, path)
    assert _count(engine, tenant, ingest_batches) == 0
    assert _count(engine, tenant, meter_readings) == 0


def test_failure_mid_write_rolls_back_everything(engine, tenant_factory, monkeypatch):
    import luna_core.ingest.pipeline as pipeline

    tenant = tenant_factory()

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pipeline, "store_quarantine", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_records(
            engine,
            tenant,
            [*_rows("main", 4), {"meter_id": "main", "ts": "x", "kwh": "1"}],
            source="http",
            source_ref="boom",
        )
    assert _count(engine, tenant, meter_readings) == 0
    assert _count(engine, tenant, ingest_batches) == 0


def test_unknown_or_disabled_tenant_is_refused(engine, tenant_factory):
    from luna_core.tenants import set_tenant_status

    with pytest.raises(IngestError, match="unknown tenant"):
        ingest_records(engine, "nobody-here", _rows("main", 1), source="http", source_ref="x")
    tenant = tenant_factory()
    set_tenant_status(engine, tenant, "disabled")
    with pytest.raises(IngestError, match="is disabled"):
        ingest_records(engine, tenant, _rows("main", 1), source="http", source_ref="x")


def test_concurrent_writer_of_the_same_reading_does_not_fail_the_batch(engine, tenant_factory, caplog):
    """MERGE is not safe against a concurrent insert of the same key: the fallback upsert is."""
    import logging
    import threading

    caplog.set_level(logging.INFO, logger="luna_core.ingest.store")
    tenant = tenant_factory()
    blocker = engine.connect()
    transaction = blocker.begin()
    blocker.execute(text("SELECT set_config('luna.tenant_id', :t, true)"), {"t": tenant})
    blocker.execute(text("SELECT luna_ensure_reading_partitions(:a, :a)"), {"a": T0})
    blocker.execute(meter_readings.insert().values(tenant_id=tenant, meter_id="main", ts=T0, kwh=0.5))
    outcome: dict = {}

    def ingest() -> None:
        outcome["result"] = ingest_records(engine, tenant, _rows("main", 4), source="http", source_ref="race")

    worker = threading.Thread(target=ingest)
    worker.start()
    worker.join(timeout=1.0)
    assert worker.is_alive(), "the MERGE should wait for the uncommitted row"
    transaction.commit()
    blocker.close()
    worker.join(timeout=10)
    assert outcome["result"].rows_stored == 3  # the fourth arrived first with the same value
    assert _count(engine, tenant, meter_readings) == 4
    assert "retrying as an upsert" in caplog.text


def test_partitions_are_made_for_months_with_data_only(engine, tenant_factory):
    tenant = tenant_factory()
    rows = [
        {"meter_id": "main", "ts": "2019-03-01T00:00:00Z", "kwh": "0.1"},
        {"meter_id": "main", "ts": "2026-01-01T00:00:00Z", "kwh": "0.1"},
    ]
    ingest_records(engine, tenant, rows, source="http", source_ref="sparse")
    with engine.connect() as connection:
        partitions = set(
            connection.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = 'meter_readings'::regclass AND c.relname BETWEEN :a AND :b"
                ),
                # 2019 only: other tests of the session write readings in recent months.
                {"a": "meter_readings_y2019m01", "b": "meter_readings_y2019m12"},
            ).scalars()
        )
    assert partitions == {"meter_readings_y2019m03"}


@pytest.mark.parametrize(
    "value",
    ["x\u0000y", "\udb58\udd6f", "\ud800", "1.7976931348623157e+308", "NaN", "-inf"],
)
def test_hostile_text_is_quarantined_not_a_crash(engine, tenant_factory, value):
    """Found by schemathesis: NUL and lone surrogates once broke the quarantine write."""
    tenant = tenant_factory()
    rows = [
        {"meter_id": "main", "ts": value, "kwh": "1"},
        {"meter_id": value, "ts": _iso(T0), "kwh": value},
        {"meter_id": "main", "ts": _iso(T0), "kwh": "0.5", "quality": value},
    ]
    result = ingest_records(engine, tenant, rows, source="http", source_ref="hostile")
    assert result.rows_quarantined == 3 and result.rows_stored == 0
