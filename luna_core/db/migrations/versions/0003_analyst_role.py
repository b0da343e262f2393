"""Analysts: a read-only login role and a schema ``analytics`` of tenant-scoped views.

The views are ``security_invoker`` (PostgreSQL 15+): the base tables' privileges and their forced
row-level security are checked as the analyst, not as the view owner (the migration role, often a
superuser that bypasses RLS). So an analyst sees a tenant's rows only inside a transaction that set
``luna.tenant_id``, exactly like the application, and nothing without it. The analyst holds SELECT on
the views and on the few base tables behind them, nothing else: no write privilege anywhere, no
users, refresh tokens, audit log, quarantine, batches, tenants registry or reading partitions.

``analytics.tenant`` is the one view that is not ``security_invoker``: the registry ``tenants`` has
no RLS (it is platform data), so the analyst gets no privilege on it and the view, a security barrier
running with its owner's rights, returns only the row named by ``luna.tenant_id``.

The SECURITY DEFINER functions of 0001/0002 were executable by PUBLIC (PostgreSQL's default for new
functions), which would let any login, the analyst included, look up users' password hashes by
e-mail or create reading partitions. Here EXECUTE is revoked from PUBLIC; the app role keeps its
explicit grants.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import re

from alembic import context, op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Base tables behind the security_invoker views: the analyst needs SELECT on them, RLS filters.
# Listed here, not imported from schema.py: a migration must stay as it was written.
BASE_TABLES = ("meters", "meter_readings", "consumption_hourly", "tenant_kpis", "market_prices")

SECURITY_DEFINER_FUNCTIONS = (
    "luna_ensure_reading_partitions(timestamptz, timestamptz)",
    "luna_login_lookup(text)",
)

INVOKER_VIEWS = {
    "meters": """
        SELECT tenant_id, meter_id, kind, name, max_kw
        FROM public.meters
    """,
    "meter_readings": """
        SELECT tenant_id, meter_id, ts, kwh, quality
        FROM public.meter_readings
    """,
    "consumption_hourly": """
        SELECT h.tenant_id, h.meter_id, m.kind AS meter_kind, h.hour, h.kwh
        FROM public.consumption_hourly h
        LEFT JOIN public.meters m ON m.tenant_id = h.tenant_id AND m.meter_id = h.meter_id
    """,
    "tenant_kpis": """
        SELECT tenant_id, as_of, kwh_today, kwh_month, cost_today_eur, cost_month_eur, peak_kw_month, peak_at,
               pv_kwh_month, self_consumption_ratio, readings_from, readings_to, computed_at
        FROM public.tenant_kpis
    """,
    # Shared market data: no tenant, no RLS, the same for every analyst.
    "day_ahead_prices": """
        SELECT zone, ts, resolution_minutes, eur_per_mwh
        FROM public.market_prices
    """,
}

# Owner's rights, filtered by the same expression the RLS policies use; security_barrier so an
# analyst's own (possibly leaky) predicates run only on the row that passed the filter.
TENANT_VIEW_SQL = """
CREATE VIEW analytics.tenant WITH (security_barrier = true) AS
    SELECT id AS tenant_id, name, kind, zone, timezone, state, status
    FROM public.tenants
    WHERE id = current_setting('luna.tenant_id', true)
"""

_ROLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def _role(key: str, default: str) -> str:
    role = context.config.attributes.get(key, default)
    if not _ROLE_NAME.fullmatch(role):
        raise ValueError(f"{key} {role!r}: use letters, digits and '_' (a plain PostgreSQL identifier)")
    return role


def upgrade() -> None:
    analyst = _role("analyst_role", "luna_analyst")
    app = _role("app_role", "luna_app")
    if analyst == app:
        raise ValueError(f"the analyst role must not be the app role ({app!r})")
    version = int(op.get_bind().exec_driver_sql("SHOW server_version_num").scalar_one())
    if version < 150000:
        raise RuntimeError("analytics views need PostgreSQL 15+ (security_invoker keeps RLS in force)")

    # An existing role is reused, but never one that RLS would not bind.
    op.execute(
        f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{analyst}') THEN
                CREATE ROLE "{analyst}" LOGIN NOINHERIT;
            ELSIF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{analyst}' AND (rolsuper OR rolbypassrls)) THEN
                RAISE EXCEPTION 'role % is superuser or BYPASSRLS: row-level security would not apply', '{analyst}';
            END IF;
        END $$;
        """
    )

    for function in SECURITY_DEFINER_FUNCTIONS:
        op.execute(f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC")

    op.execute("CREATE SCHEMA analytics")
    for name, query in INVOKER_VIEWS.items():
        op.execute(f"CREATE VIEW analytics.{name} WITH (security_invoker = true) AS {query}")
    op.execute(TENANT_VIEW_SQL)

    op.execute(f'GRANT USAGE ON SCHEMA analytics TO "{analyst}"')
    views = ", ".join(f"analytics.{name}" for name in (*INVOKER_VIEWS, "tenant"))
    op.execute(f'GRANT SELECT ON {views} TO "{analyst}"')
    # The parent table only: partitions of meter_readings carry no RLS and get no grant.
    op.execute(f'GRANT SELECT ON {", ".join(f"public.{t}" for t in BASE_TABLES)} TO "{analyst}"')


def downgrade() -> None:
    analyst = _role("analyst_role", "luna_analyst")
    op.execute("DROP SCHEMA IF EXISTS analytics CASCADE")
    # The role is cluster-wide and may serve other databases: revoke, never drop.
    op.execute(
        f"""
        DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{analyst}') THEN
                REVOKE ALL ON {", ".join(f"public.{t}" for t in BASE_TABLES)} FROM "{analyst}";
            END IF;
        END $$;
        """
    )
    for function in SECURITY_DEFINER_FUNCTIONS:
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO PUBLIC")
