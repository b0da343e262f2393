"""Refresh-token rotation on real PostgreSQL: the same client using a just-rotated token again (two tabs
refreshing at once) keeps its sessions; the same token used again by another client, or after the reuse
window, is theft: every session of the user ends and the audit log says so."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from luna_core.auth.login import AuthError, LoginPolicy, login, refresh, revoke
from luna_core.db.schema import audit_log
from luna_core.db.tenancy import tenant_scope
from luna_core.users import create_user

PASSWORD = "correct horse battery"
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
THEFT = "reused-token-revoked-all"


@pytest.fixture
def person(engine, tenant_factory):
    tenant = tenant_factory("refresh")
    email = f"tabs-{uuid.uuid4().hex[:8]}@{tenant}.example.com"
    with tenant_scope(engine, tenant) as connection:
        create_user(connection, tenant, email, PASSWORD, "customer")
    return tenant, email


def theft_alarms(engine, tenant: str) -> int:
    with tenant_scope(engine, tenant) as connection:
        rows = connection.execute(select(audit_log).where(audit_log.c.action == "refresh")).all()
    return sum(row.outcome == THEFT for row in rows)


def refresh_call(http: TestClient, token: str):
    return http.post("/auth/refresh", json={"refresh_token": token})


def test_two_tabs_refreshing_with_the_same_token_both_stay_signed_in(api_settings, engine, person):
    from luna_api.main import create_app

    tenant, email = person
    with TestClient(create_app(api_settings), raise_server_exceptions=False) as browser:
        first = browser.post("/auth/token", data={"username": email, "password": PASSWORD}).json()
        tab_a = refresh_call(browser, first["refresh_token"])
        tab_b = refresh_call(browser, first["refresh_token"])  # the other tab, a moment later
        assert tab_a.status_code == 200 and tab_b.status_code == 200, tab_b.text
        assert tab_a.json()["refresh_token"] != tab_b.json()["refresh_token"]
        for tab in (tab_a, tab_b):  # both tabs go on refreshing and calling the API
            again = refresh_call(browser, tab.json()["refresh_token"])
            assert again.status_code == 200
            me = browser.get("/users/me", headers={"Authorization": f"Bearer {again.json()['access_token']}"})
            assert me.status_code == 200
    assert theft_alarms(engine, tenant) == 0


def test_the_same_token_from_another_client_is_theft(api_settings, engine, person):
    from luna_api.main import create_app

    tenant, email = person
    app = create_app(api_settings)
    with (
        TestClient(app, raise_server_exceptions=False) as owner,
        TestClient(app, raise_server_exceptions=False, client=("198.51.100.7", 4000)) as thief,
    ):
        first = owner.post("/auth/token", data={"username": email, "password": PASSWORD}).json()
        rotated = refresh_call(owner, first["refresh_token"])
        assert rotated.status_code == 200
        stolen = refresh_call(thief, first["refresh_token"])
        assert stolen.status_code == 401 and "already used" in stolen.json()["detail"]
        # Every session of the user ended: the owner's rotated token too.
        assert refresh_call(owner, rotated.json()["refresh_token"]).status_code == 401
    assert theft_alarms(engine, tenant) == 1


def test_reuse_after_the_window_is_theft(engine, person):
    tenant, email = person
    policy = LoginPolicy(refresh_reuse=timedelta(seconds=30))
    session = login(engine, email, PASSWORD, policy, client_key="device:tab", now=T0)
    rotated = refresh(engine, session.refresh_token, policy, client_key="device:tab", now=T0 + timedelta(seconds=1))
    within = refresh(engine, session.refresh_token, policy, client_key="device:tab", now=T0 + timedelta(seconds=30))
    assert within.family_id == rotated.family_id == session.family_id
    with pytest.raises(AuthError, match="already used"):
        refresh(engine, session.refresh_token, policy, client_key="device:tab", now=T0 + timedelta(seconds=32))
    for survivor in (rotated, within):
        with pytest.raises(AuthError):
            refresh(engine, survivor.refresh_token, policy, client_key="device:tab", now=T0 + timedelta(seconds=33))
    assert theft_alarms(engine, tenant) == 1


def test_a_thief_who_rotates_first_is_caught_when_the_owner_refreshes(engine, person):
    """The reuse window is for the client that did the rotation: here the thief did, so the owner's
    refresh with the same token (however soon) is the reuse that reveals the theft."""
    tenant, email = person
    policy = LoginPolicy()
    session = login(engine, email, PASSWORD, policy, client_key="device:owner", now=T0)
    refresh(engine, session.refresh_token, policy, client_key="client:thief", now=T0 + timedelta(seconds=1))
    with pytest.raises(AuthError, match="already used"):
        refresh(engine, session.refresh_token, policy, client_key="device:owner", now=T0 + timedelta(seconds=2))
    assert theft_alarms(engine, tenant) == 1


def test_parallel_refreshes_of_one_client_all_succeed(engine, person):
    tenant, email = person
    policy = LoginPolicy()
    session = login(engine, email, PASSWORD, policy, client_key="device:four-tabs")
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda _: refresh(engine, session.refresh_token, policy, client_key="device:four-tabs"), range(4))
        )
    assert len({r.refresh_token for r in results}) == 4
    assert theft_alarms(engine, tenant) == 0


def test_logout_ends_the_family_without_a_theft_alarm(engine, person):
    tenant, email = person
    policy = LoginPolicy()
    session = login(engine, email, PASSWORD, policy, client_key="device:tab", now=T0)
    rotated = refresh(engine, session.refresh_token, policy, client_key="device:tab", now=T0 + timedelta(seconds=1))
    sibling = refresh(engine, session.refresh_token, policy, client_key="device:tab", now=T0 + timedelta(seconds=2))
    revoke(engine, rotated.refresh_token)
    for token in (rotated.refresh_token, sibling.refresh_token):
        with pytest.raises(AuthError, match="invalid or expired"):
            refresh(engine, token, policy, client_key="device:tab", now=T0 + timedelta(seconds=3))
    assert theft_alarms(engine, tenant) == 0
