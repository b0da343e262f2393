"""Helpers for analysts querying the warehouse from notebooks: read-only and one tenant at a time.

Connect as the analyst role (migration 0003), query the views in schema ``analytics``:

    engine = analyst_engine("postgresql+psycopg://luna_analyst@127.0.0.1:5432/luna")
    frame = tenant_frame(engine, "office", "SELECT * FROM analytics.consumption_hourly WHERE hour >= :since",
                         {"since": since})

The database enforces the rules: the analyst role may only SELECT, and row-level security shows a
tenant's rows only inside a transaction that set ``luna.tenant_id``, which ``tenant_frame`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl
from sqlalchemy import Engine, Executable, create_engine, text
from sqlalchemy.engine import URL, make_url

from luna_core.db.tenancy import tenant_scope, validate_tenant_id

__all__ = ["analyst_engine", "tenant_frame"]

# PostgreSQL type OIDs -> polars, so a column has the same dtype whether or not rows came back.
# Other types are inferred from the values (Null for an empty result).
_POLARS_TYPES: dict[int, pl.DataType] = {
    16: pl.Boolean(),
    20: pl.Int64(),  # bigint
    21: pl.Int64(),  # smallint
    23: pl.Int64(),  # integer
    700: pl.Float64(),  # real
    701: pl.Float64(),  # double precision
    1700: pl.Float64(),  # numeric (avg, sums of integers): floats are what analysis wants
    25: pl.String(),  # text
    1042: pl.String(),  # char
    1043: pl.String(),  # varchar
    1082: pl.Date(),
    1114: pl.Datetime("us"),  # timestamp
    1184: pl.Datetime("us", "UTC"),  # timestamptz: always UTC, whatever the session's TimeZone
}


def analyst_engine(url: str | URL) -> Engine:
    """An engine for the analyst role; ``postgresql://`` URLs get the psycopg driver.

    Sessions start read-only (``default_transaction_read_only``), so even a statement the role
    could run, like creating a temporary table, fails early; the privileges are the real wall.
    """
    url = make_url(url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    options = " ".join(filter(None, [url.query.get("options"), "-c default_transaction_read_only=on"]))
    return create_engine(
        url.difference_update_query(["options"]), pool_pre_ping=True, connect_args={"options": options}
    )


def tenant_frame(
    engine: Engine,
    tenant_id: str,
    sql: str | Executable,
    params: Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """Runs ``sql`` (text with ``:name`` parameters, or a SQLAlchemy statement) for one tenant.

    One transaction with ``luna.tenant_id`` set locally (``set_config(..., true)``), so the setting
    ends with it; the tenant id is validated first. Timestamps with time zone come back in UTC
    (``.dt.convert_time_zone(tz)`` for local time), numerics as Float64.
    """
    validate_tenant_id(tenant_id)
    statement = text(sql) if isinstance(sql, str) else sql
    with tenant_scope(engine, tenant_id) as connection:
        result = connection.execute(statement, dict(params or {}))
        columns = list(result.keys())
        known = {
            column.name: _POLARS_TYPES[column.type_code]
            for column in result.cursor.description
            if column.type_code in _POLARS_TYPES
        }
        rows = [tuple(row) for row in result]
    if len(set(columns)) != len(columns):
        raise ValueError(f"duplicate column names in the result: {columns}; alias them")
    if not rows:
        return pl.DataFrame(schema={column: known.get(column, pl.Null()) for column in columns})
    return pl.DataFrame(rows, schema=columns, orient="row", schema_overrides=known, infer_schema_length=None)
