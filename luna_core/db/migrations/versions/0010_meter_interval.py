"""Meters know their reading interval (15, 30 or 60 minutes), and a batch knows what it refused.

``meters.interval_minutes`` is set on the meter or detected on its first ingest (NULL until
then). Existing meters with readings get it here from their newest stored readings (the most
common gap up to an hour; where row-level security hides them from the migrating role, the next ingest detects
it). ``ingest_batches`` keeps its reasons, the interval each meter was checked by, its notes, and
the earlier batch of the same content it read again (``retry_of``); a quarantined row keeps its
position in the input and, once its content was read again, the batch that superseded it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UPGRADE_SQL = """
ALTER TABLE meters ADD COLUMN interval_minutes smallint
    CONSTRAINT meters_interval_minutes CHECK (interval_minutes IN (15, 30, 60));

ALTER TABLE ingest_batches
    ADD COLUMN reasons jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN intervals jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN notes jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN retry_of bigint REFERENCES ingest_batches (id) ON DELETE SET NULL;

ALTER TABLE readings_quarantine
    ADD COLUMN row_number integer,
    ADD COLUMN superseded_by bigint REFERENCES ingest_batches (id) ON DELETE SET NULL;

WITH recent AS (
    SELECT m.tenant_id, m.meter_id, r.ts
    FROM meters m, LATERAL (
        SELECT ts FROM meter_readings
        WHERE tenant_id = m.tenant_id AND meter_id = m.meter_id
        ORDER BY ts DESC LIMIT 96
    ) r
), gaps AS (
    SELECT tenant_id, meter_id,
           CAST(extract(epoch FROM ts - lag(ts) OVER (PARTITION BY tenant_id, meter_id ORDER BY ts)) / 60
                AS integer) AS minutes
    FROM recent
), common AS (
    SELECT DISTINCT ON (tenant_id, meter_id) tenant_id, meter_id, minutes
    FROM gaps WHERE minutes > 0 AND minutes <= 60
    GROUP BY tenant_id, meter_id, minutes
    ORDER BY tenant_id, meter_id, count(*) DESC, minutes
)
UPDATE meters m
SET interval_minutes = CASE WHEN c.minutes IN (15, 30, 60) THEN c.minutes ELSE 15 END
FROM common c
WHERE m.tenant_id = c.tenant_id AND m.meter_id = c.meter_id AND c.minutes % 15 = 0;
"""

DOWNGRADE_SQL = """
ALTER TABLE readings_quarantine DROP COLUMN superseded_by, DROP COLUMN row_number;
ALTER TABLE ingest_batches DROP COLUMN retry_of, DROP COLUMN notes, DROP COLUMN intervals, DROP COLUMN reasons;
ALTER TABLE meters DROP COLUMN interval_minutes;
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
