"""Simulated gateway files with each injected fault, through the file-drop ingest path: the good
rows are stored exactly once and every bad row is in quarantine with a reason."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from sqlalchemy import func, select

from luna_core.db.schema import meter_readings, readings_quarantine
from luna_core.db.tenancy import tenant_scope
from luna_core.ingest import ingest_file
from luna_core.simulation.faults import FAULT_KINDS, inject_faults
from luna_core.simulation.meters import simulate_site
from luna_core.simulation.sites import DEMO_SITES_BY_ID

SITE = DEMO_SITES_BY_ID["office"]
# Both DST changes of 2026 inside the window.
START, END = datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC)
AUTUMN = (datetime(2026, 10, 23, tzinfo=UTC), datetime(2026, 10, 27, tzinfo=UTC))


@pytest.fixture(scope="module")
def clean() -> pl.DataFrame:
    return pl.concat([simulate_site(SITE, START, END), simulate_site(SITE, *AUTUMN)])


@pytest.mark.parametrize("fault", [*FAULT_KINDS, "all"])
def test_faulty_file_keeps_good_rows_once_and_quarantines_the_rest(engine, tenant_factory, tmp_path, clean, fault):
    tenant = tenant_factory("faulty", meters=SITE.meters, timezone=SITE.timezone)
    faults = FAULT_KINDS if fault == "all" else (fault,)
    raw, report = inject_faults(clean, faults, seed=3, rate=0.02, timezone=SITE.timezone)
    path = tmp_path / f"{fault}.csv"
    raw.write_csv(path)

    result = ingest_file(engine, tenant, path)
    gaps = report.counts.get("gaps", 0)
    assert result.rows_quarantined == report.expected_quarantine
    assert result.rows_duplicate == report.counts.get("duplicates", 0)
    assert result.rows_stored == clean.height - gaps - report.expected_quarantine
    with tenant_scope(engine, tenant) as connection:
        stored = connection.execute(select(func.count()).select_from(meter_readings)).scalar_one()
        reasons = connection.execute(select(readings_quarantine.c.reason)).scalars().all()
    assert stored == result.rows_stored
    assert len(reasons) == report.expected_quarantine and all(reasons)

    # Stored values are exactly the clean simulation's values for those rows.
    with tenant_scope(engine, tenant) as connection:
        rows = connection.execute(select(meter_readings.c.meter_id, meter_readings.c.ts, meter_readings.c.kwh)).all()
    got = pl.DataFrame(
        rows, schema={"meter_id": pl.Utf8, "ts": pl.Datetime("us", "UTC"), "kwh": pl.Float64}, orient="row"
    )
    joined = got.join(clean, on=["meter_id", "ts"], how="left", suffix="_clean")
    assert joined["kwh_clean"].null_count() == 0
    assert (joined["kwh"] - joined["kwh_clean"]).abs().max() < 1e-9
