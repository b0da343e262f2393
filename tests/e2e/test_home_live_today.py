"""Home's "consumption so far" comes from the same live series as its chart and the smart-meter page,
not from the KPIs the pipeline stores once an hour: a reading that arrived after
the last KPI run is counted at once, so Home and the meter page agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from luna_core.ingest import ingest_records
from tests.e2e.conftest import World, login, screenshot


def test_home_counts_a_reading_the_kpis_do_not_have_yet(page, world: World, engine):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    quarter = now - timedelta(minutes=now.minute % 15)
    result = ingest_records(
        engine,
        world.a_customer.tenant_id,
        [{"meter_id": world.a_secret_meter, "ts": quarter.isoformat(), "kwh": "1.5"}],
        source="http",
        source_ref="e2e-late",
    )
    assert result.rows_stored == 1, result.reasons
    kpis = world.api(world.a_customer, "/kpis")
    berlin = ZoneInfo("Europe/Berlin")
    midnight = datetime.fromisoformat(f"{kpis['as_of']}T00:00:00").replace(tzinfo=berlin)
    series = world.api(
        world.a_customer,
        "/readings/aggregate",
        bucket="15min",
        start=midnight.isoformat(),
        end=(midnight + timedelta(days=1)).isoformat(),
    )["current"]["buckets"]
    live_kwh = sum(b["kwh"] for b in series if b["intervals"] > 0)
    assert abs(live_kwh - kpis["kwh_today"]) >= 1.4  # the stored KPIs are an hour's run behind

    login(page, world.a_customer)
    tile = page.get_by_test_id("kpi-kwh-today")
    tile.wait_for()
    shown = None
    for _ in range(60):  # the page's CSP allows no eval, so no wait_for_function: poll the attribute
        shown = float(tile.get_attribute("data-value") or "nan")
        if abs(shown - live_kwh) < 0.01:
            break
        page.wait_for_timeout(500)
    assert shown is not None and abs(shown - live_kwh) < 0.01, (shown, live_kwh, kpis["kwh_today"])
    screenshot(page, "home-live-today")
