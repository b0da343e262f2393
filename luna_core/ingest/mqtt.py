"""MQTT adapter: live readings from ``luna/<tenant>/meters/<meter>/readings`` into the ingest path.

Messages are buffered per tenant and written in batches (every ``flush_seconds`` or
``max_batch`` messages) through ``ingest_records``, so live data is validated, quarantined
and upserted exactly like a file. Payload: one JSON object ``{"ts", "kwh", "unit"?, "quality"?}``
(or ``value`` with a ``unit``) or a list of them; the meter comes from the topic. Re-delivered
messages (QoS 1) change nothing; a batch that fails for any other reason than an unreachable
database is kept in the quarantine as sent, and the subscriber goes on.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from luna_core.db.tenancy import InvalidTenantId, validate_tenant_id
from luna_core.ingest.errors import IngestError
from luna_core.ingest.pipeline import ingest_records, quarantine_records
from luna_core.ingest.validate import IngestPolicy

log = logging.getLogger(__name__)


@dataclass
class MqttStats:
    messages: int = 0
    readings: int = 0
    stored: int = 0
    quarantined: int = 0
    rejected_messages: int = 0
    batches: int = 0
    db_failures: int = 0
    rejections: dict[str, int] = field(default_factory=dict)


def parse_message(topic: str, payload: bytes) -> tuple[str, list[dict[str, Any]]]:
    """(tenant, records) from one message; a bad payload becomes a record carrying its error."""
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != "luna" or parts[2] != "meters" or parts[4] != "readings":
        raise IngestError(f"topic {topic!r} is not luna/<tenant>/meters/<meter>/readings")
    tenant, meter = validate_tenant_id(parts[1]), parts[3]
    text = payload.decode("utf-8", errors="replace")
    try:
        body = json.loads(text)
    except json.JSONDecodeError as error:
        return tenant, [{"meter_id": meter, "payload": text, "_error": f"payload is not JSON: {error.msg}"}]
    items = body if isinstance(body, list) else [body]
    records = []
    for item in items:
        if not isinstance(item, dict):
            records.append({"meter_id": meter, "payload": json.dumps(item), "_error": "reading is not a JSON object"})
            continue
        records.append({**item, "meter_id": meter})
    return tenant, records


class MqttIngestor:
    def __init__(
        self,
        engine: Engine,
        host: str,
        port: int,
        topic: str = "luna/+/meters/+/readings",
        *,
        flush_seconds: float = 2.0,
        max_batch: int = 5000,
        client_id: str = "luna-ingest",
        policy: IngestPolicy | None = None,
    ) -> None:
        self.engine, self.host, self.port, self.topic = engine, host, port, topic
        self.flush_seconds, self.max_batch, self.policy = flush_seconds, max_batch, policy
        self.stats = MqttStats()
        self._buffer: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._lock = threading.Lock()
        # A persistent session: readings published while we were briefly away are delivered on reconnect.
        self._client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False
        )
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._subscribed = threading.Event()
        self._client.on_subscribe = lambda *args: self._subscribed.set()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("MQTT connect refused: %s", reason_code)
            return
        client.subscribe(self.topic, qos=1)

    def _on_message(self, client, userdata, message) -> None:
        self.stats.messages += 1
        try:
            tenant, records = parse_message(message.topic, message.payload)
        except (IngestError, InvalidTenantId) as error:
            self._reject(str(error))
            return
        with self._lock:
            self._buffer[tenant].extend(records)
            full = len(self._buffer[tenant]) >= self.max_batch
        if full:
            self.flush()

    def _reject(self, reason: str) -> None:
        # Without a valid tenant there is no tenant quarantine to put it in: count and log it.
        self.stats.rejected_messages += 1
        self.stats.rejections[reason] = self.stats.rejections.get(reason, 0) + 1
        log.warning("MQTT message rejected: %s", reason)

    def flush(self) -> bool:
        """Writes what is buffered; False if the database was unreachable (kept for the next flush)."""
        with self._lock:
            pending, self._buffer = self._buffer, defaultdict(list)
        ok = True
        for tenant, records in pending.items():
            try:
                result = ingest_records(
                    self.engine,
                    tenant,
                    records,
                    source="mqtt",
                    source_ref=f"mqtt:{self.topic}@{time.time():.0f}",
                    policy=self.policy,
                )
            except IngestError as error:
                self._reject(str(error))
                continue
            except DBAPIError as error:
                if not error.connection_invalidated and not _is_connection_error(error):
                    self._keep_unreadable(tenant, records, error)
                    continue
                # The database is restarting or unreachable: the batch was rolled back whole, so
                # it goes back in front of the buffer and is written by a later flush (upsert: once).
                self.stats.db_failures += 1
                log.warning("database unavailable, keeping %d readings of %s for the next flush", len(records), tenant)
                with self._lock:
                    self._buffer[tenant][:0] = records
                ok = False
                continue
            except BaseException as error:  # a polars panic is a BaseException: the subscriber must live on
                if isinstance(error, KeyboardInterrupt | SystemExit):
                    raise
                self._keep_unreadable(tenant, records, error)
                continue
            self.stats.batches += 1
            self.stats.readings += result.rows_received
            self.stats.stored += result.rows_stored
            self.stats.quarantined += result.rows_quarantined
        return ok

    def _keep_unreadable(self, tenant: str, records: list[dict[str, Any]], error: BaseException) -> None:
        """A batch that failed for a reason nobody foresaw: its readings go to the quarantine as sent."""
        log.exception("MQTT batch of %s could not be ingested; quarantining it as sent", tenant)
        reason = f"could not be ingested ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})"
        try:
            result = quarantine_records(
                self.engine, tenant, records, source="mqtt", source_ref=f"mqtt:{self.topic}", reason=reason
            )
        except Exception:
            log.exception("quarantining the unreadable MQTT batch of %s failed too", tenant)
            self._reject(reason)
            return
        self.stats.batches += 1
        self.stats.readings += result.rows_received
        self.stats.quarantined += result.rows_quarantined

    def start(self, timeout: float = 10.0) -> None:
        self._client.connect(self.host, self.port, keepalive=30)
        self._client.loop_start()
        if not self._subscribed.wait(timeout):
            self.stop()
            raise IngestError(f"no subscription on mqtt://{self.host}:{self.port} within {timeout:.0f} s")

    def stop(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()
        self.flush()

    def run(self, stop_after: float | None = None, heartbeat: Path | None = None) -> MqttStats:
        """Blocks, flushing periodically, until Ctrl-C or ``stop_after`` seconds. ``heartbeat`` is
        touched after every successful flush (the container health check reads its age)."""
        self.start()
        deadline = None if stop_after is None else time.monotonic() + stop_after
        try:
            while deadline is None or time.monotonic() < deadline:
                time.sleep(
                    min(self.flush_seconds, max(0.0, deadline - time.monotonic())) if deadline else self.flush_seconds
                )
                if self.flush() and heartbeat is not None:
                    heartbeat.touch()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
        return self.stats


def _is_connection_error(error: DBAPIError) -> bool:
    from sqlalchemy.exc import InterfaceError, OperationalError

    return isinstance(error, OperationalError | InterfaceError)
