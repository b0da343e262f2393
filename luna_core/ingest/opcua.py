"""OPC-UA adapter: a site's cumulative energy counters, read once per interval, into the ingest path.

The poller connects to ``LUNA_OPCUA_ENDPOINT`` (security mode and credentials from settings), browses
``LUNA_OPCUA_ROOT_NODE`` for energy counters (Variables with an ``EngineeringUnits`` property of kWh,
Wh or MWh; the BrowseName is the meter id), reads them at each interval boundary and turns the
differences into interval readings (``luna_core.ingest.counters``: rollover, reset, gaps). Readings
go through ``ingest_records`` for the one configured tenant, so they are validated, quarantined and
upserted like any other. A node that cannot be read becomes a quarantined record naming the node; an
unreachable server raises ``OpcUaError`` naming the endpoint, and the counters' last values (kept in
a state file) make the next successful read fill the gap.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from luna_core.ingest.counters import CounterRead, align, intervals_between
from luna_core.ingest.errors import IngestError
from luna_core.ingest.pipeline import IngestResult, ingest_records
from luna_core.settings import Settings

log = logging.getLogger(__name__)

ENERGY_UNITS = {"kwh": 1.0, "wh": 0.001, "mwh": 1000.0}
UNECE_ENERGY = {4937544: 1.0, 5720146: 0.001, 5068616: 1000.0}  # KWH, WHR, MWH as EUInformation.UnitId
MAX_DEPTH = 6


class OpcUaError(IngestError):
    """The server could not be read (the message names the endpoint or the node)."""


@dataclass(frozen=True)
class OpcUaConfig:
    endpoint: str
    tenant_id: str
    root_node: str = "i=85"
    security: str | None = None
    username: str | None = None
    password: str | None = None
    interval_minutes: int = 15
    rollover_kwh: float | None = None
    state_path: Path | None = None
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> OpcUaConfig:
        if not settings.opcua_endpoint or not settings.opcua_tenant:
            raise OpcUaError("OPC-UA needs LUNA_OPCUA_ENDPOINT and LUNA_OPCUA_TENANT")
        return cls(
            endpoint=settings.opcua_endpoint,
            tenant_id=settings.opcua_tenant,
            root_node=settings.opcua_root_node,
            security=settings.opcua_security,
            username=settings.opcua_username,
            password=settings.opcua_password,
            interval_minutes=settings.opcua_interval_minutes,
            rollover_kwh=settings.opcua_rollover_kwh,
            state_path=settings.data_dir / "opcua-state.json",
        )

    @property
    def interval(self) -> timedelta:
        return timedelta(minutes=self.interval_minutes)


@dataclass(frozen=True)
class Counter:
    meter_id: str
    node_id: str
    factor: float  # to kWh


@dataclass
class PollResult:
    boundary: datetime
    counters: list[Counter] = field(default_factory=list)
    reads: list[CounterRead] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ingest: IngestResult | None = None


async def _unit_factor(variable) -> float | None:
    from asyncua import ua

    for prop in await variable.get_properties():
        if (await prop.read_browse_name()).Name != "EngineeringUnits":
            continue
        unit = await prop.read_value()
        if isinstance(unit, ua.EUInformation):
            name = (unit.DisplayName.Text or "").strip().lower()
            return ENERGY_UNITS.get(name) or UNECE_ENERGY.get(unit.UnitId)
    return None


async def browse_counters(root) -> list[Counter]:
    """Every energy counter at or below ``root``, by meter id; a meter found twice is an error naming both nodes."""
    from asyncua import ua

    found: dict[str, Counter] = {}

    async def visit(node, depth: int) -> None:
        if await node.read_node_class() == ua.NodeClass.Variable:
            factor = await _unit_factor(node)
            if factor is not None:
                meter = (await node.read_browse_name()).Name
                node_id = node.nodeid.to_string()
                if meter in found:
                    raise OpcUaError(f"meter {meter!r} has two counters: {found[meter].node_id} and {node_id}")
                found[meter] = Counter(meter, node_id, factor)
            return
        if depth >= MAX_DEPTH:
            return
        for child in await node.get_children(refs=ua.ObjectIds.HierarchicalReferences):
            await visit(child, depth + 1)

    await visit(root, 0)
    return sorted(found.values(), key=lambda c: c.meter_id)


async def _read(config: OpcUaConfig) -> tuple[list[Counter], dict[str, float | str]]:
    """The counters and, per meter, its value in kWh or the reason it could not be read."""
    from asyncua import Client

    client = Client(config.endpoint, timeout=config.timeout)
    if config.username:
        client.set_user(config.username)
        client.set_password(config.password or "")
    if config.security:
        await client.set_security_string(config.security)
    try:
        await client.connect()
    except Exception as error:
        raise OpcUaError(f"{config.endpoint}: cannot connect ({type(error).__name__}: {error})") from error
    try:
        try:
            root = client.get_node(config.root_node)
            counters = await browse_counters(root)
        except OpcUaError:
            raise
        except Exception as error:
            raise OpcUaError(
                f"{config.endpoint}: cannot browse {config.root_node} ({type(error).__name__}: {error})"
            ) from error
        values: dict[str, float | str] = {}
        for counter in counters:
            try:
                value = await client.get_node(counter.node_id).read_value()
            except Exception as error:  # one node failing must not stop the others
                values[counter.meter_id] = f"node {counter.node_id} could not be read ({type(error).__name__})"
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                values[counter.meter_id] = f"node {counter.node_id} holds {value!r}, not a number"
                continue
            values[counter.meter_id] = float(value) * counter.factor
        return counters, values
    finally:
        try:
            await client.disconnect()
        except Exception:  # the server went away meanwhile: nothing to close
            log.debug("OPC-UA disconnect from %s failed", config.endpoint)


def _run_to_completion(coroutine: Any) -> Any:
    """``asyncio.run`` from synchronous code, also where this thread already runs an event loop (a
    caller inside async code, or Playwright's in a test session): then on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="luna-opcua") as pool:
        return pool.submit(asyncio.run, coroutine).result()


class OpcUaPoller:
    def __init__(self, engine: Engine, config: OpcUaConfig) -> None:
        self.engine, self.config = engine, config
        self.state: dict[str, CounterRead] = self._load_state()
        self.errors = 0
        self.last_success: datetime | None = None

    def poll(self, now: datetime | None = None, *, dry_run: bool = False) -> PollResult:
        """Reads every counter for the interval boundary at ``now`` and stores the intervals it completes;
        ``dry_run`` stores nothing and keeps the state (``luna sources dry-run opcua``)."""
        boundary = align((now or datetime.now(UTC)).astimezone(UTC), self.config.interval)
        try:
            counters, values = _run_to_completion(_read(self.config))
        except OpcUaError:
            self.errors += 1
            raise
        result = PollResult(boundary, counters)
        state = dict(self.state)
        for meter, value in sorted(values.items()):
            if isinstance(value, str):
                result.records.append({"meter_id": meter, "ts": boundary.isoformat(), "_error": value})
                continue
            read = CounterRead(meter, boundary, value)
            result.reads.append(read)
            step = intervals_between(state.get(meter), read, self.config.interval, self.config.rollover_kwh)
            result.records.extend(step.records)
            result.notes.extend(step.notes)
            if meter not in state or read.ts >= state[meter].ts:
                state[meter] = read
        if dry_run:
            return result
        if result.records:
            result.ingest = ingest_records(
                self.engine,
                self.config.tenant_id,
                result.records,
                source="opcua",
                source_ref=f"opcua:{self.config.endpoint}@{boundary.isoformat()}",
                notes=result.notes,
            )
        # Only after the readings are stored: a failed ingest reads the same step again next time.
        self.state = state
        self._save_state()
        self.last_success = boundary
        return result

    def run(self, stop_after: float | None = None, heartbeat: Path | None = None) -> None:
        """Polls at every interval boundary until Ctrl-C or ``stop_after`` seconds; a failed poll is logged
        and the next boundary tried (the gap is filled from the counters then)."""
        deadline = None if stop_after is None else time.monotonic() + stop_after
        try:
            while deadline is None or time.monotonic() < deadline:
                try:
                    self.poll()
                    if heartbeat is not None:
                        heartbeat.touch()
                except IngestError as error:
                    log.warning("OPC-UA poll failed: %s", error)
                now = datetime.now(UTC)
                wait = (align(now, self.config.interval) + self.config.interval - now).total_seconds()
                time.sleep(max(1.0, min(wait, deadline - time.monotonic() if deadline else wait)))
        except KeyboardInterrupt:
            pass

    def _load_state(self) -> dict[str, CounterRead]:
        path = self.config.state_path
        if path is None or not path.exists():
            return {}
        saved = json.loads(path.read_text()).get(self._state_key(), {})
        return {m: CounterRead(m, datetime.fromisoformat(v["ts"]), v["kwh"]) for m, v in saved.items()}

    def _save_state(self) -> None:
        path = self.config.state_path
        if path is None:
            return
        everything = json.loads(path.read_text()) if path.exists() else {}
        everything[self._state_key()] = {m: {"ts": r.ts.isoformat(), "kwh": r.kwh} for m, r in self.state.items()}
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(everything, indent=1))
        temporary.replace(path)

    def _state_key(self) -> str:
        return f"{self.config.tenant_id} {self.config.endpoint}"
