"""Forecasts: the newest day-ahead prediction per tenant, target and interval, with the model
version that made it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import context, op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UPGRADE_SQL = """
CREATE TABLE forecasts (
    tenant_id      text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    target         text NOT NULL,
    ts             timestamptz NOT NULL,
    kwh            double precision NOT NULL,
    model_name     text NOT NULL,
    model_version  text NOT NULL,
    issued_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, target, ts)
);
ALTER TABLE forecasts ENABLE ROW LEVEL SECURITY;
ALTER TABLE forecasts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON forecasts
    USING (tenant_id = current_setting('luna.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('luna.tenant_id', true));
"""


def upgrade() -> None:
    role = context.config.attributes.get("app_role", "luna_app")
    op.execute(UPGRADE_SQL)
    op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON forecasts TO "{role}"')


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS forecasts")
