"""Units of a reading and how numbers are written: everything is stored as kWh per interval.

Energy units (Wh, kWh, MWh) are converted by their factor; power units (W, kW, MW) are the mean
power over the meter's reading interval, so kWh = kW x minutes / 60. Numbers may be written with
a decimal point or a decimal comma (German exports); which one a column uses is read from its
values, and a value that could be either (``1.234``: a decimal or a thousands separator?) is
refused unless the rest of the column tells which.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Unit:
    name: str
    factor: float  # to kWh (energy) or kW (power)
    is_power: bool


UNITS = {
    unit.name.lower(): unit
    for unit in (
        Unit("Wh", 0.001, False),
        Unit("kWh", 1.0, False),
        Unit("MWh", 1000.0, False),
        Unit("W", 0.001, True),
        Unit("kW", 1.0, True),
        Unit("MW", 1000.0, True),
    )
}
UNIT_NAMES = ", ".join(u.name for u in UNITS.values())


def find_unit(text: str) -> Unit | None:
    return UNITS.get(text.strip().lower().replace(" ", ""))


def unit_expr(column: str) -> pl.Expr:
    """A unit column's text normalised to the canonical name (``kwh`` -> ``kWh``), null if unknown."""
    folded = pl.col(column).cast(pl.Utf8).str.strip_chars().str.to_lowercase().str.replace_all(" ", "")
    return folded.replace_strict({k: u.name for k, u in UNITS.items()}, default=None, return_dtype=pl.Utf8)


def factor_exprs(unit: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(factor to kWh or kW, is the unit a power) for a column of canonical unit names."""
    names = {u.name: u for u in UNITS.values()}
    factor = unit.replace_strict({n: u.factor for n, u in names.items()}, default=None, return_dtype=pl.Float64)
    power = unit.replace_strict({n: u.is_power for n, u in names.items()}, default=None, return_dtype=pl.Boolean)
    return factor, power


_PLAIN = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_COMMA_DECIMAL = r"^[+-]?\d+,\d+$"
_DOT_GROUPED = r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$"  # 1.234  1.234,5  1.234.567
_COMMA_GROUPED = r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"  # 1,234  1,234.5  1,234,567
_AMBIGUOUS = r"^[+-]?[1-9]\d{0,2}[.,]\d{3}$"  # 1.234 or 1,234: one separator, three digits after it
_SPACES = r"[\s\u00a0\u202f']"  # 1 234,5 and 1'234.5: grouping by spaces or apostrophes


def parse_numbers(values: pl.Series, label: str) -> pl.DataFrame:
    """``_value`` (Float64), ``_value_problem`` (why a value is not a number, with it) and
    ``_value_kind`` (the same without the value), for a column of text or numbers."""
    n = values.len()
    nulls = pl.Series([None] * n, dtype=pl.Utf8)
    if values.dtype == pl.Boolean:
        kind = f"column '{label}' holds booleans (true/false), not numbers"
        return pl.DataFrame({"_value": pl.Series([None] * n, dtype=pl.Float64)}).with_columns(
            pl.lit(kind).alias("_value_problem"), pl.lit(kind).alias("_value_kind")
        )
    if values.dtype.is_numeric():
        return pl.DataFrame({"_value": values.cast(pl.Float64), "_value_problem": nulls, "_value_kind": nulls})
    raw = values.cast(pl.Utf8)
    stripped = raw.str.strip_chars()
    plain = stripped.cast(pl.Float64, strict=False)
    # Most values are plain numbers: only those that are not, or whose dot might group thousands
    # (1.234), take the slow path; a plain decimal elsewhere in the column is evidence for it.
    dot_ambiguous = plain.is_not_null() & stripped.str.contains(_AMBIGUOUS)
    slow = (plain.is_null() & raw.is_not_null()) | dot_ambiguous
    if not slow.any():
        return pl.DataFrame({"_value": plain, "_value_problem": nulls, "_value_kind": nulls})
    dot_decimals = (plain.is_not_null() & ~dot_ambiguous & stripped.str.contains(".", literal=True)).any()
    rows = slow.arg_true()
    parsed = _parse_text(raw.gather(rows), label, dot_decimals)
    return pl.DataFrame(
        {
            "_value": plain.scatter(rows, parsed["_value"]),
            "_value_problem": nulls.clone().scatter(rows, parsed["_value_problem"]),
            "_value_kind": nulls.clone().scatter(rows, parsed["_value_kind"]),
        }
    )


def _parse_text(values: pl.Series, label: str, dot_decimals: bool) -> pl.DataFrame:
    """Numbers written with a decimal comma, grouped thousands or junk; ``dot_decimals``: the rest of
    the column has plain decimals with a dot."""
    frame = pl.DataFrame({"raw": values}).with_columns(
        pl.col("raw").str.strip_chars().str.replace_all(_SPACES, "").alias("s")
    )
    s = pl.col("s")
    ambiguous = s.str.contains(_AMBIGUOUS)
    comma_evidence = ~ambiguous & (
        s.str.contains(_COMMA_DECIMAL) | (s.str.contains(_DOT_GROUPED) & s.str.contains(r"[.,]\d{3}[.,]"))
    )
    dot_evidence = ~ambiguous & (
        (s.str.contains(_PLAIN) & s.str.contains(r"\."))
        | (s.str.contains(_COMMA_GROUPED) & s.str.contains(r"[.,]\d{3}[.,]"))
    )
    comma, dot = frame.select(comma_evidence.any().alias("comma"), dot_evidence.any().alias("dot")).row(0)
    evidence = (comma, dot or dot_decimals)
    style = {(True, False): "comma", (False, True): "dot"}.get(evidence)

    german = s.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True)
    english = s.str.replace_all(",", "", literal=True)
    if style == "comma":
        ambiguous_value = german
    elif style == "dot":
        ambiguous_value = english
    else:
        ambiguous_value = pl.lit(None, pl.Utf8)
    text = (
        pl.when(ambiguous)
        .then(ambiguous_value)
        .when(s.str.contains(_PLAIN))
        .then(s)
        .when(s.str.contains(_COMMA_DECIMAL) | s.str.contains(_DOT_GROUPED))
        .then(german)
        .when(s.str.contains(_COMMA_GROUPED))
        .then(english)
        .otherwise(s)  # nan, inf and junk: the cast decides
    )
    number = text.cast(pl.Float64, strict=False)
    is_ambiguous = ambiguous & pl.lit(style is None)
    not_number = pl.col("raw").is_not_null() & number.is_null()
    ambiguous_kind = (
        f"ambiguous number in column '{label}': the separator may mark decimals or thousands and no other value "
        "tells which; write numbers without a thousands separator and with more or fewer than three decimals "
        "(e.g. 1.2345 or 1234)"
    )
    return frame.select(
        number.alias("_value"),
        pl.when(is_ambiguous)
        .then(pl.format("'{}': {}", pl.col("raw"), pl.lit(ambiguous_kind)))
        .when(not_number)
        .then(pl.format("value '{}' in column '{}' is not a number", pl.col("raw"), pl.lit(label)))
        .alias("_value_problem"),
        pl.when(is_ambiguous)
        .then(pl.lit(ambiguous_kind))
        .when(not_number)
        .then(pl.lit(f"value in column '{label}' is not a number"))
        .alias("_value_kind"),
    )
