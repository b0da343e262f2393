"""Figures that monitoring needs across tenants: data freshness, ingest backlog, readings over their
meter's limit, Dagster runs (failed ones, drift retrains), disk.

Each tenant is read inside its own ``luna.tenant_id`` setting (row-level security applies to this
as to everything else); the batch table is small and indexed, so one round trip per tenant is cheap.
Dagster's run storage is read with plain SQL (its ``runs`` table), so nothing here imports Dagster.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from sqlalchemy import Connection, Engine, text

from luna_core.landing import pending_files
from luna_core.settings import Settings

TENANT_SQL = text(
    """
    SELECT max(max_ts) AS newest, max(finished_at) AS last_ingest
    FROM ingest_batches
    WHERE tenant_id = :tenant AND finished_at IS NOT NULL
    """
)
DOCUMENTS_SQL = text(
    "SELECT count(*) FILTER (WHERE status = 'needs_attention') AS attention FROM documents WHERE tenant_id = :tenant"
)
# Readings quarantined because they exceed the meter's max_kw (validate.py words them "implausible
# spike"), received within the window and not since replaced by a corrected batch.
OVER_LIMIT_SQL = text(
    """
    SELECT count(*) FROM readings_quarantine
    WHERE tenant_id = :tenant AND received_at > now() - make_interval(secs => :window)
      AND superseded_by IS NULL AND reason LIKE 'implausible spike%'
    """
)
DAGSTER_RUNS_SQL = text("SELECT status, count(*) FROM runs GROUP BY status")
DAGSTER_FAILED_SQL = text(
    "SELECT pipeline_name, count(*) FROM runs WHERE status = 'FAILURE' AND end_time > :since GROUP BY pipeline_name"
)
# The forecast_drift sensor tags each retrain it requests with luna/reason "drift: ..." and the tenant.
# create_timestamp is the database's clock, naive UTC (as Dagster reads it), so the window is too.
DAGSTER_DRIFT_SQL = text(
    """
    SELECT tenant.value, count(*) FROM runs
    JOIN run_tags reason ON reason.run_id = runs.run_id AND reason.key = 'luna/reason' AND reason.value LIKE 'drift:%'
    JOIN run_tags tenant ON tenant.run_id = runs.run_id AND tenant.key = 'tenant'
    WHERE runs.create_timestamp > (now() AT TIME ZONE 'UTC') - make_interval(secs => :window)
    GROUP BY tenant.value
    """
)
OVER_LIMIT_WINDOW_SECONDS = 86400


@dataclass(frozen=True)
class TenantFreshness:
    tenant_id: str
    newest_reading: float | None  # epoch seconds
    last_ingest: float | None
    pending_files: int
    oldest_pending_age: float  # seconds, 0 when the inbox is empty
    documents_needing_attention: int = 0
    readings_over_limit: int = 0  # within the last OVER_LIMIT_WINDOW_SECONDS


def active_tenant_ids(connection: Connection) -> list[str]:
    return list(connection.execute(text("SELECT id FROM tenants WHERE status = 'active' ORDER BY id")).scalars())


def tenant_freshness(engine: Engine, settings: Settings) -> list[TenantFreshness]:
    now = time.time()
    out = []
    with engine.begin() as connection:
        for tenant in active_tenant_ids(connection):
            connection.execute(text("SELECT set_config('luna.tenant_id', :t, true)"), {"t": tenant})
            row = connection.execute(TENANT_SQL, {"tenant": tenant}).one()
            attention = connection.execute(DOCUMENTS_SQL, {"tenant": tenant}).scalar_one()
            over_limit = connection.execute(
                OVER_LIMIT_SQL, {"tenant": tenant, "window": OVER_LIMIT_WINDOW_SECONDS}
            ).scalar_one()
            files = pending_files(settings, tenant)
            oldest = min((p.stat().st_mtime for p in files), default=now)
            out.append(
                TenantFreshness(
                    tenant,
                    row.newest.timestamp() if row.newest else None,
                    row.last_ingest.timestamp() if row.last_ingest else None,
                    len(files),
                    max(0.0, now - oldest),
                    attention,
                    over_limit,
                )
            )
    return out


def dagster_runs(engine: Engine, window_seconds: float = 3600) -> tuple[dict[str, int], dict[str, int]]:
    """(runs by status, failed runs per job within the window) from Dagster's run storage."""
    with engine.connect() as connection:
        by_status = {status: count for status, count in connection.execute(DAGSTER_RUNS_SQL)}
        failed = {
            job: count for job, count in connection.execute(DAGSTER_FAILED_SQL, {"since": time.time() - window_seconds})
        }
    return by_status, failed


def drift_retrains(engine: Engine, window_seconds: float = 86400) -> dict[str, int]:
    """Retrains the forecast_drift sensor requested per tenant within the window (Dagster's run storage)."""
    with engine.connect() as connection:
        rows = connection.execute(DAGSTER_DRIFT_SQL, {"window": window_seconds})
        return {tenant: count for tenant, count in rows}


def disk_usage(paths: dict[str, Path]) -> dict[str, tuple[int, int]]:
    """(free, total) bytes of the file system holding each existing path."""
    usage = {}
    for name, path in paths.items():
        probe = path
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        found = psutil.disk_usage(str(probe))
        usage[name] = (found.free, found.total)
    return usage
