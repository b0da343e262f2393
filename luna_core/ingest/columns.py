"""Which input column is the meter, the time, the value, its unit and its quality.

Luna's own names (``meter_id, ts, kwh[, unit][, quality]``) and the usual English and German
export headers are recognised: ``Zähler``/``Zählernummer``, ``Zeitstempel`` or ``Datum`` +
``Uhrzeit``, ``Verbrauch (kWh)``/``Wert`` + ``Einheit`` ... A value column must say its unit,
in its name (``kwh``, ``Wert [Wh]``, ``Leistung in kW``) or in a unit column; otherwise the
input is refused naming the column. The result, ``Readings``, is the same for files, HTTP
bodies and MQTT payloads, so validation never sees how the input spelled things.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import polars as pl

from luna_core.ingest.errors import IngestError
from luna_core.ingest.units import UNIT_NAMES, Unit, find_unit

CANONICAL = {"meter_id": "meter", "ts": "ts", "kwh": "value", "value": "value", "unit": "unit", "quality": "quality"}
ALIASES = {
    "meter": {
        "meter", "meter id", "meter number", "zaehler", "zaehlernummer", "zaehler nr", "zaehlernr", "zaehler id",
        "zaehlpunkt", "zaehlpunktbezeichnung", "messlokation", "melo", "marktlokation", "malo", "geraet",
    },
    "ts": {
        "timestamp", "time stamp", "datetime", "date time", "zeitstempel", "zeitpunkt", "messzeitpunkt",
        "datum uhrzeit", "datum und uhrzeit", "von", "ab", "beginn", "start", "zeitraum von", "interval start",
    },
    "date": {"date", "datum", "tag"},
    "time": {"time", "uhrzeit", "zeit"},
    "value": {
        "value", "wert", "messwert", "verbrauch", "energie", "energy", "menge", "arbeit", "wirkarbeit",
        "consumption", "reading", "leistung", "wirkleistung", "power", "bezug", "lastgang",
    },
    "unit": {"unit", "einheit", "masseinheit"},
    "quality": {"quality", "qualitaet", "quality flag"},
    "register": {"zaehlerstand", "stand", "register", "meter reading", "zaehlerstand kwh"},
}  # fmt: skip
QUALITY_WORDS = {
    "gemessen": "measured",
    "geschaetzt": "estimated",
    "ersatzwert": "substituted",
    "ersetzt": "substituted",
}
_UNIT_IN_NAME = (
    re.compile(r"^(?P<base>.*?)\s*[\(\[]\s*(?P<unit>[^\)\]]+?)\s*[\)\]]$"),
    re.compile(r"^(?P<base>.*?)\s+in\s+(?P<unit>\S+)$"),
    re.compile(r"^(?P<base>.*?)[\s_]+(?P<unit>k?wh|mwh|k?w|mw)$"),
)
ACCEPTED_NAMES = (
    "meter_id (or Zähler, Zählernummer), ts (or Zeitstempel, or Datum + Uhrzeit), and the value as kwh "
    "(or a name with its unit such as 'Verbrauch (kWh)', or value/Wert with a unit/Einheit column)"
)


@dataclass(frozen=True)
class Readings:
    """Rows in Luna's terms: ``meter_id, ts, value, unit, quality, _number, _error`` (text or typed;
    ``_number`` holds values that arrived as numbers) and, as sent, ``_raw`` (JSON per row) or
    ``sent`` (the input frame, turned into JSON only for the rows that are quarantined)."""

    frame: pl.DataFrame
    labels: dict[str, str]  # role -> the input's own column name, for messages
    header_unit: Unit | None = None  # the unit the value column's name states
    header_unit_explicit: bool = False  # said by the sender, not implied by the name 'kwh'
    sent: pl.DataFrame | None = None

    def raw_rows(self, rows: pl.Series) -> pl.Series:
        """The rows at these 0-based positions as sent, as JSON."""
        if self.sent is None:
            return self.frame["_raw"].gather(rows)
        return raw_json(self.sent[rows])


def _fold(name: str) -> str:
    folded = name.strip().strip("\"'").strip().lower()
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        folded = folded.replace(umlaut, plain)
    return re.sub(r"[\s_\-./:]+", " ", folded).strip()


def _role(name: str) -> tuple[str | None, str | None]:
    """(role, unit text from the name) of one header; the unit is None when the name has none."""
    plain = name.strip().lower()
    if plain in CANONICAL:
        return CANONICAL[plain], "kWh" if plain == "kwh" else None
    folded = _fold(name)
    if find_unit(folded):
        return "value", folded
    for pattern in _UNIT_IN_NAME:
        match = pattern.match(name.strip())
        if match and _fold(match["base"]) in ALIASES["value"] | ALIASES["register"]:
            role = "register" if _fold(match["base"]) in ALIASES["register"] else "value"
            return role, match["unit"]
    for role, names in ALIASES.items():
        if folded in names:
            return role, None
    return None, None


def header_score(fields: list[str]) -> int:
    """How many of these header fields name a role: finds the header line below a preamble."""
    roles = {_role(f)[0] for f in fields} - {None}
    return len(roles & {"meter", "ts", "date", "time", "value", "unit"})


def _pick(role: str, found: dict[str, list[str]]) -> str | None:
    candidates = found.get(role, [])
    exact = [c for c in candidates if c.strip().lower() in CANONICAL]
    if len(exact) > 1 and role == "value":  # kwh says its unit, value does not
        exact = [c for c in exact if c.strip().lower() == "kwh"]
    if len(exact) == 1:
        return exact[0]
    if len(candidates) > 1:
        names = ", ".join(f"'{c}'" for c in candidates)
        raise IngestError(f"columns {names} could each be the {_ROLE_WORDS[role]}; keep one of them")
    return candidates[0] if candidates else None


_ROLE_WORDS = {
    "meter": "meter",
    "ts": "timestamp",
    "date": "date",
    "time": "time of day",
    "value": "value",
    "unit": "unit",
    "quality": "quality",
}


def readings_from_frame(raw: pl.DataFrame, default_meter: str | None = None) -> Readings:
    """A file's frame (text from CSV, typed from Parquet) in Luna's terms; refuses what cannot be read."""
    columns = [c for c in raw.columns if c.strip()]
    found: dict[str, list[str]] = {}
    units: dict[str, str | None] = {}
    for column in columns:
        role, unit = _role(column)
        if role:
            found.setdefault(role, []).append(column)
            units[column] = unit
    meter, ts, value = _pick("meter", found), _pick("ts", found), _pick("value", found)
    date, time = _pick("date", found), _pick("time", found)
    unit_col, quality = _pick("unit", found), _pick("quality", found)
    if ts is None and date is not None:
        ts, date = (None, date) if time is not None else (date, None)
    elif ts is None and time is not None:
        ts, time = time, None
    missing = [
        name
        for name, present in (
            ("meter_id", meter or default_meter),
            ("ts", ts or (date and time)),
            ("kwh", value),
        )
        if not present
    ]
    if value is None and found.get("register"):
        raise IngestError(
            f"column '{found['register'][0]}' holds cumulative meter register readings; Luna needs the energy "
            "of each interval (Verbrauch): take the differences of consecutive readings first"
        )
    if missing:
        raise IngestError(
            f"missing required column(s) {', '.join(missing)}; found {', '.join(raw.columns) or 'none'}. "
            f"Expected {ACCEPTED_NAMES}"
        )
    if meter and default_meter:
        raise IngestError(f"the file has its own meter column '{meter}'; leave out the default meter")
    assert value is not None
    header_unit_text = units.get(value)
    header_unit = find_unit(header_unit_text) if header_unit_text else None
    if header_unit_text and header_unit is None:
        raise IngestError(
            f"column '{value}' is in '{header_unit_text}'; Luna reads electricity in {UNIT_NAMES} (rename the column)"
        )
    if header_unit is None and unit_col is None:
        raise IngestError(
            f"column '{value}' does not say its unit: add a unit column (unit or Einheit: {UNIT_NAMES}) "
            f"or name the unit in the header, e.g. '{value} (kWh)'"
        )
    _refuse_odd_types(raw, [c for c in (meter, ts, date, time, value, unit_col, quality) if c])
    if ts is not None and raw.schema[ts].is_numeric():
        raise IngestError(
            f"column '{ts}' holds numbers ({raw.schema[ts]}); expected timestamps as text "
            "(ISO 8601 or dd.mm.yyyy HH:MM) or a datetime type"
        )

    labels = {"meter": meter or "--meter", "value": value}
    out: dict[str, pl.Series] = {}
    out["meter_id"] = _text(raw[meter]) if meter else pl.Series([default_meter] * raw.height, dtype=pl.Utf8)
    if ts is not None:
        out["ts"] = raw[ts] if isinstance(raw[ts].dtype, pl.Datetime) else _text(raw[ts])
        labels["ts"] = ts
    else:
        assert date is not None and time is not None
        out["ts"] = pl.select(pl.concat_str([_text(raw[date]), _text(raw[time])], separator=" ")).to_series()
        labels["ts"] = f"{date} + {time}"
    out["value"] = raw[value] if raw[value].dtype.is_numeric() or raw[value].dtype == pl.Boolean else _text(raw[value])
    out["unit"] = _text(raw[unit_col]) if unit_col else pl.Series([None] * raw.height, dtype=pl.Utf8)
    if unit_col:
        labels["unit"] = unit_col
    out["quality"] = _quality(_text(raw[quality])) if quality else pl.Series([None] * raw.height, dtype=pl.Utf8)
    frame = pl.DataFrame(out).with_columns(
        pl.lit(None, pl.Float64).alias("_number"),
        pl.lit(None, pl.Utf8).alias("_error"),
    )
    explicit = header_unit is not None and value.strip().lower() != "kwh"
    return Readings(frame, labels, header_unit, explicit, sent=raw)


def _refuse_odd_types(raw: pl.DataFrame, used: list[str]) -> None:
    for column in used:
        dtype = raw.schema[column]
        if dtype.is_nested() or dtype == pl.Object:
            raise IngestError(f"column '{column}' holds {dtype} values; expected one plain value per row")
        if isinstance(dtype, pl.Duration) or (dtype in (pl.Date, pl.Time) and _role(column)[0] not in ("date", "time")):
            raise IngestError(f"column '{column}' holds {dtype} values; expected a timestamp or text")


def _quality(values: pl.Series) -> pl.Series:
    folded = values.str.strip_chars().str.to_lowercase()
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue")):
        folded = folded.str.replace_all(umlaut, plain, literal=True)
    return folded.replace(QUALITY_WORDS)


def _text(values: pl.Series) -> pl.Series:
    """Any column as text, never failing: bytes decoded (invalid UTF-8 escaped), nested values as
    JSON, NUL kept visible as an escape (PostgreSQL text and jsonb cannot hold it)."""
    return _as_text(values).str.replace_all("\x00", "\\u0000", literal=True)


def _as_text(values: pl.Series) -> pl.Series:
    dtype = values.dtype
    if dtype == pl.Utf8:
        return values
    if dtype == pl.Binary:
        return values.map_elements(lambda b: b.decode("utf-8", "backslashreplace"), return_dtype=pl.Utf8)
    if not dtype.is_nested() and dtype != pl.Object:
        try:
            return values.cast(pl.Utf8)
        except Exception:  # a type polars cannot cast: Python str() below
            pass
    return values.map_elements(_json_text, return_dtype=pl.Utf8)


def _json_text(value: Any) -> str:
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def raw_json(raw: pl.DataFrame) -> pl.Series:
    """Each row as sent, as a JSON object of text values."""
    texts = [_text(raw[c]).alias(c) for c in raw.columns]
    if not texts:
        return pl.Series("_raw", ["{}"] * raw.height, dtype=pl.Utf8)
    return pl.DataFrame(texts).select(pl.struct(pl.all()).struct.json_encode()).to_series()
