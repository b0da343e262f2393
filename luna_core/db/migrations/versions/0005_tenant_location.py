"""Tenant location (latitude, longitude): the forecasts' temperature comes from the nearest
weather region.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE tenants
            ADD COLUMN latitude double precision CONSTRAINT tenants_latitude CHECK (latitude BETWEEN -90 AND 90),
            ADD COLUMN longitude double precision CONSTRAINT tenants_longitude CHECK (longitude BETWEEN -180 AND 180)
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE tenants DROP COLUMN longitude, DROP COLUMN latitude")
