"""Uploaded files on disk: ``<storage>/<tenant>/documents/<document id>``.

The only module that touches stored document bytes (encryption at rest wraps these three
functions). Paths are built from a validated tenant id and a UUID only.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from luna_core.db.tenancy import validate_tenant_id
from luna_core.settings import Settings


def path_of(settings: Settings, tenant_id: str, document_id: uuid.UUID | str) -> Path:
    validate_tenant_id(tenant_id)
    name = str(uuid.UUID(str(document_id)))  # refuses anything but a UUID: no path tricks
    return settings.resolved_storage_dir / tenant_id / "documents" / name


def store(settings: Settings, tenant_id: str, document_id: uuid.UUID | str, data: bytes) -> Path:
    """Writes atomically (temp file + rename), so a crash never leaves a half-written document."""
    path = path_of(settings, tenant_id, document_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    with open(partial, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)
    return path


def read(settings: Settings, tenant_id: str, document_id: uuid.UUID | str) -> bytes:
    return path_of(settings, tenant_id, document_id).read_bytes()


def delete(settings: Settings, tenant_id: str, document_id: uuid.UUID | str) -> None:
    path_of(settings, tenant_id, document_id).unlink(missing_ok=True)


def exists(settings: Settings, tenant_id: str, document_id: uuid.UUID | str) -> bool:
    return path_of(settings, tenant_id, document_id).exists()
