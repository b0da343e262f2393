"""Recommendations as a catalogue message and its parameters instead of rendered German and English
columns: the API renders them in the reader's language (luna_core.i18n), so a third language is a
catalogue file, not a migration.

Rows written before keep their text: they become the message ``playbook.stored`` with the old titles
and reasons as per-language parameters. The downgrade restores the four columns, rendering each
message in English and German.

Revision ID: 0014
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import json

from alembic import op
from sqlalchemy import text

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLE = "playbook_recommendations"
OLD_COLUMNS = ("title_en", "title_de", "reason_en", "reason_de")

UPGRADE_SQL = f"""
ALTER TABLE {TABLE} ADD COLUMN message_key text, ADD COLUMN params jsonb NOT NULL DEFAULT '{{}}'::jsonb;
UPDATE {TABLE} SET
    message_key = 'playbook.stored',
    params = jsonb_build_object(
        'title', jsonb_build_object('texts', jsonb_build_object('en', title_en, 'de', title_de)),
        'reason', jsonb_build_object('texts', jsonb_build_object('en', reason_en, 'de', reason_de))
    );
ALTER TABLE {TABLE} ALTER COLUMN message_key SET NOT NULL;
ALTER TABLE {TABLE} DROP COLUMN title_en, DROP COLUMN title_de, DROP COLUMN reason_en, DROP COLUMN reason_de;
"""


def _every_row(statements) -> None:
    # The table obeys its tenant policy even for its owner (FORCE, as in 0008): lift that for the
    # conversion only, inside this transaction, so every tenant's rows are converted.
    op.execute(f"ALTER TABLE {TABLE} NO FORCE ROW LEVEL SECURITY")
    statements()
    op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")


def upgrade() -> None:
    _every_row(lambda: op.execute(UPGRADE_SQL))


def _render_old_columns() -> None:
    from luna_core.i18n import catalogue

    messages = catalogue()
    bind = op.get_bind()
    rows = bind.execute(text(f"SELECT id, message_key, params FROM {TABLE}")).all()
    for row in rows:
        params = row.params if isinstance(row.params, dict) else json.loads(row.params)
        values = {
            f"{part}_{language}": messages.translate(f"{row.message_key}.{part}", language, **params)
            for part in ("title", "reason")
            for language in ("en", "de")
        }
        bind.execute(
            text(
                f"UPDATE {TABLE} SET title_en = :title_en, title_de = :title_de, "
                "reason_en = :reason_en, reason_de = :reason_de WHERE id = :id"
            ),
            {**values, "id": row.id},
        )


def downgrade() -> None:
    def restore() -> None:
        op.execute(f"ALTER TABLE {TABLE} " + ", ".join(f"ADD COLUMN {c} text" for c in OLD_COLUMNS))
        _render_old_columns()
        op.execute(f"ALTER TABLE {TABLE} " + ", ".join(f"ALTER COLUMN {c} SET NOT NULL" for c in OLD_COLUMNS))
        op.execute(f"ALTER TABLE {TABLE} DROP COLUMN message_key, DROP COLUMN params")

    _every_row(restore)
