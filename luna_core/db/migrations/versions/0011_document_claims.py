"""Documents: a claim (token, holder, lease) so one worker at a time processes a document, the
status ``needs_attention`` for a document whose last attempt failed for a reason outside it (it
keeps its last good chunks), a machine-readable ``error_code`` and when to retry.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UPGRADE_SQL = """
ALTER TABLE documents DROP CONSTRAINT documents_status;
ALTER TABLE documents ADD CONSTRAINT documents_status
    CHECK (status IN ('queued', 'processing', 'indexed', 'needs_attention', 'failed'));
ALTER TABLE documents
    ADD COLUMN error_code text,
    ADD COLUMN claim_token uuid,
    ADD COLUMN claimed_by text,
    ADD COLUMN claim_expires_at timestamptz,
    ADD COLUMN retry_at timestamptz;
"""

DOWNGRADE_SQL = """
UPDATE documents SET status = 'queued' WHERE status = 'needs_attention';
ALTER TABLE documents DROP CONSTRAINT documents_status;
ALTER TABLE documents ADD CONSTRAINT documents_status
    CHECK (status IN ('queued', 'processing', 'indexed', 'failed'));
ALTER TABLE documents
    DROP COLUMN retry_at,
    DROP COLUMN claim_expires_at,
    DROP COLUMN claimed_by,
    DROP COLUMN claim_token,
    DROP COLUMN error_code;
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
