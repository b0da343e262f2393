"""OIDC through the API: a token from the configured issuer (a local server standing in for the
IdP, real HTTP on 127.0.0.1) is accepted for its tenant and role; local tokens keep working."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from luna_api.main import create_app
from luna_core.settings import Settings
from tests.conftest import Meter
from tests.test_oidc import AUDIENCE, EC_KEY, claims, local_idp, sign  # noqa: F401  (local_idp is a fixture)


@pytest.fixture
def oidc_api(api_settings, local_idp):  # noqa: F811
    issuer, _ = local_idp
    settings = Settings.model_validate({**api_settings.model_dump(), "oidc_issuer": issuer, "oidc_audience": AUDIENCE})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client, issuer


def test_oidc_token_maps_to_tenant_and_role(oidc_api, tenant_factory):
    client, issuer = oidc_api
    tenant = tenant_factory("oidc", meters=(Meter("main"),))
    token = sign(claims(iss=issuer, luna_tenant=tenant, luna_role="luna-customer"), EC_KEY, "ES256", "ec-1")
    response = client.get("/meters", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert [m["meter_id"] for m in response.json()["items"]] == ["main"]
    # A customer from the IdP is still a customer.
    assert client.get("/admin/audit", headers={"Authorization": f"Bearer {token}"}).status_code == 403


def test_oidc_token_for_a_wrong_audience_is_401(oidc_api, tenant_factory):
    client, issuer = oidc_api
    token = sign(claims(iss=issuer, aud="another-app", luna_tenant="acme"), EC_KEY, "ES256", "ec-1")
    response = client.get("/meters", headers={"Authorization": f"Bearer {token}"})
    assert (response.status_code, response.json()["detail"]) == (401, "token audience is not accepted")


def test_local_tokens_still_work_with_oidc_on(oidc_api, api_user):
    client, _ = oidc_api
    user = api_user()
    assert client.get("/users/me", headers=user.headers).status_code == 200
