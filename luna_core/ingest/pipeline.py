"""The one ingest path: read -> validate -> upsert + quarantine + batch record, in one transaction.

Every adapter (file drop, MQTT, HTTP push) ends here, so every path validates, writes
idempotently and quarantines the same way. A malformed input raises ``IngestError`` and
leaves nothing behind; a re-sent file (same content hash) is recognised and not applied twice.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, select, text

from luna_core.db.schema import ingest_batches, meters, tenants
from luna_core.db.tenancy import tenant_scope
from luna_core.ingest.errors import IngestError
from luna_core.ingest.store import latest_per_meter, store_quarantine, upsert_readings
from luna_core.ingest.validate import IngestPolicy, MeterLimits, validate_readings

log = logging.getLogger(__name__)
SUPPORTED_SUFFIXES = (".csv", ".parquet")


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
    reasons: dict[str, int] = field(default_factory=dict)
    already_ingested: bool = False

    def as_metadata(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def ingest_file(engine: Engine, tenant_id: str, path: Path, *, policy: IngestPolicy | None = None) -> IngestResult:
    raw, digest = read_readings_file(path)
    return ingest_frame(
        engine,
        tenant_id,
        raw,
        source="file",
        source_ref=path.name,
        content_sha256=digest,
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
) -> IngestResult:
    """JSON-like records (MQTT payloads, HTTP bodies): every value kept as text for the quarantine."""
    if not records:
        raise IngestError("no readings given")
    columns = sorted({key for record in records for key in record} | {"meter_id", "ts", "kwh"})
    raw = pl.DataFrame(
        {c: [None if r.get(c) is None else _text(r.get(c)) for r in records] for c in columns},
        schema={c: pl.Utf8 for c in columns},
    )
    return ingest_frame(engine, tenant_id, raw, source=source, source_ref=source_ref, policy=policy)


def _text(value: Any) -> str:
    """As text, with lone UTF-16 surrogates (valid in a JSON string, not in UTF-8) escaped."""
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8")


def read_readings_file(path: Path) -> tuple[pl.DataFrame, str]:
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise IngestError(f"{path.name}: unsupported file type {suffix or '(none)'}; use .csv or .parquet")
    content = path.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    try:
        if suffix == ".csv":
            # Everything as text: a junk value must reach the quarantine as it was sent.
            raw = pl.read_csv(content, infer_schema=False)
        else:
            raw = pl.read_parquet(content)
    except Exception as error:  # polars raises several error types for a broken file
        raise IngestError(f"{path.name}: cannot read as {suffix[1:]}: {error}") from error
    if raw.height == 0:
        raise IngestError(f"{path.name}: contains no readings")
    return raw, digest


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
    result = IngestResult(tenant_id=tenant_id, source=source, source_ref=source_ref)
    with tenant_scope(engine, tenant_id) as connection:
        timezone = _tenant_timezone(connection, tenant_id)
        if content_sha256 and (earlier := _earlier_batch(connection, tenant_id, content_sha256)):
            earlier.already_ingested = True
            return earlier
        limits = MeterLimits(
            dict(
                connection.execute(
                    select(meters.c.meter_id, meters.c.max_kw).where(meters.c.tenant_id == tenant_id)
                ).all()
            )
        )
        validated = validate_readings(raw, limits, timezone, policy=policy)
        clean, rejected = validated.clean, validated.rejected
        batch_id = connection.execute(
            ingest_batches.insert()
            .values(tenant_id=tenant_id, source=source, source_ref=source_ref, content_sha256=content_sha256)
            .returning(ingest_batches.c.id)
        ).scalar_one()
        result.rows_late = _count_late(connection, tenant_id, clean)
        result.rows_stored = upsert_readings(connection, tenant_id, batch_id, clean)
        store_quarantine(connection, tenant_id, batch_id, rejected)

        result.batch_id = batch_id
        result.rows_received = raw.height
        result.rows_unchanged = clean.height - result.rows_stored
        result.rows_duplicate = validated.duplicates
        result.rows_quarantined = rejected.height
        result.min_ts = clean["ts"].min() if clean.height else None
        result.max_ts = clean["ts"].max() if clean.height else None
        result.reasons = _reason_summary(rejected)
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


def _tenant_timezone(connection: Connection, tenant_id: str) -> str:
    row = connection.execute(select(tenants.c.timezone, tenants.c.status).where(tenants.c.id == tenant_id)).first()
    if row is None:
        raise IngestError(f"unknown tenant {tenant_id!r}")
    if row.status != "active":
        raise IngestError(f"tenant {tenant_id!r} is {row.status}; readings are not accepted")
    return row.timezone


def _earlier_batch(connection: Connection, tenant_id: str, digest: str) -> IngestResult | None:
    row = connection.execute(
        select(ingest_batches)
        .where(ingest_batches.c.tenant_id == tenant_id, ingest_batches.c.content_sha256 == digest)
        .where(ingest_batches.c.finished_at.is_not(None))
        .order_by(ingest_batches.c.id)
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


_NUMBER = re.compile(r"-?\d+(\.\d+)?(e-?\d+)?")


def _reason_summary(rejected: pl.DataFrame) -> dict[str, int]:
    """Reasons with their numbers masked, so 'negative energy -1.2 kWh' groups with its kind."""
    return dict(Counter(_NUMBER.sub("N", reason) for reason in rejected["reason"].to_list()).most_common())
