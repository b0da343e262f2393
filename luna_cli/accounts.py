"""``luna users`` and ``luna audit``: accounts and the audit chain from the command line."""

from __future__ import annotations

import typer

from luna_cli.common import console, one_line_errors, settings_with_database

users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@users_app.command("add")
@one_line_errors
def users_add(
    email: str = typer.Argument(..., help="Login e-mail (unique on the platform)."),
    tenant: str = typer.Option(..., "--tenant", "-t"),
    role: str = typer.Option("customer", help="admin | customer"),
    platform_admin: bool = typer.Option(False, help="May act on every tenant."),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Create a user (the password is asked for, never echoed)."""
    from luna_core import audit
    from luna_core.db.engine import app_engine
    from luna_core.db.tenancy import tenant_scope
    from luna_core.users import create_user

    with tenant_scope(app_engine(settings_with_database()), tenant) as connection:
        user = create_user(connection, tenant, email, password, role, platform_admin=platform_admin)
        audit.record(
            connection,
            tenant_id=tenant,
            actor="cli",
            action="user.create",
            target=f"user/{user.id}",
            detail={"role": role, "platform_admin": platform_admin},
        )
    console.print(f"user {user.email} ({role}{', platform admin' if platform_admin else ''}) created in {tenant}")


@audit_app.command("verify")
@one_line_errors
def audit_verify(tenant: list[str] = typer.Option([], "--tenant", "-t", help="Only these tenants.")) -> None:
    """Recompute every tenant's hash chain; exit 1 at the first modified or removed row."""
    from luna_core.audit import verify_chain
    from luna_core.db.engine import app_engine
    from luna_core.tenants import list_tenants

    engine = app_engine(settings_with_database())
    tenants = tenant or [t.id for t in list_tenants(engine)]
    breaks = verify_chain(engine, tenants)
    for found in breaks:
        console.print(f"[red]broken[/red] {found.tenant_id}: row {found.row_id}: {found.reason}", highlight=False)
    if breaks:
        raise typer.Exit(1)
    console.print(f"audit chain intact for {len(tenants)} tenant(s)")
