"""Live readings over the real Mosquitto at 127.0.0.1:1883 into the same ingest path."""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import func, select

from luna_core.db.schema import meter_readings, readings_quarantine
from luna_core.db.tenancy import tenant_scope
from luna_core.ingest.mqtt import MqttIngestor, parse_message

HOST = os.environ.get("LUNA_TEST_MQTT_HOST", "127.0.0.1")
PORT = int(os.environ.get("LUNA_TEST_MQTT_PORT", "1883"))
T0 = datetime(2026, 2, 1, tzinfo=UTC)


def _publish(messages: list[tuple[str, bytes]]) -> None:
    client = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:6]}"
    )
    client.connect(HOST, PORT)
    client.loop_start()
    for topic, payload in messages:
        client.publish(topic, payload, qos=1).wait_for_publish(5)
    client.loop_stop()
    client.disconnect()


def _count(engine, tenant, table) -> int:
    with tenant_scope(engine, tenant) as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def _wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.fixture
def ingestor(engine):
    topic = "luna/+/meters/+/readings"
    ingestor = MqttIngestor(engine, HOST, PORT, topic, flush_seconds=0.2, client_id=f"test-{uuid.uuid4().hex[:8]}")
    ingestor.start()
    yield ingestor
    ingestor.stop()


def test_published_readings_are_stored_and_republishing_changes_nothing(engine, tenant_factory, ingestor):
    tenant = tenant_factory("mqtt")
    topic = f"luna/{tenant}/meters/main/readings"
    messages = [
        (topic, json.dumps({"ts": (T0 + timedelta(minutes=15 * i)).isoformat(), "kwh": 0.3 + i / 100}).encode())
        for i in range(20)
    ]
    messages.append((topic, b"{not json"))
    _publish(messages)
    _wait_for(lambda: ingestor.stats.messages >= 21)
    ingestor.flush()
    assert _count(engine, tenant, meter_readings) == 20
    assert _count(engine, tenant, readings_quarantine) == 1

    _publish(messages[:20])
    _wait_for(lambda: ingestor.stats.messages >= 41)
    ingestor.flush()
    assert _count(engine, tenant, meter_readings) == 20
    assert ingestor.stats.stored == 20


def test_messages_for_unknown_tenants_are_counted_not_stored(engine, ingestor):
    _publish([("luna/no-such-tenant/meters/main/readings", b'{"ts": "2026-02-01T00:00:00Z", "kwh": 1}')])
    _wait_for(lambda: ingestor.stats.messages >= 1)
    ingestor.flush()
    assert ingestor.stats.rejected_messages == 1
    assert "unknown tenant" in next(iter(ingestor.stats.rejections))


def test_parse_message_takes_meter_from_topic_and_accepts_lists():
    tenant, records = parse_message(
        "luna/acme/meters/pv/readings", b'[{"ts": "2026-02-01T00:00:00Z", "kwh": 1, "meter_id": "spoofed"}]'
    )
    assert tenant == "acme" and records[0]["meter_id"] == "pv"
    with pytest.raises(Exception, match="is not luna/<tenant>/meters/<meter>/readings"):
        parse_message("other/topic", b"{}")
