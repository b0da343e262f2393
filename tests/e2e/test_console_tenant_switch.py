"""The admin console as an operator's tool: a platform admin picks a tenant and every console page
acts on it (the API gets X-Luna-Tenant and audits each request under that tenant); back on the
customer pages, the admin is in their own tenant again."""

from __future__ import annotations

import uuid

import httpx

from luna_core.db.tenancy import tenant_scope
from luna_core.tenants import create_tenant, delete_tenant
from luna_core.users import create_user
from tests.e2e.conftest import PASSWORD, Person, World, login, screenshot


def test_a_platform_admin_switches_the_console_to_another_tenant(page, world: World, engine):
    operators = f"e2e-ops-{uuid.uuid4().hex[:6]}"
    create_tenant(engine, operators, "Operators", "business")
    try:
        email = f"ops-{uuid.uuid4().hex[:6]}@{operators}.example.com"
        with tenant_scope(engine, operators) as connection:
            create_user(connection, operators, email, PASSWORD, "admin", platform_admin=True)
        login_form = {"username": email, "password": PASSWORD}
        token = httpx.post(f"{world.url}/auth/token", data=login_form).json()["access_token"]
        target = world.b_customer.tenant_id
        name = f"b-only-{uuid.uuid4().hex[:6]}.md"
        uploaded = httpx.post(
            f"{world.url}/ingest/doc",
            headers={"Authorization": f"Bearer {token}", "X-Luna-Tenant": target},
            files={"file": (name, b"# Ofen\n\nDer Ofen braucht morgens 40 Minuten zum Aufheizen.\n", "text/markdown")},
            timeout=60,
        )
        assert uploaded.status_code in (200, 202), uploaded.text

        login(page, Person(email, operators, "admin"))
        page.goto("/console/documents")
        page.get_by_test_id("console").wait_for()
        row = page.locator(f'[data-testid="document-row"][data-filename="{name}"]')
        assert row.count() == 0  # the operators' own tenant has no such document
        page.get_by_test_id("console-tenant").select_option(target)
        row.wait_for()
        screenshot(page, "console-tenant-switch")

        audit = httpx.get(
            f"{world.url}/admin/audit",
            params={"actor": email},
            headers={"Authorization": f"Bearer {token}", "X-Luna-Tenant": target},
        ).json()["items"]
        assert any(item["action"] == "documents.read" for item in audit), audit

        # Leaving the console, the header goes: the customer pages are the admin's own tenant again.
        sent: list[dict[str, str]] = []
        page.on("request", lambda request: sent.append(request.headers) if "/kpis" in request.url else None)
        page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Overview").click()
        page.get_by_test_id("greeting").wait_for()
        page.wait_for_timeout(1500)
        assert sent and all("x-luna-tenant" not in headers for headers in sent)
    finally:
        delete_tenant(engine, operators)
