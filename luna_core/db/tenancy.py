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
def tenant_scope(engine: Engine, tenant_id: str) -> Iterator[Connection]:
    """A transaction bound to one tenant; commits on success, rolls back on error."""
    validate_tenant_id(tenant_id)
    with engine.begin() as connection:
        connection.execute(text("SELECT set_config('luna.tenant_id', :tenant, true)"), {"tenant": tenant_id})
        yield connection
