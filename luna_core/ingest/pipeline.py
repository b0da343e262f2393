"""The one ingest path: read -> validate -> upsert + quarantine + batch record, in one transaction.

Every adapter (file drop, MQTT, HTTP push) ends here, so every path validates, writes
idempotently and quarantines the same way. A malformed input raises ``IngestError`` and
leaves nothing behind. A re-sent file (same content hash) is recognised and not applied twice,
unless rows of it were quarantined: then it is ingested again (after the cause was fixed, the
rows it refused are stored), and the earlier batch's quarantined rows are marked superseded.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, select, text

from luna_core.db.schema import ingest_batches
from luna_core.db.tenancy import tenant_scope
from luna_core.ingest.columns import Readings, readings_from_frame
from luna_core.ingest.errors import IngestError
from luna_core.ingest.files import SUPPORTED_SUFFIXES, read_readings_file
from luna_core.ingest.intervals import interval_notes
from luna_core.ingest.records import readings_from_records
from luna_core.ingest.store import (
    keep_detected_intervals,
    latest_per_meter,
    meter_infos,
    store_quarantine,
    supersede_quarantine,
    upsert_readings,
)
from luna_core.ingest.validate import IngestPolicy, Validated, validate_readings
from luna_core.tenants import TenantError, get_tenant

log = logging.getLogger(__name__)
__all__ = ["SUPPORTED_SUFFIXES", "IngestResult", "ingest_file", "ingest_frame", "ingest_records"]


@dataclass
class IngestResult:
    tenant_id: str
    source: str
    source_ref: str
    batch_id: int | None = None
    rows_received: int = 0
    rows_stored: int = 0
    rows_unchanged: int = 0
    rows_duplicate: int = 0
    rows_quarantined: int = 0
    rows_late: int = 0
    min_ts: datetime | None = None
    max_ts: datetime | None = None
    reasons: dict[str, int] = field(default_factory=dict)  # reason (with its limits and settings) -> rows
    intervals: dict[str, dict[str, Any]] = field(default_factory=dict)  # meter -> {minutes, source}
    notes: list[str] = field(default_factory=list)  # what was detected, converted or assumed
    examples: dict[str, str] = field(default_factory=dict)  # reason -> its first row ("row 7: ..."), for logs
    retry_of: int | None = None  # the earlier batch of the same content that had quarantined rows
    already_ingested: bool = False

    def as_metadata(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def ingest_file(
    engine: Engine,
    tenant_id: str,
    path: Path,
    *,
    policy: IngestPolicy | None = None,
    default_meter: str | None = None,
) -> IngestResult:
    raw, digest = read_readings_file(path)
    readings = _named(path.name, lambda: readings_from_frame(raw, default_meter))
    return _ingest(
        engine,
        tenant_id,
        readings,
        source="file",
        source_ref=path.name,
        content_sha256=digest,
        policy=policy,
    )


def ingest_frame(
    engine: Engine,
    tenant_id: str,
    raw: pl.DataFrame,
    *,
    source: str,
    source_ref: str,
    content_sha256: str | None = None,
    policy: IngestPolicy | None = None,
) -> IngestResult:
    """A frame as a file would give it (any column names Luna recognises, text or typed)."""
    if raw.height == 0:
        raise IngestError("no readings given")
    return _ingest(
        engine,
        tenant_id,
        readings_from_frame(raw),
        source=source,
        source_ref=source_ref,
        content_sha256=content_sha256,
        policy=policy,
    )


def ingest_records(
    engine: Engine,
    tenant_id: str,
    records: list[dict[str, Any]],
    *,
    source: str,
    source_ref: str,
    policy: IngestPolicy | None = None,
    notes: list[str] | None = None,
) -> IngestResult:
    """JSON-like records (MQTT payloads, HTTP bodies): ``kwh`` or ``value`` + ``unit`` each. ``notes``: what
    the adapter itself detected (an OPC-UA counter reset), kept with the batch's own notes."""
    if not records:
        raise IngestError("no readings given")
    return _ingest(
        engine,
        tenant_id,
        readings_from_records(records),
        source=source,
        source_ref=source_ref,
        policy=policy,
        adapter_notes=notes,
    )


def quarantine_records(
    engine: Engine, tenant_id: str, records: list[dict[str, Any]], *, source: str, source_ref: str, reason: str
) -> IngestResult:
    """Keeps records that could not be ingested at all, as sent, with the reason: nothing is lost."""
    readings = readings_from_records(records)
    raw = readings.raw_rows(pl.Series(range(readings.frame.height)))
    rejected = pl.DataFrame({"row": range(1, len(raw) + 1), "raw": raw, "reason": [reason] * len(raw)})
    result = IngestResult(tenant_id=tenant_id, source=source, source_ref=source_ref, rows_received=len(raw))
    with tenant_scope(engine, tenant_id) as connection:
        _tenant_timezone(connection, tenant_id)
        result.batch_id = connection.execute(
            ingest_batches.insert()
            .values(
                tenant_id=tenant_id,
                source=source,
                source_ref=source_ref,
                rows_received=len(raw),
                rows_quarantined=len(raw),
                reasons={reason: len(raw)},
                finished_at=text("now()"),
            )
            .returning(ingest_batches.c.id)
        ).scalar_one()
        store_quarantine(connection, tenant_id, result.batch_id, rejected)
    result.rows_quarantined, result.reasons = len(raw), {reason: len(raw)}
    return result


def _named(name: str, read):
    try:
        return read()
    except IngestError as error:
        raise IngestError(f"{name}: {error}") from None


def _ingest(
    engine: Engine,
    tenant_id: str,
    readings: Readings,
    *,
    source: str,
    source_ref: str,
    content_sha256: str | None = None,
    policy: IngestPolicy | None = None,
    adapter_notes: list[str] | None = None,
) -> IngestResult:
    result = IngestResult(tenant_id=tenant_id, source=source, source_ref=source_ref)
    with tenant_scope(engine, tenant_id) as connection:
        timezone = _tenant_timezone(connection, tenant_id)
        if content_sha256 and (earlier := _newest_batch(connection, tenant_id, content_sha256)):
            if not earlier.rows_quarantined:
                earlier.already_ingested = True
                return earlier
            result.retry_of = earlier.batch_id
        batch_meters = readings.frame["meter_id"].str.strip_chars().drop_nulls().unique().to_list()
        validated = validate_readings(
            readings, meter_infos(connection, tenant_id, batch_meters), timezone, policy=policy
        )
        clean, rejected = validated.clean, validated.rejected
        batch_id = connection.execute(
            ingest_batches.insert()
            .values(
                tenant_id=tenant_id,
                source=source,
                source_ref=source_ref,
                content_sha256=content_sha256,
                retry_of=result.retry_of,
            )
            .returning(ingest_batches.c.id)
        ).scalar_one()
        keep_detected_intervals(
            connection,
            tenant_id,
            {m: i.minutes for m, i in validated.intervals.items() if i.source == "detected"},
        )
        result.rows_late = _count_late(connection, tenant_id, clean)
        result.rows_stored = upsert_readings(connection, tenant_id, batch_id, clean)
        store_quarantine(connection, tenant_id, batch_id, rejected)
        if content_sha256 and result.retry_of:
            supersede_quarantine(connection, tenant_id, content_sha256, batch_id)

        result.batch_id = batch_id
        result.rows_received = readings.frame.height
        result.rows_unchanged = clean.height - result.rows_stored
        result.rows_duplicate = validated.duplicates
        result.rows_quarantined = rejected.height
        result.min_ts = clean["ts"].min() if clean.height else None
        result.max_ts = clean["ts"].max() if clean.height else None
        result.reasons = dict(Counter(rejected["kind"].to_list()).most_common())
        first = rejected.unique(subset="kind", keep="first", maintain_order=True)
        result.examples = {
            k: f"row {row}: {reason}" for row, reason, k in first.select("row", "reason", "kind").iter_rows()
        }
        result.intervals = {m: i.as_json() for m, i in sorted(validated.intervals.items())}
        result.notes = [*(adapter_notes or []), *_notes(validated, readings, result)]
        connection.execute(
            ingest_batches.update()
            .where(ingest_batches.c.id == batch_id)
            .values(
                rows_received=result.rows_received,
                rows_stored=result.rows_stored,
                rows_unchanged=result.rows_unchanged,
                rows_duplicate=result.rows_duplicate,
                rows_quarantined=result.rows_quarantined,
                rows_late=result.rows_late,
                min_ts=result.min_ts,
                max_ts=result.max_ts,
                reasons=result.reasons,
                intervals=result.intervals,
                notes=result.notes,
                finished_at=text("now()"),
            )
        )
    log.info(
        "ingest %s %s for %s: %d received, %d stored, %d unchanged, %d duplicate, %d quarantined",
        source,
        source_ref,
        tenant_id,
        result.rows_received,
        result.rows_stored,
        result.rows_unchanged,
        result.rows_duplicate,
        result.rows_quarantined,
    )
    return result


def _notes(validated: Validated, readings: Readings, result: IngestResult) -> list[str]:
    notes = interval_notes(validated.intervals)
    for unit, rows in sorted(validated.units.items()):
        if unit == "kWh":
            continue
        source = f"column '{readings.labels['unit']}'" if "unit" in readings.labels else f"'{readings.labels['value']}'"
        how = "mean power over each meter's interval" if unit in ("W", "kW", "MW") else "energy"
        notes.append(f"{rows} value(s) in {unit} ({source}) read as {how} and stored as kWh")
    if result.retry_of:
        notes.append(
            f"the same content was ingested before with quarantined rows (batch {result.retry_of}); "
            "read again: its quarantined rows are superseded by this batch's"
        )
    return notes


def _tenant_timezone(connection: Connection, tenant_id: str) -> str:
    try:
        tenant = get_tenant(connection, tenant_id)
    except TenantError:
        raise IngestError(f"unknown tenant {tenant_id!r}") from None
    if tenant.status != "active":
        raise IngestError(f"tenant {tenant_id!r} is {tenant.status}; readings are not accepted")
    return tenant.timezone


def _newest_batch(connection: Connection, tenant_id: str, digest: str) -> IngestResult | None:
    row = connection.execute(
        select(ingest_batches)
        .where(ingest_batches.c.tenant_id == tenant_id, ingest_batches.c.content_sha256 == digest)
        .where(ingest_batches.c.finished_at.is_not(None))
        .order_by(ingest_batches.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return IngestResult(
        tenant_id=tenant_id,
        source=row.source,
        source_ref=row.source_ref,
        batch_id=row.id,
        rows_received=row.rows_received,
        rows_stored=row.rows_stored,
        rows_unchanged=row.rows_unchanged,
        rows_duplicate=row.rows_duplicate,
        rows_quarantined=row.rows_quarantined,
        rows_late=row.rows_late,
        min_ts=row.min_ts,
        max_ts=row.max_ts,
        reasons=row.reasons or {},
        intervals=row.intervals or {},
        notes=row.notes or [],
        retry_of=row.retry_of,
    )


def _count_late(connection: Connection, tenant_id: str, clean: pl.DataFrame) -> int:
    """Rows older than what the meter had already delivered: accepted, but worth knowing."""
    latest = latest_per_meter(connection, tenant_id, clean["meter_id"].unique().to_list())
    if not latest:
        return 0
    known = pl.DataFrame(
        {"meter_id": list(latest), "_latest": list(latest.values())},
        schema={"meter_id": pl.Utf8, "_latest": pl.Datetime("us", "UTC")},
    )
    return clean.join(known, on="meter_id").filter(pl.col("ts") < pl.col("_latest")).height
