"""Reading a readings file (CSV or Parquet) with polars' own readers, as exports come.

CSV: UTF-8 (with or without BOM), else Windows-1252 (what German Excel writes); the separator
(``,``, ``;``, tab or ``|``) and the header line (below a preamble such as ``Zählpunkt: ...``)
are found from the header names; every value is read as text, so a junk value reaches the
quarantine as it was sent. A file polars cannot read is refused with what to change, never
with polars' own advice.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from luna_core.ingest.columns import header_score
from luna_core.ingest.errors import IngestError

SUPPORTED_SUFFIXES = (".csv", ".parquet")
SEPARATORS = (";", ",", "\t", "|")
_HEADER_SEARCH_LINES = 30
_SEPARATOR_NAMES = {";": "';'", ",": "','", "\t": "tab", "|": "'|'"}


def read_readings_file(path: Path) -> tuple[pl.DataFrame, str]:
    """(the file's rows, its SHA-256); ``IngestError`` says why a file cannot be read."""
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise IngestError(f"{path.name}: unsupported file type {suffix or '(none)'}; use .csv or .parquet")
    content = path.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    raw = read_csv_bytes(path.name, content) if suffix == ".csv" else read_parquet_bytes(path.name, content)
    if raw.height == 0:
        raise IngestError(f"{path.name}: contains no readings")
    return raw, digest


def read_parquet_bytes(name: str, content: bytes) -> pl.DataFrame:
    try:
        return pl.read_parquet(content)
    except BaseException as error:  # polars raises several error types, and panics, on a broken file
        if isinstance(error, KeyboardInterrupt | SystemExit):
            raise
        raise IngestError(f"{name}: cannot read as parquet ({_first_line(error)}); write it again as Parquet") from None


def read_csv_bytes(name: str, content: bytes) -> pl.DataFrame:
    text = _decode(content)
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise IngestError(f"{name}: contains no readings")
    header_line, separator = _find_header(lines)
    try:
        frame = pl.read_csv(
            text.encode("utf-8"),
            separator=separator,
            skip_rows=header_line,
            infer_schema=False,
        )
    except pl.exceptions.NoDataError:
        raise IngestError(f"{name}: contains no readings") from None
    except BaseException as error:  # polars errors (and panics) become advice in our terms
        if isinstance(error, KeyboardInterrupt | SystemExit):
            raise
        raise IngestError(_csv_advice(name, error, lines[header_line], separator)) from None
    # A trailing separator on every line (Excel's habit) makes an unnamed, empty last column.
    empty = [c for c in frame.columns if not c.strip() and frame[c].null_count() == frame.height]
    return frame.drop(empty)


def _decode(content: bytes) -> str:
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        # Not UTF-8: German Excel and most utility portals write Windows-1252 (latin-1 never fails).
        try:
            return content.decode("cp1252")
        except UnicodeDecodeError:
            return content.decode("latin-1")


def _find_header(lines: list[str]) -> tuple[int, str]:
    """(index of the header line, separator): the first line naming at least two columns Luna knows."""
    for index, line in enumerate(lines[:_HEADER_SEARCH_LINES]):
        scored = [(header_score(_fields(line, sep)), len(_fields(line, sep)), sep) for sep in SEPARATORS]
        score, _, separator = max(scored)
        if score >= 2:
            return index, separator
    first = next(i for i, line in enumerate(lines) if line.strip())
    return first, max(SEPARATORS, key=lambda sep: (lines[first].count(sep), sep == ","))


def _fields(line: str, separator: str) -> list[str]:
    return [field.strip().strip('"').strip() for field in line.split(separator)]


def _csv_advice(name: str, error: BaseException, header: str, separator: str) -> str:
    message = _first_line(error)
    columns = len(_fields(header, separator))
    where = f"the header line has {columns} column(s) separated by {_SEPARATOR_NAMES[separator]}"
    if "more fields" in message or "ragged" in message:
        return (
            f"{name}: a row has more fields than the header line ({where}); check the separator, and quote values "
            "that contain it (a decimal comma in a ','-separated file, for example)"
        )
    if "quote" in message.lower():
        return f"{name}: a quoted value is not closed ({where}); check the quotes"
    return f"{name}: cannot read as CSV ({where}); save it as CSV with one header line"


def _first_line(error: BaseException) -> str:
    lines = [line for line in str(error).splitlines() if line.strip() and not line.startswith("Consider")]
    return lines[0] if lines else type(error).__name__
