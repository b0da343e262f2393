"""Asset checks backed by the Great Expectations suites in ``luna_core.quality``."""

import warnings
from datetime import timedelta

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check

from luna_assets.energy import meter_readings
from luna_assets.market import day_ahead_prices
from luna_core.db.tenancy import tenant_scope
from luna_core.quality import suites
from luna_core.quality.expectations import QualityResult
from luna_core.tenants import get_tenant
from resources import DatabaseResource
from sensors.partitions import tenants_partitions

# Checks on a partitioned asset need partitions_def on the check, which Dagster still calls a
# preview; we depend on it knowingly (the snapshot test catches a change in behaviour).
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")


def _result(outcome: QualityResult, severity: AssetCheckSeverity = AssetCheckSeverity.ERROR) -> AssetCheckResult:
    return AssetCheckResult(
        passed=outcome.success,
        severity=severity,
        description="; ".join(outcome.failures) or f"{outcome.suite}: all expectations met",
        metadata={"rows_checked": outcome.rows, "expectations": MetadataValue.json(outcome.details)},
    )


@asset_check(
    asset=meter_readings,
    partitions_def=tenants_partitions,
    description="kWh present, >= 0, within the meter's power limit (last 7 days)",
)
def readings_in_range(context: AssetCheckExecutionContext, database: DatabaseResource) -> AssetCheckResult:
    tenant = context.partition_key
    with tenant_scope(database.engine(), tenant) as connection:
        return _result(suites.readings_in_range(connection, tenant))


@asset_check(
    asset=meter_readings,
    partitions_def=tenants_partitions,
    description="every meter delivered >= 98% of its reading intervals (15, 30 or 60 minutes) on each of the last "
    "7 complete days",
)
def readings_complete(context: AssetCheckExecutionContext, database: DatabaseResource) -> AssetCheckResult:
    tenant = context.partition_key
    with tenant_scope(database.engine(), tenant) as connection:
        timezone = get_tenant(connection, tenant).timezone
        return _result(suites.readings_complete(connection, tenant, timezone), AssetCheckSeverity.WARN)


@asset_check(
    asset=meter_readings,
    partitions_def=tenants_partitions,
    description="the newest reading is younger than LUNA_FRESHNESS_HOURS",
)
def readings_fresh(context: AssetCheckExecutionContext, database: DatabaseResource) -> AssetCheckResult:
    tenant = context.partition_key
    max_age = timedelta(hours=database.settings().freshness_hours)
    with tenant_scope(database.engine(), tenant) as connection:
        return _result(suites.readings_fresh(connection, tenant, max_age), AssetCheckSeverity.WARN)


@asset_check(
    asset=day_ahead_prices, description="prices within EPEX limits, every delivery day fully covered (last 7 days)"
)
def prices_valid(database: DatabaseResource) -> AssetCheckResult:
    settings = database.settings()
    with database.engine().connect() as connection:
        return _result(suites.prices_valid(connection, settings.default_zone))


ALL_CHECKS = [readings_in_range, readings_complete, readings_fresh, prices_valid]
