"""GET /rag/help: help texts written for the caller's tenant from its own data (key figures, tomorrow's
prices in its zone, its rules and savings, its documents), in German and English; another tenant's
texts hold none of it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from luna_core.db.tenancy import tenant_scope
from luna_core.energy.kpis import compute_tenant_kpis, store_tenant_kpis
from luna_core.playbook.rules import create_rule
from tests import documents as make
from tests.luna_seed import seed


def _help(api, user, language: str) -> dict[str, str]:
    response = api.get("/rag/help", headers=user.headers, params={"language": language})
    assert response.status_code == 200, response.text
    assert response.json()["language"] == language
    return {t["key"]: t["text"] for t in response.json()["topics"]}


def test_help_texts_are_written_from_the_tenants_own_data(api, api_user, engine, tenant_factory):
    zone = f"HZ-{uuid.uuid4().hex[:6]}"
    tenant = tenant_factory("help", zone=zone)
    seed(engine, tenant, zone, datetime.now(UTC))
    with tenant_scope(engine, tenant) as connection:
        kpis = compute_tenant_kpis(connection, tenant)
        store_tenant_kpis(connection, kpis)
        create_rule(connection, tenant, name="alerts", strategy="negative_price_alert", actor="test")
    admin = api_user(tenant, role="admin")
    uploaded = api.post("/ingest/doc", headers=admin.headers, files={"file": ("standby.txt", make.TEXT.encode())})
    assert uploaded.status_code == 202, uploaded.text

    english = _help(api, api_user(tenant), "en")
    assert list(english) == ["kpis", "prices", "playbook", "documents"]
    assert f"{kpis.kwh_month:,.1f} kWh" in english["kpis"] and "Consumption is the sum" in english["kpis"]
    assert f"Tomorrow in {zone} the cheapest hour starts at 14:00" in english["prices"]  # the seeded dip
    assert "1 rule(s) switched on" in english["playbook"]
    assert "She knows 1 of them" in english["documents"] and "standby" in english["documents"].lower()

    german = _help(api, admin, "de")
    assert f"Morgen beginnt in {zone} die günstigste Stunde um 14:00" in german["prices"]
    assert "1 Regel(n) eingeschaltet" in german["playbook"]

    stranger = _help(api, api_user(), "en")
    assert "first readings" in stranger["kpis"] and "no rule switched on" in stranger["playbook"]
    assert "None have been uploaded" in stranger["documents"]
    assert all(zone not in text and "standby" not in text.lower() for text in stranger.values())


def test_help_language_must_be_german_or_english(api, api_user):
    response = api.get("/rag/help", headers=api_user().headers, params={"language": "fr"})
    assert response.status_code == 422 and "language" in response.json()["detail"]
