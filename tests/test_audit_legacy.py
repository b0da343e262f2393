"""Audit rows written before the chain was ordered by its lock (migration 0013) keep their
hashes: an old chain forked by the old race verifies after the upgrade, new rows continue it
strictly, and tampering with the old rows is still found."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, text

from luna_core import audit
from luna_core.db import migrate
from tests.conftest import create_database, drop_database

TENANT = "legacy-a"


@pytest.fixture
def legacy_db():
    name = f"luna_audit_legacy_{uuid.uuid4().hex[:8]}"
    url = create_database(name)
    owner = create_engine(url)
    migrate.upgrade(owner, "luna_app", "0009")
    with owner.begin() as connection:
        connection.execute(text("INSERT INTO tenants (id, name, kind) VALUES (:t, 'A', 'household')"), {"t": TENANT})
    app = create_engine(url.replace("postgres@", "luna_app@", 1))
    yield owner, app
    app.dispose()
    owner.dispose()
    drop_database(name)


def _scope(app):
    connection = app.connect()
    connection.execute(text("SELECT set_config('luna.tenant_id', :t, false)"), {"t": TENANT})
    connection.commit()
    return connection


def _insert(connection, target: str) -> None:
    connection.execute(
        text("INSERT INTO audit_log (tenant_id, actor, action, outcome, target) VALUES (:t, 'x', 'read', 'ok', :g)"),
        {"t": TENANT, "g": target},
    )


def _fork_the_old_chain(owner, app) -> None:
    """The old race: B takes its id while A holds the lock, A writes a higher id, B links to it."""
    a = _scope(app)
    _insert(a, "A0")
    a.commit()
    _insert(a, "A1")
    with ThreadPoolExecutor(1) as other:

        def b() -> None:
            with _scope(app) as connection:
                _insert(connection, "B")
                connection.commit()

        done = other.submit(b)
        with owner.connect() as watcher:
            for _ in range(500):
                if watcher.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                ).scalar_one():
                    break
                watcher.rollback()
                time.sleep(0.02)
        _insert(a, "A2")
        a.commit()
        done.result(timeout=30)
    _insert(a, "A3")
    a.commit()
    a.close()


def test_an_old_forked_chain_verifies_after_the_upgrade_and_stays_protected(legacy_db):
    owner, app = legacy_db
    _fork_the_old_chain(owner, app)
    with owner.connect() as connection:
        old_rule_breaks = connection.execute(
            text(
                "SELECT count(*) FROM (SELECT prev_hash, lag(hash) OVER (ORDER BY id) AS expected FROM audit_log) x "
                "WHERE prev_hash IS DISTINCT FROM expected"
            )
        ).scalar_one()
    assert old_rule_breaks > 0  # the id-ordered verifier would cry "removed" here
    migrate.upgrade(owner, "luna_app")
    with _scope(app) as connection:
        assert audit.verify_tenant_chain(connection, TENANT) is None
        _insert(connection, "new-1")
        _insert(connection, "new-2")
        connection.commit()
        assert audit.verify_tenant_chain(connection, TENANT) is None
        links = dict(connection.execute(text("SELECT target, prev_hash FROM audit_log")).all())
        hashes = dict(connection.execute(text("SELECT target, hash FROM audit_log")).all())
    assert links["new-1"] == hashes["A3"]  # the new chain continues from the newest old row

    with owner.begin() as connection:
        connection.execute(text("UPDATE audit_log SET outcome = 'denied' WHERE target = 'B'"))
    with _scope(app) as connection:
        assert "modified" in audit.verify_tenant_chain(connection, TENANT).reason
    with owner.begin() as connection:
        connection.execute(text("UPDATE audit_log SET outcome = 'ok' WHERE target = 'B'"))
        connection.execute(text("DELETE FROM audit_log WHERE target = 'A1'"))  # A2 links to it
    with _scope(app) as connection:
        assert "removed" in audit.verify_tenant_chain(connection, TENANT).reason
