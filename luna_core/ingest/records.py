"""JSON-like readings (HTTP bodies, MQTT payloads) in Luna's terms, one record at a time.

A record carries ``kwh`` (kWh unless its ``unit`` says otherwise) or ``value`` with a ``unit``;
numbers that arrive as JSON numbers stay numbers (``1.234`` is never read as a thousands
separator), a boolean is never a number, and each record is judged on its own, so one odd
message in an MQTT batch cannot change how the others are read.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from luna_core.ingest.columns import Readings
from luna_core.ingest.units import UNIT_NAMES

_SCHEMA = {
    "meter_id": pl.Utf8,
    "ts": pl.Utf8,
    "value": pl.Utf8,
    "unit": pl.Utf8,
    "quality": pl.Utf8,
    "_number": pl.Float64,
    "_error": pl.Utf8,
    "_raw": pl.Utf8,
}


def readings_from_records(records: list[dict[str, Any]]) -> Readings:
    rows = [_row(record) for record in records]
    frame = pl.DataFrame({c: [r[c] for r in rows] for c in _SCHEMA}, schema=_SCHEMA)
    return Readings(frame, {"meter": "meter_id", "ts": "ts", "value": "kwh", "unit": "unit"})


def _row(record: dict[str, Any]) -> dict[str, Any]:
    sent = {k: _clean(v) for k, v in record.items() if not k.startswith("_")}
    error = record.get("_error")
    unit = record.get("unit")
    if "kwh" in record and "value" in record:
        error = error or "a reading has both kwh and value; send one of them"
    if "kwh" in record:
        value, unit = record["kwh"], "kWh" if unit is None else unit
    elif "value" in record:
        value = record["value"]
        if unit is None:
            error = error or f'value without a unit: add "unit" ({UNIT_NAMES}) or send kwh'
    else:
        value = None
        error = error or "no kwh in the reading (or value with a unit)"
    number = None
    if isinstance(value, bool):
        error = error or f"kwh is a boolean ({json.dumps(value)}), not a number"
        value = None
    elif isinstance(value, int | float):
        try:
            number, value = float(value), repr(value)
        except OverflowError:  # a JSON integer beyond any float
            error = error or "kwh is too large to be a number of kWh"
            value = f"an integer of {value.bit_length()} bits"
    return {
        "meter_id": _as_text(record.get("meter_id")),
        "ts": _as_text(record.get("ts")),
        "value": _as_text(value),
        "unit": _as_text(unit),
        "quality": _as_text(record.get("quality")),
        "_number": number,
        "_error": error,
        "_raw": json.dumps(sent, ensure_ascii=False, default=str),
    }


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    value = _clean(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return _clean(str(value))


def _clean(value: Any) -> Any:
    """Text PostgreSQL can hold: lone UTF-16 surrogates (valid in a JSON string, not in UTF-8)
    escaped, NUL kept visible as an escape."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")
    if isinstance(value, int) and value.bit_length() > 256:  # beyond any float; Python refuses to print some
        return f"an integer of {value.bit_length()} bits"
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
