"""Playbook per tenant: the day's device schedules, recommendations and savings ledger."""

from datetime import date

from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset

from luna_assets.market import day_ahead_prices
from luna_assets.ml import load_forecast
from luna_core.playbook.service import run_day
from resources import DatabaseResource
from sensors.partitions import tenants_partitions


class PlaybookConfig(Config):
    day: str | None = None
    """Tenant-local day to plan (YYYY-MM-DD); default: tomorrow once its prices are out, else today."""
    settle_days: int = 14
    """Finished days this far back get their realised saving from the device meters."""


@asset(
    partitions_def=tenants_partitions,
    group_name="playbook",
    kinds={"postgres", "highs"},
    deps=[day_ahead_prices, load_forecast],
    description="The tenant's enabled playbook rules applied to a day: cost-optimal schedules of EVs, heat "
    "pumps and batteries (HiGHS), recommendations with their reason (catalogue messages, rendered in the "
    "reader's language when read), the savings "
    "ledger (naive vs optimised on the same prices), and realised savings of finished days.",
)
def recommendations(
    context: AssetExecutionContext, config: PlaybookConfig, database: DatabaseResource
) -> MaterializeResult:
    tenant_id = context.partition_key
    run = run_day(
        database.engine(),
        tenant_id,
        date.fromisoformat(config.day) if config.day else None,
        settle_days=config.settle_days,
    )
    for note in run.result.notes:
        context.log.info(note)
    if not run.planned:
        context.log.warning(f"{run.day}: nothing planned: {run.reason}")
    plans = run.result.plans
    return MaterializeResult(
        metadata={
            "day": run.day.isoformat(),
            "planned": run.planned,
            "reason": run.reason or "",
            "rules_enabled": run.rules,
            "devices_planned": len(plans),
            "recommendations": len(run.result.recommendations),
            "naive_cost_eur": round(run.naive_eur, 2),
            "optimised_cost_eur": round(run.optimised_eur, 2),
            "saving_eur": round(run.naive_eur - run.optimised_eur, 2),
            "days_settled": run.settled,
            "solve_ms_max": round(max((p.plan.solve_seconds for p in plans), default=0.0) * 1000, 1),
            "plans": MetadataValue.md(
                "\n".join(
                    f"- {p.plan.device} ({p.plan.kind}): {p.plan.naive_cost_eur:.2f} -> "
                    f"{p.plan.optimised_cost_eur:.2f} EUR"
                    for p in plans
                )
                or "none"
            ),
        }
    )
