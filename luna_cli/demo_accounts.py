"""Demo accounts: a platform admin and one account per demo tenant, with generated passwords shown
once when created (and kept, readable only by you, in data_dir/demo-credentials.txt).

A household's account is its owner: the tenant admin of its own tenant, who switches its own rules
and manages its own documents. A business's account is an employee with the customer role, who sees
the controls disabled with the reason (its admin is someone else)."""

from __future__ import annotations

import contextlib

from sqlalchemy import Engine

from luna_core.auth.passwords import generate_password
from luna_core.db.tenancy import tenant_scope
from luna_core.settings import Settings
from luna_core.tenants import TenantError, create_tenant
from luna_core.users import UserExists, create_user

PLATFORM_TENANT = "luna-platform"
DOMAIN = "luna-demo.example.com"


OWNER_TENANTS = ("household",)


def _tenant_account(tenant_id: str) -> tuple[str, bool, str]:
    """(role, platform admin, what the credentials file says) of a demo tenant's account."""
    if tenant_id in OWNER_TENANTS:
        return "admin", False, f"owner of {tenant_id} (its tenant admin)"
    return "customer", False, f"customer of {tenant_id}"


def ensure_demo_accounts(engine: Engine, settings: Settings, tenant_ids: list[str]) -> list[tuple[str, str, str]]:
    """Returns (email, password, what) for the accounts created now; existing ones are kept."""
    with contextlib.suppress(TenantError):  # exists from an earlier demo run
        create_tenant(engine, PLATFORM_TENANT, "Luna platform operators", "business")
    wanted = [(PLATFORM_TENANT, f"admin@{DOMAIN}", "admin", True, "platform admin (all tenants)")]
    wanted += [(t, f"customer@{t}.{DOMAIN}", *_tenant_account(t)) for t in tenant_ids]
    created = []
    for tenant, email, role, platform, what in wanted:
        password = generate_password()
        try:
            with tenant_scope(engine, tenant) as connection:
                create_user(connection, tenant, email, password, role, platform_admin=platform)
        except UserExists:
            continue
        created.append((email, password, what))
    if created:
        path = settings.data_dir / "demo-credentials.txt"
        with path.open("a") as file:
            file.writelines(f"{email}\t{password}\t{what}\n" for email, password, what in created)
        path.chmod(0o600)
    return created
