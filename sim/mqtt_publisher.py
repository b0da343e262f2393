"""Live simulated meters: publish each completed quarter hour to MQTT.

Topic ``luna/{tenant}/meters/{meter}/readings``, payload ``{"ts", "kwh", "quality"}`` with
``ts`` the interval start in ISO 8601 with offset, QoS 1. Values come from the same
simulator and seed as the files, so live readings continue a backfilled history exactly.

    python -m sim.mqtt_publisher                                  # demo tenants, real time
    python -m sim.mqtt_publisher --replay-hours 6 --speedup 900   # last 6 h at one quarter/s
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import typer

from luna_core.simulation.meters import simulate_site
from luna_core.simulation.sites import DEMO_SITES, DEMO_SITES_BY_ID, SiteSpec, resolve_site
from luna_core.simulation.timegrid import floor_quarter
from sim import console, fail

QUARTER = timedelta(minutes=15)
TOPIC = "luna/{tenant_id}/meters/{meter_id}/readings"

app = typer.Typer(help="Live simulated meter readings over MQTT.", add_completion=False)


def reading_messages(
    sites: Sequence[SiteSpec], first: datetime, end: datetime, seed: int
) -> list[tuple[str, bytes, datetime]]:
    """(topic, payload, interval start) for every meter and quarter in [first, end), oldest first."""
    messages = []
    for site in sites:
        frame = simulate_site(site, first, end, seed=seed)
        for meter_id, ts, kwh, quality in frame.iter_rows():
            payload = {"ts": ts.isoformat(), "kwh": kwh, "quality": quality}
            topic = TOPIC.format(tenant_id=site.tenant_id, meter_id=meter_id)
            messages.append((topic, json.dumps(payload).encode(), ts))
    messages.sort(key=lambda message: message[2])
    return messages


def _connect(host: str, port: int, client_id: str | None) -> mqtt.Client:
    client = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id or f"luna-sim-{os.getpid()}",
    )
    try:
        client.connect(host, port, keepalive=60)
    except OSError as error:
        raise ConnectionError(f"cannot reach the MQTT broker at {host}:{port}: {error}") from error
    client.loop_start()
    return client


def publish_live(
    host: str,
    port: int,
    sites: Sequence[SiteSpec],
    seed: int = 42,
    interval_s: float = 10.0,
    speedup: float = 1.0,
    stop_after: int | None = None,
    start: datetime | None = None,
    client_id: str | None = None,
    on_interval: Callable[[datetime, int], None] | None = None,
) -> int:
    """Publish readings as simulated time passes; returns the number of messages sent.

    The simulated clock starts at ``start`` (default: now) and runs ``speedup`` times faster
    than the wall clock, but never ahead of real time: readings from the future would be
    quarantined by ingest, so a fast clock only replays the past and then follows real time.
    Each due quarter is published once for every meter, beginning with the last quarter
    completed at ``start``. ``stop_after`` counts quarters; ``None`` runs until interrupted.
    """
    if speedup <= 0 or interval_s <= 0:
        raise ValueError("speedup and interval_s must be positive")
    if not sites:
        raise ValueError("no sites to publish")
    # The simulated clock runs from the start instant itself, not from its quarter: started from the
    # floor, a live publisher (speedup 1) lagged the real clock by up to 15 minutes (7.5 on average).
    sim_start = start or datetime.now(UTC)
    next_quarter = floor_quarter(sim_start) - QUARTER
    wall_start = time.monotonic()
    published = quarters = 0
    client = _connect(host, port, client_id)
    try:
        while stop_after is None or quarters < stop_after:
            fast = sim_start + timedelta(seconds=(time.monotonic() - wall_start) * speedup)
            real = datetime.now(UTC)
            sim_now, rate = (real, 1.0) if fast >= real else (fast, speedup)
            due_end = floor_quarter(sim_now)
            if stop_after is not None:
                due_end = min(due_end, next_quarter + QUARTER * (stop_after - quarters))
            if due_end > next_quarter:
                pending = [
                    client.publish(topic, payload, qos=1)
                    for topic, payload, _ in reading_messages(sites, next_quarter, due_end, seed)
                ]
                for info in pending:
                    info.wait_for_publish(timeout=30)
                published += len(pending)
                count = int((due_end - next_quarter) / QUARTER)
                quarters += count
                if on_interval:
                    on_interval(due_end - QUARTER, len(pending))
                next_quarter = due_end
                continue
            # Sleep until the next quarter completes (in wall seconds at the current rate).
            wait = (next_quarter + QUARTER - sim_now).total_seconds() / rate
            time.sleep(min(max(wait, 0.05), interval_s))
    finally:
        client.loop_stop()
        client.disconnect()
    return published


@app.command()
def mqtt_publisher(
    host: str = typer.Option("127.0.0.1", envvar="LUNA_MQTT_HOST", help="MQTT broker host."),
    port: int = typer.Option(1883, envvar="LUNA_MQTT_PORT", help="MQTT broker port."),
    tenant: list[str] = typer.Option(
        [], "--tenant", "-t", help=f"Tenants to publish (default: {', '.join(DEMO_SITES_BY_ID)}); bench-N works too."
    ),
    seed: int = typer.Option(42, min=0, envvar="LUNA_SEED", help="Seed; use the history's seed to continue it."),
    interval_s: float = typer.Option(10.0, help="Longest wall-clock pause between checks for due quarters."),
    speedup: float = typer.Option(1.0, help="Simulated seconds per wall-clock second (capped at real time)."),
    replay_hours: float = typer.Option(0.0, help="Start this many hours in the past (replayed at --speedup)."),
    stop_after: int | None = typer.Option(None, help="Stop after this many quarter hours."),
) -> None:
    """Publish simulated meter readings to MQTT as they become due."""
    try:
        sites = [resolve_site(name) for name in tenant] if tenant else list(DEMO_SITES)
    except ValueError as error:
        fail(str(error))
    start = datetime.now(UTC) - timedelta(hours=replay_hours)
    names = ", ".join(site.tenant_id for site in sites)
    console.print(f"publishing {names} to mqtt://{host}:{port} (speedup {speedup:g}); Ctrl-C stops")

    def progress(quarter: datetime, messages: int) -> None:
        console.print(f"{quarter:%Y-%m-%d %H:%M}Z  {messages} readings", highlight=False)

    try:
        total = publish_live(
            host,
            port,
            sites,
            seed=seed,
            interval_s=interval_s,
            speedup=speedup,
            stop_after=stop_after,
            start=start,
            on_interval=progress,
        )
    except (ConnectionError, ValueError) as error:
        fail(str(error))
    except KeyboardInterrupt:
        console.print("stopped")
        return
    console.print(f"published {total} readings")


if __name__ == "__main__":
    app()
