"""/readings/aggregate equals the same aggregate computed independently in SQL (local wall-clock
truncation with AT TIME ZONE), for every bucket, across both DST changes of 2026."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from luna_core.db.tenancy import tenant_scope
from luna_core.ingest import ingest_records
from luna_core.market.store import upsert_prices
from tests.conftest import Meter

WINDOWS = {
    "spring": (datetime(2026, 3, 26, 23, tzinfo=UTC), datetime(2026, 4, 3, 22, tzinfo=UTC)),
    "autumn": (datetime(2026, 10, 22, 22, tzinfo=UTC), datetime(2026, 11, 2, 23, tzinfo=UTC)),
}

INDEPENDENT_SQL = text(
    """
    -- The site's energy is its load; its cost is the grid import (load above PV) at the hour's price.
    WITH per_ts AS (
        SELECT r.ts,
               sum(r.kwh) FILTER (WHERE m.kind <> 'pv') AS load_kwh,
               coalesce(sum(r.kwh) FILTER (WHERE m.kind = 'pv'), 0) AS pv_kwh
        FROM meter_readings r
        JOIN meters m USING (tenant_id, meter_id)
        WHERE r.tenant_id = :tenant AND r.ts >= :start AND r.ts < :end
        GROUP BY r.ts
    )
    SELECT CASE WHEN CAST(:unit AS text) IS NULL THEN x.ts
                -- Hours do not depend on the zone (whole-hour offsets), and the repeated local
                -- hour in October must stay two buckets.
                WHEN :unit = 'hour' THEN date_trunc('hour', x.ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                ELSE date_trunc(:unit, x.ts AT TIME ZONE 'Europe/Berlin') AT TIME ZONE 'Europe/Berlin' END AS start,
           sum(x.load_kwh) AS kwh,
           sum(greatest(x.load_kwh - x.pv_kwh, 0) * p.eur_per_mwh / 1000) AS cost_eur
    FROM per_ts x
    JOIN market_prices p ON p.zone = :zone AND p.resolution_minutes = 60
         AND p.ts <= x.ts AND x.ts < p.ts + interval '1 hour'
    WHERE x.load_kwh IS NOT NULL
    GROUP BY 1 ORDER BY 1
    """
)


@pytest.fixture(scope="module")
def fixture_tenant(engine, api):
    import polars as pl

    from luna_core.tenants import create_tenant, delete_tenant

    tenant, zone = f"dst-{uuid.uuid4().hex[:6]}", f"Z-{uuid.uuid4().hex[:6]}"
    create_tenant(engine, tenant, "DST test", zone=zone, meter_specs=(Meter("main"), Meter("pv", "pv", 10.0)))
    for start, end in WINDOWS.values():
        steps = int((end - start) / timedelta(minutes=15))
        rows = [
            {
                "meter_id": meter,
                "ts": (start + i * timedelta(minutes=15)).isoformat(),
                "kwh": str(round(base + (i % 7) * 0.1, 3)),
            }
            for i in range(steps)
            for meter, base in (("main", 0.4), ("pv", 0.2))
        ]
        ingest_records(engine, tenant, rows, source="http", source_ref="dst-fixture")
        hours = [start + timedelta(hours=h) for h in range(steps // 4)]
        prices = pl.DataFrame(
            {
                "zone": [zone] * len(hours),
                "ts": hours,
                "resolution_minutes": [60] * len(hours),
                "eur_per_mwh": [50.0 + h.hour for h in hours],
                "source": ["test"] * len(hours),
            },
            schema_overrides={"resolution_minutes": pl.Int16},
        )
        with engine.begin() as connection:
            upsert_prices(connection, prices)
    yield tenant, zone
    delete_tenant(engine, tenant)


@pytest.mark.parametrize("window", sorted(WINDOWS))
@pytest.mark.parametrize("bucket", ["15min", "hour", "day", "week", "month"])
def test_aggregate_matches_independent_sql(api, api_user, engine, fixture_tenant, bucket, window):
    tenant, zone = fixture_tenant
    user = api_user(tenant)
    start, end = WINDOWS[window]
    response = api.get(
        "/readings/aggregate",
        headers=user.headers,
        params={"start": start.isoformat(), "end": end.isoformat(), "bucket": bucket},
    )
    assert response.status_code == 200, response.text
    got = [(datetime.fromisoformat(b["start"]), b["kwh"], b["cost_eur"]) for b in response.json()["current"]["buckets"]]
    unit = None if bucket == "15min" else bucket
    with tenant_scope(engine, tenant) as connection:
        expected = connection.execute(
            INDEPENDENT_SQL, {"unit": unit, "tenant": tenant, "zone": zone, "start": start, "end": end}
        ).all()
    assert [g[0] for g in got] == [e.start for e in expected]
    assert [g[1] for g in got] == pytest.approx([e.kwh for e in expected])
    assert [g[2] for g in got] == pytest.approx([e.cost_eur for e in expected])
    if bucket == "day":
        # The DST days have 23 and 25 hours: 92 and 100 quarter-hours.
        berlin = ZoneInfo("Europe/Berlin")
        sizes = {
            datetime.fromisoformat(b["start"]).astimezone(berlin).date().isoformat(): b["intervals"]
            for b in response.json()["current"]["buckets"]
        }
        if window == "spring":
            assert sizes["2026-03-29"] == 92
        else:
            assert sizes["2026-10-25"] == 100


def test_compare_previous_period(api, api_user, fixture_tenant):
    tenant, _ = fixture_tenant
    user = api_user(tenant)
    start = datetime(2026, 3, 31, 22, tzinfo=UTC)
    response = api.get(
        "/readings/aggregate",
        headers=user.headers,
        params={
            "start": start.isoformat(),
            "end": (start + timedelta(days=2)).isoformat(),
            "bucket": "day",
            "compare": "previous_period",
        },
    ).json()
    assert response["previous"]["start"].startswith("2026-03-29T22:00")
    assert response["change_pct"] == pytest.approx(
        (response["current"]["kwh"] - response["previous"]["kwh"]) / response["previous"]["kwh"] * 100, abs=0.01
    )
