"""Which sources this installation has, and how each is doing: its last successful read, how far its data
lags, how many of its readings were quarantined in the last day.

Everything is read from what the sources leave behind (``ingest_batches`` for meters, ``market_prices``
for prices), so the API sees the subscriber's and Dagster's reads without talking to them. Meter figures
are read per tenant under row-level security.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Connection, Engine, text

from luna_core.market.auction import day_window, last_published_day
from luna_core.settings import Settings

ERROR_WINDOW = timedelta(hours=24)

_METER_SQL = text(
    """
    SELECT source, max(finished_at) AS last_read, max(max_ts) AS newest,
           coalesce(sum(rows_quarantined) FILTER (WHERE finished_at > :since), 0) AS errors
    FROM ingest_batches
    WHERE tenant_id = :tenant AND finished_at IS NOT NULL
    GROUP BY source
    """
)
_PRICE_SQL = text(
    """
    SELECT max(ingested_at) AS last_read, max(ts + make_interval(mins => resolution_minutes)) AS newest
    FROM market_prices WHERE source = :source OR source LIKE :derived
    """
)


class PolledMeterSource(Protocol):
    """A meter source read on a schedule (OPC-UA): each poll reads the source for the interval at ``now``
    and, unless ``dry_run``, stores what it read through the ingest path."""

    def poll(self, now: datetime | None = None, *, dry_run: bool = False) -> Any: ...


@dataclass(frozen=True)
class SourceInfo:
    name: str  # the ``source`` its data carries (ingest batches, market prices)
    kind: str  # meter | price
    target: str  # where it reads from, without credentials
    tenant_id: str | None = None  # a source bound to one tenant (OPC-UA); None: every tenant's own data


@dataclass(frozen=True)
class SourceStatus:
    name: str
    kind: str
    target: str | None
    tenant_id: str | None
    last_read: datetime | None  # the newest read that stored something (meters: a finished batch)
    lag_seconds: float | None  # meters: since the newest reading; prices: behind the last published day
    errors_last_day: int  # meters: readings quarantined within ERROR_WINDOW


def configured_sources(settings: Settings) -> list[SourceInfo]:
    from luna_core.market.sources import price_source

    sources = [
        SourceInfo("file", "meter", f"landing inbox under {settings.data_dir}"),
        SourceInfo("http", "meter", "POST /ingest/readings"),
        SourceInfo("mqtt", "meter", f"mqtt://{settings.mqtt_host}:{settings.mqtt_port}/{settings.mqtt_topic}"),
    ]
    if settings.opcua_endpoint:
        target = f"{_without_credentials(settings.opcua_endpoint)} {settings.opcua_root_node}"
        sources.append(SourceInfo("opcua", "meter", target, settings.opcua_tenant))
    try:
        prices = price_source(
            settings.market_source,
            seed=settings.seed,
            csv_path=settings.market_csv_path,
            entsoe_token=settings.entsoe_token,
            entsoe_url=settings.entsoe_url,
        )
        target = {"entsoe": _without_credentials(settings.entsoe_url), "csv": str(settings.market_csv_path)}
        sources.append(SourceInfo(prices.name, "price", target.get(prices.name, f"simulator (seed {settings.seed})")))
    except ValueError as error:  # misconfigured: shown, so the operator sees why no prices arrive
        sources.append(SourceInfo(settings.market_source, "price", f"not usable: {error}"))
    return sources


def source_statuses(
    connection: Connection, settings: Settings, tenant_id: str, now: datetime | None = None
) -> list[SourceStatus]:
    """Each configured source as one tenant sees it (``connection`` in that tenant's scope): its meter sources'
    reads of this tenant's data, the price sources', and no source bound to another tenant."""
    now = now or datetime.now(UTC)
    meters = _meter_rows(connection, tenant_id, now)
    return [
        _status(info, meters, connection, now)
        for info in configured_sources(settings)
        if info.tenant_id in (None, tenant_id)
    ]


def source_totals(engine: Engine, settings: Settings, now: datetime | None = None) -> list[SourceStatus]:
    """Every configured source across all tenants (metrics): the newest read, the smallest lag and the sum
    of errors; each tenant is read in its own scope, and no tenant id is part of the result."""
    now = now or datetime.now(UTC)
    combined: dict[str, dict[str, Any]] = {}
    with engine.begin() as connection:
        tenants = list(connection.execute(text("SELECT id FROM tenants WHERE status = 'active'")).scalars())
        for tenant in tenants:
            connection.execute(text("SELECT set_config('luna.tenant_id', :t, true)"), {"t": tenant})
            for name, row in _meter_rows(connection, tenant, now).items():
                total = combined.setdefault(name, {"last_read": None, "newest": None, "errors": 0})
                total["last_read"] = _newest(total["last_read"], row["last_read"])
                total["newest"] = _newest(total["newest"], row["newest"])
                total["errors"] += row["errors"]
        statuses = [_status(info, combined, connection, now) for info in configured_sources(settings)]
    return [replace(status, tenant_id=None) for status in statuses]


def _meter_rows(connection: Connection, tenant_id: str, now: datetime) -> dict[str, dict[str, Any]]:
    rows = connection.execute(_METER_SQL, {"tenant": tenant_id, "since": now - ERROR_WINDOW})
    return {r.source: {"last_read": r.last_read, "newest": r.newest, "errors": int(r.errors)} for r in rows}


def _status(info: SourceInfo, meters: dict[str, dict[str, Any]], connection: Connection, now: datetime) -> SourceStatus:
    if info.kind == "meter":
        row = meters.get(info.name, {})
        newest = row.get("newest")
        lag = max(0.0, (now - newest).total_seconds()) if newest else None
        return SourceStatus(
            info.name, info.kind, info.target, info.tenant_id, row.get("last_read"), lag, row.get("errors", 0)
        )
    row = connection.execute(_PRICE_SQL, {"source": info.name, "derived": f"{info.name}:%"}).one()
    lag = None
    if row.newest is not None:
        expected_end = day_window(last_published_day(now), last_published_day(now))[1]
        lag = max(0.0, (expected_end - row.newest).total_seconds())
    return SourceStatus(info.name, info.kind, info.target, info.tenant_id, row.last_read, lag, 0)


def _newest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max((x for x in (a, b) if x is not None), default=None)


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
