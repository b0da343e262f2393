"""Write simulated 15-minute smart-meter readings of one tenant to CSV or Parquet.

    python -m sim.simulate_smart_meter --tenant office --days 30 --faults gaps,dst --out office.csv

Clean Parquet files keep their types; CSV files, and any file with faults, carry the raw
strings a meter gateway would send (``ts`` as ISO 8601 with offset).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import typer
from rich.table import Table

from luna_core.simulation.faults import FAULT_KINDS, FaultReport, format_clean, inject_faults, parse_faults
from luna_core.simulation.meters import simulate_site
from luna_core.simulation.sites import DEMO_SITES_BY_ID, SiteSpec, resolve_site
from luna_core.simulation.timegrid import floor_quarter
from sim import check_output, console, fail, write_table

app = typer.Typer(help="Simulated smart-meter readings.", add_completion=False)


def parse_moment(text: str, timezone: str) -> datetime:
    """ISO date or date-time; without an offset it is the site's local time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{text!r} is not an ISO date or date-time (e.g. 2026-03-01 or 2026-03-01T06:00+01:00)")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment


def resolve_window(site: SiteSpec, days: int, start: str | None, end: str | None) -> tuple[datetime, datetime]:
    if days < 1:
        fail("--days must be at least 1")
    span = timedelta(days=days)
    first = parse_moment(start, site.timezone) if start else None
    last = parse_moment(end, site.timezone) if end else None
    if first is None and last is None:
        last = datetime.now(UTC)
    if first is None:
        first = last - span  # type: ignore[operator]
    if last is None:
        last = first + span
    first, last = floor_quarter(first), floor_quarter(last)
    if last <= first:
        fail(f"empty window: end {last.isoformat()} is not after start {first.isoformat()}")
    return first, last


@app.command()
def smart_meter(
    tenant: str = typer.Option(
        "household", "--tenant", "-t", help=f"Demo tenant ({', '.join(DEMO_SITES_BY_ID)}) or bench-N."
    ),
    days: int = typer.Option(90, help="Length of the window; it ends now unless --start/--end say otherwise."),
    start: str | None = typer.Option(None, help="Window start, ISO date or date-time (local time if no offset)."),
    end: str | None = typer.Option(None, help="Window end (exclusive), ISO date or date-time."),
    faults: str = typer.Option("", help=f"Comma-separated faults to inject: {', '.join(FAULT_KINDS)}."),
    fault_rate: float = typer.Option(0.01, help="Share of rows per fault kind (0 to 0.5)."),
    seed: int = typer.Option(42, min=0, help="Same seed, same readings."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file: .csv or .parquet."),
) -> None:
    """Simulate a tenant's meter readings, optionally with faults, into a file."""
    check_output(out)
    try:
        site = resolve_site(tenant)
        kinds = parse_faults(faults)
    except ValueError as error:
        fail(str(error))
    if not 0.0 <= fault_rate <= 0.5:
        fail(f"--fault-rate must be between 0 and 0.5, got {fault_rate}")
    first, last = resolve_window(site, days, start, end)
    clean = simulate_site(site, first, last, seed=seed)
    report: FaultReport | None = None
    if kinds:
        frame, report = inject_faults(
            clean, kinds, seed=seed, rate=fault_rate, timezone=site.timezone, max_kw=site.max_kw
        )
    elif out.suffix.lower() == ".csv":
        frame = format_clean(clean)
    else:
        frame = clean
    write_table(frame, out)
    _summary(site, clean, first, last, report, out, frame.height)


def _summary(
    site: SiteSpec,
    clean: pl.DataFrame,
    first: datetime,
    last: datetime,
    report: FaultReport | None,
    out: Path,
    rows: int,
) -> None:
    local = ZoneInfo(site.timezone)
    table = Table(title=f"{site.tenant_id}: {site.name}", show_header=True, header_style="bold")
    table.add_column("meter")
    table.add_column("kind")
    table.add_column("rows", justify="right")
    table.add_column("kWh", justify="right")
    table.add_column("max kWh/15 min", justify="right")
    table.add_column("limit", justify="right")
    stats = clean.group_by("meter_id", maintain_order=True).agg(
        pl.len().alias("rows"), pl.col("kwh").sum().alias("total"), pl.col("kwh").max().alias("peak")
    )
    for meter_id, count, total, peak in stats.iter_rows():
        meter = site.meter(meter_id)
        table.add_row(meter_id, meter.kind, f"{count:,}", f"{total:,.1f}", f"{peak:.3f}", f"{meter.max_kw * 0.25:.2f}")
    console.print(table)
    console.print(
        f"window  {first.astimezone(local):%Y-%m-%d %H:%M} .. {last.astimezone(local):%Y-%m-%d %H:%M} {site.timezone}"
        f"  ({first:%Y-%m-%dT%H:%MZ} .. {last:%Y-%m-%dT%H:%MZ})"
    )
    if report is not None:
        injected = ", ".join(f"{kind} {count}" for kind, count in report.counts.items())
        console.print(f"faults  {injected}  (expected quarantine {report.expected_quarantine})")
        if report.details:
            console.print("        " + ", ".join(f"{k} {v}" for k, v in report.details.items()))
    console.print(f"wrote   {rows:,} rows to {out} ({out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    app()
