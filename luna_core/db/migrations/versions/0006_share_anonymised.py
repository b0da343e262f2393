"""Consent to the global forecasting model: a tenant shares its anonymised load shape unless it
opts out.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE tenants ADD COLUMN share_anonymised boolean NOT NULL DEFAULT true")


def downgrade() -> None:
    op.execute("ALTER TABLE tenants DROP COLUMN share_anonymised")
