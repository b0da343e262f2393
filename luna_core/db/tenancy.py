"""The one place a tenant scope is opened.

Every tenant-owned query runs inside ``tenant_scope``: a transaction with
``luna.tenant_id`` set, so PostgreSQL row-level security filters behind the query's own
``WHERE tenant_id = ...``. Without the setting, the policies return no rows at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

from luna_core.db.schema import TENANT_ID_PATTERN

_TENANT_ID = re.compile(TENANT_ID_PATTERN)


class InvalidTenantId(ValueError):
    pass


def validate_tenant_id(tenant_id: str) -> str:
    if not isinstance(tenant_id, str) or not _TENANT_ID.fullmatch(tenant_id):
        raise InvalidTenantId(
            f"invalid tenant id {tenant_id!r}: use 2-63 lowercase letters, digits or '-', starting with a letter"
        )
    return tenant_id


@contextmanager
def tenant_scope(engine: Engine, tenant_id: str, durable: bool = True) -> Iterator[Connection]:
    """A transaction bound to one tenant; commits on success, rolls back on error.

    ``durable=False`` commits without waiting for the WAL flush (``synchronous_commit=off``):
    for reads whose only write is their audit row. PostgreSQL stays consistent; a crash of the
    database server can lose the last fraction of a second of such rows, never corrupt them.
    The flush was most of a read's p95 on this disk (about 3 ms of 6)."""
    validate_tenant_id(tenant_id)
    with engine.begin() as connection:
        connection.execute(
            text("SELECT set_config('luna.tenant_id', :tenant, true), set_config('synchronous_commit', :sync, true)"),
            {"tenant": tenant_id, "sync": "on" if durable else "off"},
        )
        yield connection
