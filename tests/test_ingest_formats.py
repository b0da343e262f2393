"""Units and German export formats on all three ingest paths (files made here, HTTP push through the
API, MQTT over the real Mosquitto), on real PostgreSQL: read right, or refused saying what to change."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select

from luna_core.db.schema import meter_readings, readings_quarantine
from luna_core.db.tenancy import tenant_scope
from luna_core.ingest import IngestError, ingest_file, ingest_records
from luna_core.ingest.mqtt import MqttIngestor
from luna_core.tenants import MeterDef
from tests.test_mqtt import HOST, PORT, _publish, _wait_for

T0 = datetime(2026, 6, 19, 22, 0, tzinfo=UTC)  # 20.06.2026 00:00 in Berlin


def _stored(engine, tenant) -> dict[tuple[str, datetime], float]:
    with tenant_scope(engine, tenant) as connection:
        rows = connection.execute(select(meter_readings.c.meter_id, meter_readings.c.ts, meter_readings.c.kwh)).all()
    return {(m, ts): kwh for m, ts, kwh in rows}


def _reasons(engine, tenant) -> list[str]:
    with tenant_scope(engine, tenant) as connection:
        return sorted(connection.execute(select(readings_quarantine.c.reason)).scalars())


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_german_utility_export_is_read(engine, tenant_factory, tmp_path):
    """';' separator, decimal comma, dd.mm.yyyy HH:MM, German headers, Windows-1252, a preamble line."""
    tenant = tenant_factory(meters=(MeterDef("1ESY1160512345", "consumption", 20.0, 15),))
    path = _write(
        tmp_path / "lastgang.csv",
        "Zählpunkt: DE0001234567890000000000000012345;;\n"
        "Zählernummer;Zeitstempel;Verbrauch (kWh)\n"
        "1ESY1160512345;20.06.2026 00:00;0,25\n"
        "1ESY1160512345;20.06.2026 00:15;1.234,5\n"  # a thousands separator: quarantined as a spike, read right
        "1ESY1160512345;20.06.2026 00:30;0,5\n",
        encoding="cp1252",
    )
    result = ingest_file(engine, tenant, path)
    assert (result.rows_stored, result.rows_quarantined) == (2, 1)
    assert _stored(engine, tenant) == {
        ("1ESY1160512345", T0): 0.25,
        ("1ESY1160512345", T0 + timedelta(minutes=30)): 0.5,
    }
    assert _reasons(engine, tenant)[0].startswith("implausible spike: 1234.5 kWh in 15 minutes")


def test_date_and_time_columns_with_a_unit_column_in_wh(engine, tenant_factory, tmp_path):
    tenant = tenant_factory(meters=(MeterDef("main", "consumption", 20.0, 15),))
    path = _write(
        tmp_path / "export.csv",
        "Datum;Uhrzeit;Zähler;Wert;Einheit\n"
        "20.06.2026;00:00;main;250;Wh\n"
        "20.06.2026;00:15;main;0,3;kWh\n"
        "20.06.2026;00:30;main;0,0004;MWh\n"
        "20.06.2026;00:45;main;2;kW\n"  # mean power over 15 minutes: 0.5 kWh
        "20.06.2026;01:00;main;800;W\n"  # 0.2 kWh
        "20.06.2026;01:15;main;7;m³\n",
    )
    result = ingest_file(engine, tenant, path)
    assert (result.rows_stored, result.rows_quarantined) == (5, 1)
    stored = _stored(engine, tenant)
    assert [stored[("main", T0 + timedelta(minutes=15 * i))] for i in range(5)] == pytest.approx(
        [0.25, 0.3, 0.4, 0.5, 0.2]
    )
    assert _reasons(engine, tenant) == ["unknown unit 'm³' in column 'Einheit' (expected Wh, kWh, MWh, W, kW, MW)"]
    assert any("in Wh (column 'Einheit') read as energy and stored as kWh" in n for n in result.notes)


def test_timestamps_without_seconds_are_read(engine, tenant_factory, tmp_path):
    tenant = tenant_factory()
    path = _write(tmp_path / "minutes.csv", "meter_id,ts,kwh\nmain,2026-06-20 00:15,0.5\nmain,2026-06-20T00:30,0.5\n")
    result = ingest_file(engine, tenant, path)
    assert (result.rows_stored, result.rows_quarantined) == (2, 0)
    assert set(_stored(engine, tenant)) == {("main", T0 + timedelta(minutes=15)), ("main", T0 + timedelta(minutes=30))}
    short_year = _write(tmp_path / "excel.csv", "Zähler;Zeitstempel;kWh\nmain;20.06.26 00:45;0,5\n")
    assert ingest_file(engine, tenant, short_year).rows_stored == 1  # 2026, not the year 26
    assert ("main", T0 + timedelta(minutes=45)) in _stored(engine, tenant)


def test_a_unit_column_overrides_the_kwh_name_and_a_contradiction_is_refused(engine, tenant_factory, tmp_path):
    tenant = tenant_factory()
    path = _write(
        tmp_path / "units.csv",
        "meter_id,ts,kwh,unit\nmain,2026-06-20T00:00:00+02:00,5,Wh\nmain,2026-06-20T00:15:00+02:00,1,\n",
    )
    ingest_file(engine, tenant, path)
    assert sorted(_stored(engine, tenant).values()) == [0.005, 1.0]  # 5 Wh, and kWh where the row says nothing

    other = tenant_factory()
    path = _write(tmp_path / "both.csv", "Zähler;Zeitstempel;Verbrauch [kWh];Einheit\nmain;20.06.2026 00:00;5;Wh\n")
    result = ingest_file(engine, other, path)
    assert result.rows_quarantined == 1
    assert _reasons(engine, other) == [
        "unit 'Wh' in column 'Einheit' contradicts column 'Verbrauch [kWh]', which is in kWh"
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("nounit.csv", "Zähler;Zeitstempel;Wert\nmain;20.06.2026 00:00;5\n", "column 'Wert' does not say its unit"),
        ("gas.csv", "Zähler;Zeitstempel;Verbrauch (m3)\nmain;20.06.2026 00:00;5\n", "column 'Verbrauch (m3)' is in"),
        (
            "register.csv",
            "Zähler;Zeitstempel;Zählerstand (kWh)\nmain;20.06.2026 00:00;12345\n",
            "holds cumulative meter register readings",
        ),
        (
            "twice.csv",
            "Zähler;Zeitstempel;Verbrauch (kWh);Wert (kWh)\nmain;20.06.2026 00:00;5;5\n",
            "columns 'Verbrauch (kWh)', 'Wert (kWh)' could each be the value",
        ),
        (
            "ragged.csv",
            "meter_id,ts,kwh\nmain,2026-06-20 00:00,0,5\n",
            "a row has more fields than the header line (the header line has 3 column(s) separated by ',')",
        ),
    ],
)
def test_unreadable_exports_are_refused_saying_what_to_change(engine, tenant_factory, tmp_path, name, content, message):
    tenant = tenant_factory()
    with pytest.raises(IngestError) as refused:
        ingest_file(engine, tenant, _write(tmp_path / name, content))
    assert message in str(refused.value)
    assert str(refused.value).startswith(name)
    assert "truncate_ragged_lines" not in str(refused.value) and "Consider" not in str(refused.value)


def test_an_ambiguous_number_is_refused_unless_the_column_tells(engine, tenant_factory, tmp_path):
    tenant = tenant_factory(meters=(MeterDef("main", "consumption", 20000.0, 15),))
    ambiguous = _write(
        tmp_path / "a.csv", "Zähler;Zeitstempel;Wert (Wh)\nmain;20.06.2026 00:00;1.234\nmain;20.06.2026 00:15;5\n"
    )
    result = ingest_file(engine, tenant, ambiguous)
    assert (result.rows_stored, result.rows_quarantined) == (1, 1)
    assert _reasons(engine, tenant)[0].startswith("'1.234': ambiguous number in column 'Wert (Wh)'")

    told = _write(
        tmp_path / "b.csv", "Zähler;Zeitstempel;Wert (Wh)\nmain;20.06.2026 00:30;1.234\nmain;20.06.2026 00:45;0,5\n"
    )
    ingest_file(engine, tenant, told)  # "0,5" makes the comma the decimal separator: 1.234 is 1234 Wh
    assert _stored(engine, tenant)[("main", T0 + timedelta(minutes=30))] == pytest.approx(1.234)


def test_parquet_with_german_names_and_typed_columns(engine, tenant_factory, tmp_path):
    tenant = tenant_factory(meters=(MeterDef("main", "consumption", 20.0, 15),))
    path = tmp_path / "typed.parquet"
    pl.DataFrame(
        {
            "Zähler": ["main", "main"],
            "Zeitstempel": [T0, T0 + timedelta(minutes=15)],
            "Wert": [300.0, 400.0],
            "Einheit": ["Wh", "Wh"],
        }
    ).write_parquet(path)
    assert ingest_file(engine, tenant, path).rows_stored == 2
    assert sorted(_stored(engine, tenant).values()) == [0.3, 0.4]


def test_http_push_reads_units_and_refuses_booleans(api, api_user, engine):
    admin = api_user(role="admin")
    ts = [(T0 + timedelta(minutes=15 * i)).isoformat() for i in range(4)]
    refused = api.post(
        "/ingest/readings", json={"readings": [{"meter_id": "main", "ts": ts[0], "kwh": True}]}, headers=admin.headers
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "invalid_request" and "kwh" in refused.json()["detail"]
    no_unit = api.post(
        "/ingest/readings", json={"readings": [{"meter_id": "main", "ts": ts[0], "value": 2}]}, headers=admin.headers
    )
    assert no_unit.status_code == 422 and "value needs a unit" in no_unit.json()["detail"]
    body = {
        "readings": [
            {"meter_id": "main", "ts": ts[0], "kwh": 500, "unit": "Wh"},
            {"meter_id": "main", "ts": ts[1], "value": 2, "unit": "kW"},
            {"meter_id": "main", "ts": ts[2], "value": "0,75"},
            {"meter_id": "main", "ts": ts[3], "kwh": "n/a"},
        ],
        "unit": "kWh",
    }
    stored = api.post("/ingest/readings", json=body, headers=admin.headers)
    assert stored.status_code == 200, stored.text
    answer = stored.json()
    assert (answer["rows_stored"], answer["rows_quarantined"]) == (3, 1), answer
    assert answer["intervals"]["main"]["source"] == "detected" and answer["intervals"]["main"]["minutes"] == 15
    values = _stored(engine, admin.tenant_id)
    # 500 Wh; 2 kW for 15 minutes; a decimal comma in text (the body's unit)
    assert [values.get(("main", T0 + timedelta(minutes=15 * i))) for i in range(3)] == [0.5, 0.5, 0.75]


def test_mqtt_payload_units_and_booleans(engine, tenant_factory):
    tenant = tenant_factory("mqttunit", meters=(MeterDef("main", "consumption", 20.0, 15),))
    topic = f"luna/{tenant}/meters/main/readings"
    ingestor = MqttIngestor(engine, HOST, PORT, topic, flush_seconds=0.2, client_id=f"test-{uuid.uuid4().hex[:8]}")
    ingestor.start()
    try:
        _publish(
            [
                (topic, json.dumps({"ts": T0.isoformat(), "kwh": 250, "unit": "Wh"}).encode()),
                (
                    topic,
                    json.dumps({"ts": (T0 + timedelta(minutes=15)).isoformat(), "value": 1.2, "unit": "kW"}).encode(),
                ),
                (topic, json.dumps({"ts": (T0 + timedelta(minutes=30)).isoformat(), "kwh": True}).encode()),
            ]
        )
        _wait_for(lambda: ingestor.stats.messages >= 3)
        ingestor.flush()
    finally:
        ingestor.stop()
    assert _stored(engine, tenant) == {("main", T0): 0.25, ("main", T0 + timedelta(minutes=15)): pytest.approx(0.3)}
    assert _reasons(engine, tenant) == ["kwh is a boolean (true), not a number"]


def test_records_keep_json_numbers_as_numbers(engine, tenant_factory):
    """1.234 sent as a JSON number is 1.234, never a thousands separator."""
    tenant = tenant_factory()
    ingest_records(
        engine, tenant, [{"meter_id": "main", "ts": T0.isoformat(), "kwh": 1.234}], source="http", source_ref="n"
    )
    assert _stored(engine, tenant) == {("main", T0): 1.234}
