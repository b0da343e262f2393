"""The forecasting service on real PostgreSQL and a real MLflow registry: training and the promotion
rule, forecasts to the end of tomorrow (across a DST change), live drift against measured load, the
global model's refusal without profiles, the admin's promote/rollback, and retraining requests."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from luna_core.db.tenancy import tenant_scope
from luna_core.energy.hourly import refresh_consumption_hourly
from luna_core.forecasting import service
from luna_core.forecasting.backtest import BacktestReport
from luna_core.forecasting.global_model import GLOBAL
from luna_core.forecasting.registry import CHALLENGER, CHAMPION, RegistryError, model_name
from luna_core.forecasting.store import read_forecasts, write_forecasts
from luna_core.ingest import ingest_frame
from luna_core.simulation.meters import simulate_site
from luna_core.simulation.registry import register_site
from luna_core.simulation.sites import DEMO_SITES_BY_ID
from luna_core.tenants import delete_tenant
from tests.test_model_registry import ConstantModel

# Fixed dates in 2026, in the past whenever CI runs: no wall clock, and the months 2019-2025 stay free
# of readings (tests/test_ingest.py checks that only months with data get a partition).
TRAIN_END = datetime(2026, 5, 11, tzinfo=UTC)


@dataclass
class ConstantLoadModel:
    """A champion that forecasts the same kWh every hour (what write_forecast stores is then known)."""

    kwh: float

    def predict(self, origin, hours=24, temperature_future=None, history=None):
        ts = pl.datetime_range(
            origin, origin + timedelta(hours=hours - 1), timedelta(hours=1), time_zone="UTC", eager=True
        )
        return pl.DataFrame({"ts": ts, "kwh_pred": [self.kwh] * hours})


def _readings(engine, tenant_id: str, start: datetime, end: datetime, kwh: float = 1.0) -> None:
    """Quarter-hour readings of the tenant's meter ``main`` in [start, end), then its hourly load."""
    ts = pl.datetime_range(start, end - timedelta(minutes=15), timedelta(minutes=15), time_zone="UTC", eager=True)
    frame = pl.DataFrame({"meter_id": ["main"] * ts.len(), "ts": ts, "kwh": [kwh] * ts.len()})
    ingest_frame(engine, tenant_id, frame, source="test", source_ref="forecasting-service")
    with tenant_scope(engine, tenant_id) as connection:
        refresh_consumption_hourly(connection, tenant_id)


def _champion(registry, tenant_id: str, model, metrics: dict[str, float]) -> str:
    version = registry.register(tenant_id, model, metrics=metrics, params={})
    registry.set_alias(tenant_id, version.version, CHAMPION, "set by test")
    return version.version


def _report(candidate: float, champion: float | None) -> BacktestReport:
    """A backtest of one origin whose absolute errors are the given MAEs (actual 10 kWh each hour)."""
    origin = datetime(2026, 1, 5, tzinfo=UTC)
    ts = [origin + timedelta(hours=h) for h in range(24)]
    errors = {"seasonal_naive": 3.0, service.CANDIDATE: candidate}
    if champion is not None:
        errors[CHAMPION] = champion
    return BacktestReport(
        pl.concat(
            pl.DataFrame(
                {"method": method, "origin": origin, "ts": ts, "kwh": 10.0, "kwh_pred": 10.0 + error},
                schema_overrides={"origin": pl.Datetime("us", "UTC"), "ts": pl.Datetime("us", "UTC")},
            )
            for method, error in errors.items()
        )
    )


@pytest.fixture(scope="module")
def office(engine):
    """An office with 30 days of simulated readings ending at a fixed date (enough to train)."""
    site = dataclasses.replace(DEMO_SITES_BY_ID["office"], tenant_id=f"svc-{uuid.uuid4().hex[:6]}")
    register_site(engine, site)
    readings = simulate_site(site, TRAIN_END - timedelta(days=30), TRAIN_END, seed=7).select("meter_id", "ts", "kwh")
    ingest_frame(engine, site.tenant_id, readings, source="test", source_ref="service-fixture")
    with tenant_scope(engine, site.tenant_id) as connection:
        refresh_consumption_hourly(connection, site.tenant_id)
    yield site.tenant_id
    delete_tenant(engine, site.tenant_id)


def test_training_registers_a_champion_then_applies_the_rule_to_the_next_candidate(engine, registry, office):
    first = service.train_tenant_model(engine, registry, office)
    assert first.trained and first.version == "1" and first.alias == CHAMPION and first.previous_champion is None
    assert first.reason.startswith("first version")
    assert first.metrics["backtest_mae"] == pytest.approx(first.report.mae(service.CANDIDATE))
    assert first.metrics["skill_vs_seasonal_naive"] == pytest.approx(
        1 - first.metrics["backtest_mae"] / first.metrics["seasonal_naive_mae"]
    )
    stored = registry.get(office, "1")
    holdout = datetime.fromisoformat(stored.tags["luna.holdout_start"])
    # The candidate was scored only on origins after its training data ended.
    assert min(first.report.origins) == holdout and stored.tags["luna.origins"] == str(len(first.report.origins))
    assert stored.metrics["backtest_mae"] == pytest.approx(first.metrics["backtest_mae"])

    second = service.train_tenant_model(engine, registry, office)
    assert second.version == "2" and second.previous_champion == "1"
    beats = second.report.mae(service.CANDIDATE) < second.report.mae(CHAMPION)
    assert second.alias == (CHAMPION if beats else CHALLENGER)
    assert registry.champion(office).version == ("2" if beats else "1")
    assert registry.get(office, "2").tags[f"luna.{second.alias}_reason"] == second.reason


def test_no_readings_and_short_history_train_nothing(engine, registry, tenant_factory):
    empty = tenant_factory("svc")
    assert service.train_tenant_model(engine, registry, empty) == service.TrainOutcome(
        trained=False, reason="no readings yet"
    )
    short = tenant_factory("svc")
    _readings(engine, short, TRAIN_END - timedelta(days=10), TRAIN_END)
    no_cold_start = service.TrainSettings(cold_start_days=1000)
    outcome = service.train_tenant_model(engine, registry, short, no_cold_start)
    assert not outcome.trained and outcome.reason == "10.0 days of history; training needs 28"
    assert registry.versions(short) == []


@pytest.mark.parametrize(
    ("candidate", "champion", "alias", "words"),
    [
        (1.0, None, CHAMPION, "first version"),
        (1.0, 2.0, CHAMPION, "beats the champion's 2.0000"),
        (2.0, 2.0, CHALLENGER, "does not beat"),
        (2.5, 2.0, CHALLENGER, "does not beat the champion's 2.0000"),
    ],
)
def test_promotion_is_decided_on_the_backtest_and_kept_on_the_version(registry, candidate, champion, alias, words):
    tenant = f"svc-{uuid.uuid4().hex[:6]}"
    version = registry.register(tenant, ConstantModel(1.0), metrics={"backtest_mae": candidate}, params={})
    promotion = service.record_promotion(registry, tenant, version.version, _report(candidate, champion))
    assert promotion.alias == alias and promotion.promoted == (alias == CHAMPION) and words in promotion.reason
    stored = registry.get(tenant, version.version)
    assert alias in registry.versions(tenant)[0].aliases
    assert stored.tags[f"luna.{alias}_reason"] == promotion.reason


def test_forecast_runs_to_the_end_of_tomorrow_across_the_dst_change(engine, registry, tenant_factory):
    tenant = tenant_factory("svc")
    assert service.write_forecast(engine, registry, tenant) == service.ForecastOutcome(
        written=0, reason="no champion model"
    )
    # Newest reading in the hour 10:00 UTC on Saturday 28 March 2026; the clocks go forward that night.
    _readings(engine, tenant, datetime(2026, 3, 26, tzinfo=UTC), datetime(2026, 3, 28, 11, tzinfo=UTC))
    version = _champion(registry, tenant, ConstantLoadModel(2.5), {})
    outcome = service.write_forecast(engine, registry, tenant)
    # From 12:00 CET on the 28th to midnight CEST after the 29th (a 23-hour day): 35 hours.
    assert outcome.start == datetime(2026, 3, 28, 11, tzinfo=UTC)
    assert outcome.end == datetime(2026, 3, 29, 22, tzinfo=UTC)
    assert outcome.written == 35 and outcome.model_version == version and outcome.kwh_total == pytest.approx(87.5)
    with tenant_scope(engine, tenant) as connection:
        rows = read_forecasts(connection, tenant, outcome.start, outcome.end + timedelta(days=1))
    assert len(rows) == 35 and rows[-1].ts == datetime(2026, 3, 29, 21, tzinfo=UTC)
    assert {(r.kwh, r.model_name, r.model_version) for r in rows} == {(2.5, model_name(tenant), version)}


@pytest.fixture
def measured(engine, tenant_factory):
    """A tenant with three days of complete quarter-hours (4 kWh each hour) up to NOW."""
    tenant = tenant_factory("svc")
    _readings(engine, tenant, NOW - timedelta(days=3), NOW)
    return tenant


NOW = datetime(2026, 6, 10, tzinfo=UTC)


def _forecast_measured(engine, tenant: str, version: str, offset: float) -> None:
    hours = pl.datetime_range(NOW - timedelta(days=3), NOW - timedelta(hours=1), "1h", time_zone="UTC", eager=True)
    predicted = pl.DataFrame({"ts": hours, "kwh_pred": [4.0 + offset] * hours.len()})
    with tenant_scope(engine, tenant) as connection:
        write_forecasts(connection, tenant, predicted, model_name(tenant), version)


def test_live_drift_compares_live_error_with_the_backtest_error(engine, registry, measured):
    version = _champion(registry, measured, ConstantModel(4.0), {"backtest_mae": 0.5})
    _forecast_measured(engine, measured, version, offset=0.0)
    [calm] = service.live_drift(engine, registry, [measured], factor=1.5, now=NOW)
    assert (calm.tenant_id, calm.version, calm.hours) == (measured, version, 72)
    assert calm.live_mae == pytest.approx(0.0) and calm.limit == pytest.approx(0.75) and not calm.drifted

    _forecast_measured(engine, measured, version, offset=1.0)
    [drifted] = service.live_drift(engine, registry, [measured], factor=1.5, now=NOW)
    assert drifted.live_mae == pytest.approx(1.0) and drifted.drifted
    # Too few compared hours, or a window that ended before the forecasts: nothing to compare.
    assert service.live_drift(engine, registry, [measured], factor=1.5, now=NOW, min_hours=73) == []
    assert service.live_drift(engine, registry, [measured], factor=1.5, now=NOW + timedelta(days=8)) == []


def test_live_drift_skips_tenants_without_a_champion_or_its_backtest_error(engine, registry, measured, tenant_factory):
    version = _champion(registry, measured, ConstantModel(4.0), {})  # a cold start stores no metrics
    _forecast_measured(engine, measured, version, offset=1.0)
    without_model = tenant_factory("svc")
    assert service.live_drift(engine, registry, [measured, without_model], factor=1.5, now=NOW) == []


def test_global_model_needs_two_shared_profiles(engine, registry, office):
    before = len(registry.versions(GLOBAL))
    outcome = service.train_global_model(engine, registry, service.GlobalSettings(min_days=10_000))
    assert not outcome.trained and outcome.counts["profiles"] == 0 and outcome.counts["too_short"] >= 1
    assert "at least two shared profiles" in outcome.reason
    assert len(registry.versions(GLOBAL)) == before


def test_move_champion_promotes_rolls_back_and_refuses_clearly(registry):
    tenant = f"svc-{uuid.uuid4().hex[:6]}"
    first = _champion(registry, tenant, ConstantModel(1.0), {"backtest_mae": 0.5})
    second = registry.register(tenant, ConstantModel(2.0), metrics={}, params={}).version
    listed = service.model_versions(registry, tenant)
    assert (listed.name, listed.champion) == (model_name(tenant), first)
    assert [v.version for v in listed.versions] == [second, first]

    moved = service.move_champion(registry, tenant, model_name(tenant), second, "promote by admin")
    assert moved.previous == first and CHAMPION in moved.version.aliases
    assert moved.version.tags["luna.champion_reason"] == "promote by admin"
    back = service.move_champion(registry, tenant, model_name(tenant), first, "rollback by admin")
    assert back.previous == second and registry.champion(tenant).version == first

    with pytest.raises(service.AlreadyChampion, match=f"version {first} is already the champion"):
        service.move_champion(registry, tenant, model_name(tenant), first, "again")
    with pytest.raises(service.ModelNotFound):
        service.move_champion(registry, tenant, model_name("someone-else"), second, "not mine")
    with pytest.raises(RegistryError, match="has no version 99"):
        service.move_champion(registry, tenant, model_name(tenant), "99", "missing")
    assert registry.champion(tenant).version == first


def test_retrain_requests_newest_first_and_only_the_tenants_own(engine, tenant_factory):
    tenant, other = tenant_factory("svc"), tenant_factory("svc")
    with tenant_scope(engine, tenant) as connection:
        older = service.request_retrain(connection, tenant, "new heat pump", "admin@example.com")
        newer = service.request_retrain(connection, tenant, "meter replaced", "admin@example.com")
    with tenant_scope(engine, other) as connection:
        service.request_retrain(connection, other, "not yours", "other@example.com")
    with tenant_scope(engine, tenant) as connection:
        found = service.retrain_requests(connection, tenant)
        assert [(r.id, r.kind, r.status, r.payload["reason"]) for r in found] == [
            (newer, "retrain", "pending", "meter replaced"),
            (older, "retrain", "pending", "new heat pump"),
        ]
        assert [r.id for r in service.retrain_requests(connection, tenant, limit=1)] == [newer]
        # Row-level security is the second wall: asking for another tenant inside this scope finds nothing.
        assert service.retrain_requests(connection, other) == []


def test_the_service_imports_without_scikit_learn_or_mlflow():
    """The API imports the service for every forecast read: training's libraries load only to train."""
    heavy = "{'sklearn', 'mlflow', 'pandas'}"
    probe = f"import sys, luna_core.forecasting.service; print(sorted({heavy} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout == "[]\n"
