"""Command-line simulators (also mounted as ``luna simulate ...``): files and live MQTT.

Shared here: writing a frame by file extension, and failing with one clear line.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import polars as pl
import typer
from rich.console import Console

console = Console(stderr=True, soft_wrap=True)  # one message, one line, whatever the width
OUTPUT_FORMATS = (".csv", ".parquet")


def fail(message: str) -> NoReturn:
    console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(1)


def check_output(path: Path) -> Path:
    """Fails before any work if the extension is unknown or the folder does not exist."""
    if path.suffix.lower() not in OUTPUT_FORMATS:
        fail(f"{path}: unknown output format {path.suffix or '(none)'!r}; use one of {', '.join(OUTPUT_FORMATS)}")
    if not path.parent.exists():
        fail(f"{path}: folder {path.parent} does not exist")
    return path


def write_table(frame: pl.DataFrame, path: Path) -> None:
    if path.suffix.lower() == ".csv":
        frame.write_csv(path)
    else:
        frame.write_parquet(path)
