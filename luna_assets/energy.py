"""Energy assets, partitioned per tenant: readings -> hourly consumption -> KPIs."""

from datetime import date

from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset

from luna_core.db.tenancy import tenant_scope
from luna_core.energy.hourly import refresh_consumption_hourly
from luna_core.energy.kpis import compute_tenant_kpis, store_tenant_kpis
from luna_core.energy.queries import readings_totals
from luna_core.ingest import IngestPolicy
from luna_core.landing import ingest_inbox
from luna_core.tariffs.service import find_month_events
from resources import DatabaseResource
from sensors.partitions import tenants_partitions


@asset(
    partitions_def=tenants_partitions,
    group_name="energy",
    kinds={"postgres", "polars"},
    description="Meter readings of the tenant (15, 30 or 60 minutes per meter): new landing files validated and "
    "upserted (MQTT and HTTP push write through the same path as they arrive); bad rows go to readings_quarantine.",
)
def meter_readings(context: AssetExecutionContext, database: DatabaseResource) -> MaterializeResult:
    tenant = context.partition_key
    settings, engine = database.settings(), database.engine()
    report = ingest_inbox(settings, engine, tenant, policy=IngestPolicy.from_settings(settings))
    for outcome in report.outcomes:
        result = outcome.result
        if outcome.refused:
            context.log.error(f"{outcome.path.name} rejected, nothing written: {outcome.error}")
        elif result is not None and result.rows_quarantined:
            context.log.warning(
                f"{outcome.path.name}: {result.rows_quarantined} rows quarantined: {result.reasons}; first of each: "
                f"{list(result.examples.values())}"
            )
    with tenant_scope(engine, tenant) as connection:
        stored = readings_totals(connection, tenant)
    return MaterializeResult(
        metadata={
            **report.totals,
            "files_ingested": MetadataValue.json(report.files_ingested),
            "files_rejected": MetadataValue.json(report.files_rejected),
            "notes": MetadataValue.json(report.notes),
            "table_rows": stored.rows,
            "meters": stored.meters,
            "readings_from": MetadataValue.timestamp(stored.first) if stored.first else "none",
            "readings_to": MetadataValue.timestamp(stored.last) if stored.last else "none",
        }
    )


class HourlyConfig(Config):
    full_refresh: bool = False
    """Recompute every hour instead of only those touched since the last run."""


@asset(
    partitions_def=tenants_partitions,
    group_name="energy",
    kinds={"postgres"},
    deps=[meter_readings],
    description="Hourly kWh per meter, refreshed for the hours that received new or corrected readings.",
)
def consumption_hourly(
    context: AssetExecutionContext, config: HourlyConfig, database: DatabaseResource
) -> MaterializeResult:
    tenant = context.partition_key
    with tenant_scope(database.engine(), tenant) as connection:
        refresh = refresh_consumption_hourly(connection, tenant, full=config.full_refresh)
    return MaterializeResult(
        metadata={
            "new_readings": refresh.new_readings,
            "hours_written": refresh.rows_written,
            "hours_from": MetadataValue.timestamp(refresh.hours_from) if refresh.hours_from else "none",
            "hours_to": MetadataValue.timestamp(refresh.hours_to) if refresh.hours_to else "none",
        }
    )


class KpiConfig(Config):
    as_of: str | None = None
    """Tenant-local day (YYYY-MM-DD); default: the day of the newest reading."""


@asset(
    partitions_def=tenants_partitions,
    group_name="energy",
    kinds={"postgres"},
    deps=[consumption_hourly, "day_ahead_prices"],
    description=(
        "kWh today and this month, cost in EUR from the tenant's tariff (else at day-ahead prices), peak kW, "
        "PV self-consumption; records limit breaches, negative-price hours and data gaps of the month as events."
    ),
)
def tenant_kpis(context: AssetExecutionContext, config: KpiConfig, database: DatabaseResource) -> MaterializeResult:
    tenant = context.partition_key
    as_of = date.fromisoformat(config.as_of) if config.as_of else None
    with tenant_scope(database.engine(), tenant) as connection:
        kpis = compute_tenant_kpis(connection, tenant, as_of)
        if kpis is None:
            context.log.warning(f"tenant {tenant} has no readings yet; no KPIs written")
            return MaterializeResult(metadata={"as_of": "none"})
        store_tenant_kpis(connection, kpis)
        new_events = find_month_events(connection, tenant, kpis.as_of)
    if kpis.unpriced_intervals:
        context.log.warning(f"{kpis.unpriced_intervals} intervals had no day-ahead price; cost excludes them")
    return MaterializeResult(
        metadata={
            "as_of": kpis.as_of.isoformat(),
            "kwh_today": round(kpis.kwh_today, 3),
            "kwh_month": round(kpis.kwh_month, 3),
            "cost_today_eur": _rounded(kpis.cost_today_eur, 2),
            "cost_month_eur": _rounded(kpis.cost_month_eur, 2),
            "peak_kw_month": _rounded(kpis.peak_kw_month, 2),
            "self_consumption_ratio": _rounded(kpis.self_consumption_ratio, 3),
            "unpriced_intervals": kpis.unpriced_intervals,
            "cost_basis": kpis.cost_basis,
            "new_events": new_events,
        }
    )


def _rounded(value: float | None, digits: int) -> float | str:
    return "n/a" if value is None else round(value, digits)
