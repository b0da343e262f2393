"""Admin model endpoints over a real MLflow registry: list, promote, rollback (audited), retrain
through the outbox, and another tenant's model answering 404."""

from __future__ import annotations

from luna_core.forecasting.registry import CHAMPION, model_name
from tests.test_model_registry import ConstantModel


def test_promote_and_rollback_through_the_api(api, api_user, registry, engine):
    admin = api_user(role="admin")
    tenant = admin.tenant_id
    v1 = registry.register(tenant, ConstantModel(1.0), metrics={"backtest_mae": 0.5}, params={})
    registry.set_alias(tenant, v1.version, CHAMPION, "first")
    v2 = registry.register(tenant, ConstantModel(2.0), metrics={"backtest_mae": 0.4}, params={})
    name = model_name(tenant)

    listed = api.get("/admin/models", headers=admin.headers).json()
    assert listed["champion"] == v1.version and [v["version"] for v in listed["versions"]] == [v2.version, v1.version]

    promoted = api.post(f"/admin/models/{name}/promote", headers=admin.headers, json={"version": v2.version})
    assert promoted.status_code == 200 and CHAMPION in promoted.json()["aliases"]
    again = api.post(f"/admin/models/{name}/promote", headers=admin.headers, json={"version": v2.version})
    assert again.status_code == 409

    rolled = api.post(
        f"/admin/models/{name}/rollback",
        headers=admin.headers,
        json={"version": v1.version, "reason": "v2 overshoots peaks"},
    )
    assert rolled.status_code == 200
    assert registry.champion(tenant).version == v1.version
    audit = api.get("/admin/audit", headers=admin.headers, params={"action": "model.rollback"}).json()["items"]
    assert audit[0]["target"] == f"{name}/{v1.version}" and audit[0]["detail"]["previous"] == v2.version

    missing = api.post(f"/admin/models/{name}/promote", headers=admin.headers, json={"version": "999"})
    assert missing.status_code == 404


def test_other_tenants_model_is_404_and_customers_are_403(api, api_user):
    admin, other = api_user(role="admin"), api_user(role="admin")
    response = api.post(
        f"/admin/models/{model_name(other.tenant_id)}/promote", headers=admin.headers, json={"version": "1"}
    )
    assert response.status_code == 404
    customer = api_user(admin.tenant_id)
    assert api.get("/admin/models", headers=customer.headers).status_code == 403


def test_retrain_request_is_queued_and_listed(api, api_user):
    admin = api_user(role="admin")
    queued = api.post("/admin/retrain", headers=admin.headers, json={"reason": "new heat pump installed"})
    assert queued.status_code == 202 and queued.json()["status"] == "pending"
    training = api.get("/admin/models", headers=admin.headers).json()["training"]
    assert training[0]["id"] == queued.json()["id"] and training[0]["reason"] == "new heat pump installed"


def test_tenant_admin_controls_sharing_and_customers_cannot(api, api_user, engine):
    from luna_core.tenants import fetch_tenant

    admin = api_user(role="admin")
    off = api.put(f"/tenants/{admin.tenant_id}/sharing", headers=admin.headers, json={"share_anonymised": False})
    assert off.status_code == 200 and off.json()["share_anonymised"] is False
    assert fetch_tenant(engine, admin.tenant_id).share_anonymised is False
    customer = api_user(admin.tenant_id)
    denied = api.put(f"/tenants/{admin.tenant_id}/sharing", headers=customer.headers, json={"share_anonymised": True})
    assert denied.status_code == 403
    other = api_user(role="admin")
    hidden = api.put(f"/tenants/{admin.tenant_id}/sharing", headers=other.headers, json={"share_anonymised": True})
    assert hidden.status_code == 404
