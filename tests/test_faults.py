"""Faults on private servers (never the shared ones): PostgreSQL restarted in the middle of an
ingest, the MQTT broker killed while readings stream, and the API while the database is down.
Afterwards every acknowledged reading is stored exactly once."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from luna_core.db import migrate
from luna_core.db.engine import app_engine, dispose_all, owner_engine
from luna_core.db.schema import ingest_batches, meter_readings
from luna_core.db.tenancy import tenant_scope
from luna_core.ingest import ingest_records
from luna_core.ingest.mqtt import MqttIngestor
from luna_core.settings import Settings
from luna_core.tenants import create_tenant
from tests.conftest import Meter
from tests.private_services import PrivateMosquitto, PrivatePostgres

T0 = datetime(2026, 2, 1, tzinfo=UTC)


@pytest.fixture
def private_pg(tmp_path):
    server = PrivatePostgres()
    settings = Settings(
        database_url=server.url, data_dir=tmp_path, environment="test", db_connect_timeout_seconds=2, _env_file=None
    )
    migrate.upgrade(owner_engine(settings), settings.app_db_role)
    create_tenant(app_engine(settings), "fault", "Fault", "business", meter_specs=(Meter("main", max_kw=1000),))
    yield server, settings
    dispose_all()
    server.close()


@pytest.fixture
def broker():
    server = PrivateMosquitto()
    yield server
    server.close()


def _reading(i: int) -> dict:
    return {"meter_id": "main", "ts": (T0 + timedelta(minutes=15 * i)).isoformat(), "kwh": round(1 + i / 1000, 3)}


def _stored(engine, tenant: str = "fault") -> dict[str, float]:
    with tenant_scope(engine, tenant) as connection:
        rows = connection.execute(select(meter_readings.c.ts, meter_readings.c.kwh)).all()
    return {row.ts.isoformat(): row.kwh for row in rows}


def _wait(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_postgres_restart_in_the_middle_of_an_ingest_loses_and_doubles_nothing(private_pg):
    server, settings = private_pg
    engine = app_engine(settings)
    batches = [[_reading(b * 100 + i) for i in range(100)] for b in range(30)]
    acknowledged: list[int] = []
    failures: list[str] = []

    def sender() -> None:
        # A client that retries a batch until it is acknowledged, as the HTTP push clients do on 503.
        for index, batch in enumerate(batches):
            while True:
                try:
                    ingest_records(engine, "fault", batch, source="http", source_ref=f"batch-{index}")
                    acknowledged.append(index)
                    break
                except OperationalError as error:
                    failures.append(type(error.orig).__name__)
                    time.sleep(0.2)

    thread = threading.Thread(target=sender)
    thread.start()
    _wait(lambda: len(acknowledged) >= 5)
    server.restart()
    thread.join(timeout=120)
    assert not thread.is_alive() and acknowledged == list(range(30))

    stored = _stored(engine)
    expected = {(T0 + timedelta(minutes=15 * i)).isoformat(): round(1 + i / 1000, 3) for i in range(3000)}
    assert stored == expected  # every reading once, with its value
    with tenant_scope(engine, "fault") as connection:
        # A batch cut off by the restart was rolled back whole: one batch row per acknowledged batch.
        assert connection.execute(select(func.count()).select_from(ingest_batches)).scalar_one() == 30


def test_mqtt_ingest_keeps_readings_while_postgres_restarts(private_pg, broker):
    server, settings = private_pg
    engine = app_engine(settings)
    ingestor = MqttIngestor(
        engine, "127.0.0.1", broker.port, flush_seconds=0.2, client_id=f"ing-{uuid.uuid4().hex[:6]}"
    )
    stop = threading.Event()
    ingestor.start()
    flusher = threading.Thread(target=lambda: [ingestor.flush() or time.sleep(0.2) for _ in iter(stop.is_set, True)])
    flusher.start()
    try:
        publisher = _publisher(broker.port)
        infos = []
        for i in range(400):
            infos.append(publisher.publish("luna/fault/meters/main/readings", json.dumps(_reading(i)), qos=1))
            if i == 150:
                server.restart()
            time.sleep(0.002)
        _wait(lambda: all(info.is_published() for info in infos))
        _wait(lambda: len(_stored(engine)) == 400)
    finally:
        stop.set()
        flusher.join(timeout=30)
        ingestor.stop()
    assert _stored(engine) == {(T0 + timedelta(minutes=15 * i)).isoformat(): round(1 + i / 1000, 3) for i in range(400)}


def _acked(info: mqtt.MQTTMessageInfo) -> bool:
    """PUBACK received; a message published while disconnected counts as not acknowledged."""
    try:
        return info.is_published()
    except RuntimeError:
        return False


def _publisher(port: int) -> mqtt.Client:
    client = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
        client_id=f"gw-{uuid.uuid4().hex[:6]}",
        clean_session=False,
    )
    client.reconnect_delay_set(min_delay=0.1, max_delay=0.5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def test_broker_killed_while_readings_stream_every_acknowledged_reading_stored_once(engine, tenant_factory, broker):
    """Mosquitto is killed with SIGKILL mid-stream and restarted from its persistence file. The
    gateway (publisher) and the subscriber both keep persistent sessions and reconnect by themselves;
    a reading the broker acknowledged must end up stored exactly once, and the gateway re-sends what
    was never acknowledged."""
    tenant = tenant_factory("kill", meters=(Meter("main", max_kw=1000),))
    ingestor = MqttIngestor(
        engine, "127.0.0.1", broker.port, flush_seconds=0.2, client_id=f"ing-{uuid.uuid4().hex[:6]}"
    )
    ingestor._client.reconnect_delay_set(min_delay=0.1, max_delay=0.5)
    stop = threading.Event()
    ingestor.start()
    flusher = threading.Thread(target=lambda: [ingestor.flush() or time.sleep(0.2) for _ in iter(stop.is_set, True)])
    flusher.start()
    topic = f"luna/{tenant}/meters/main/readings"
    publisher = _publisher(broker.port)
    try:
        infos = {}
        for i in range(600):
            infos[i] = publisher.publish(topic, json.dumps(_reading(i)), qos=1)
            if i == 250:
                broker.kill()
            if i == 350:
                broker.start()
            time.sleep(0.003)
        # What the broker acknowledged is the gateway's to forget; the rest it sends again.
        time.sleep(3)
        acknowledged = {i for i, info in infos.items() if _acked(info)}
        for i in sorted(set(infos) - acknowledged):
            infos[i] = publisher.publish(topic, json.dumps(_reading(i)), qos=1)
        _wait(lambda: all(_acked(info) for info in infos.values()))
        _wait(lambda: len(_stored(engine, tenant)) >= 600)
        ingestor.flush()
    finally:
        stop.set()
        flusher.join(timeout=30)
        publisher.loop_stop()
        publisher.disconnect()
        ingestor.stop()
    stored = _stored(engine, tenant)
    assert acknowledged, "nothing was acknowledged before the kill"
    expected = {(T0 + timedelta(minutes=15 * i)).isoformat(): round(1 + i / 1000, 3) for i in range(600)}
    assert stored == expected
    with tenant_scope(engine, tenant) as connection:
        assert connection.execute(text("SELECT count(*) FROM meter_readings")).scalar_one() == 600


def test_api_answers_503_while_the_database_is_down_and_recovers(private_pg, api_settings):
    from fastapi.testclient import TestClient

    from luna_api.main import create_app
    from luna_core.users import create_user

    server, settings = private_pg
    settings = settings.model_copy(update={"jwt_secret": "fault-test-" + "k" * 40})
    with tenant_scope(app_engine(settings), "fault") as connection:
        create_user(connection, "fault", "ops@fault.example.com", "correct horse battery", "admin")
    try:
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            token = client.post(
                "/auth/token", data={"username": "ops@fault.example.com", "password": "correct horse battery"}
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            assert client.get("/meters", headers=headers).status_code == 200
            server.stop()
            answers: list = []
            worker = threading.Thread(target=lambda: answers.append(client.get("/meters", headers=headers)))
            worker.start()
            worker.join(timeout=60)
            assert answers, "the API hung while the database was down"
            down = answers[0]
            assert down.status_code == 503
            assert down.json()["error"] == "unavailable" and "database is unavailable" in down.json()["detail"]
            assert down.headers["Retry-After"] == "5"
            assert client.get("/ready").status_code == 503
            assert client.get("/health").status_code == 200
            server.start()
            assert client.get("/meters", headers=headers).status_code == 200
    finally:
        create_app(api_settings)  # metrics and logging back on the session's database
