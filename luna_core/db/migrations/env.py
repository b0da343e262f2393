"""Alembic environment: runs with the connection handed over by ``luna_core.db.migrate``."""

from __future__ import annotations

from alembic import context

from luna_core.db.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
