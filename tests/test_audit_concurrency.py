"""The audit chain under real concurrency: the order of the chain is the order its lock gave,
so `luna audit verify` passes after many concurrent audited requests and transactions, and
tampering is still found afterwards."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import text
from typer.testing import CliRunner

from luna_core import audit
from luna_core.db.engine import owner_engine
from luna_core.db.tenancy import tenant_scope
from luna_core.users import create_user
from tests.e2e.conftest import ServerThread

PASSWORD = "correct horse battery"


def _wait_until_blocked_on_a_lock(settings, tenant: str, deadline_s: float = 10.0) -> None:
    """Until another session's audit INSERT for this tenant waits for the chain lock."""
    end = time.monotonic() + deadline_s
    with owner_engine(settings).connect() as connection:
        while time.monotonic() < end:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO audit_log%'"
                )
            ).scalar_one()
            if waiting:
                return
            connection.rollback()  # pg_stat_activity is read once per transaction
            time.sleep(0.02)
    raise AssertionError(f"no audit insert of {tenant} ever waited for the chain lock")


def _record(connection, tenant: str, target: str) -> None:
    audit.record(connection, tenant_id=tenant, actor="test", action="read", target=target, request_id=target)


def test_a_writer_that_waited_is_chained_after_the_one_it_waited_for(engine, settings, tenant_factory):
    """Deterministic interleaving: B takes its row id while A holds the chain lock, A writes one
    more row (a higher id) and commits, then B gets the lock. The chain must be A1, A2, B, not id order."""
    tenant = tenant_factory("audit-order")
    with ThreadPoolExecutor(1) as other:
        with tenant_scope(engine, tenant) as connection:
            _record(connection, tenant, "A1")
            b = other.submit(_record_in_own_transaction, engine, tenant, "B")
            _wait_until_blocked_on_a_lock(settings, tenant)
            _record(connection, tenant, "A2")
        b.result(timeout=30)

    assert audit.verify_chain(engine, [tenant]) == []
    with tenant_scope(engine, tenant) as connection:
        order = connection.execute(text("SELECT target FROM audit_log ORDER BY chain_seq")).scalars().all()
        ids = dict(connection.execute(text("SELECT target, id FROM audit_log")).all())
    assert order == ["A1", "A2", "B"]
    assert ids["B"] < ids["A2"]  # the case the id-ordered chain got wrong


def _record_in_own_transaction(engine, tenant: str, target: str) -> None:
    with tenant_scope(engine, tenant) as connection:
        _record(connection, tenant, target)


def test_chain_verifies_after_1000_concurrent_requests_and_transactions(
    api_settings, engine, settings, tenant_factory, monkeypatch
):
    """1,000 GET /meters over real HTTP (uvicorn, 16 client threads) while 4 threads write audit
    rows in transactions of their own (two rows each, with a pause between, as a slow admin
    action would), then `luna audit verify` as the CLI runs it: exit 0. A removed row is still
    found afterwards."""
    from luna_api.main import create_app
    from luna_cli.main import app as cli
    from luna_core.settings import get_settings

    tenant = tenant_factory("audit-load")
    email = f"load-{uuid.uuid4().hex[:6]}@{tenant}.example.com"
    with tenant_scope(engine, tenant) as connection:
        create_user(connection, tenant, email, PASSWORD, "customer")

    with ServerThread(create_app(api_settings)) as server:
        token = httpx.post(f"{server.url}/auth/token", data={"username": email, "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        local = threading.local()

        def get_meters(i: int) -> int:
            if not hasattr(local, "client"):
                local.client = httpx.Client(base_url=server.url, headers=headers, timeout=60)
            return local.client.get("/meters", headers={"X-Request-ID": f"load-{i}"}).status_code

        def direct(worker: int) -> None:
            for i in range(25):
                with tenant_scope(engine, tenant) as connection:
                    _record(connection, tenant, f"direct-{worker}-{i}-a")
                    time.sleep(0.002)
                    _record(connection, tenant, f"direct-{worker}-{i}-b")

        with ThreadPoolExecutor(16) as clients, ThreadPoolExecutor(4) as writers:
            writes = [writers.submit(direct, w) for w in range(4)]
            statuses = list(clients.map(get_meters, range(1000)))
            for write in writes:
                write.result()

    assert statuses == [200] * 1000
    with tenant_scope(engine, tenant) as connection:
        rows = connection.execute(
            text("SELECT count(*) FILTER (WHERE action = 'meter.list'), count(*), max(chain_seq) FROM audit_log")
        ).one()
    assert rows[0] == 1000 and rows[1] == rows[2] == 1000 + 200 + 1  # + the login

    monkeypatch.setenv("LUNA_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        verified = CliRunner().invoke(cli, ["audit", "verify", "--tenant", tenant])
        assert verified.exit_code == 0, verified.output
        with owner_engine(settings).begin() as connection:
            connection.execute(text("SET LOCAL row_security = off"))
            connection.execute(
                text("DELETE FROM audit_log WHERE tenant_id = :t AND request_id = 'load-500'"), {"t": tenant}
            )
        broken = CliRunner().invoke(cli, ["audit", "verify", "--tenant", tenant])
        assert broken.exit_code == 1 and "removed" in broken.output
    finally:
        get_settings.cache_clear()
