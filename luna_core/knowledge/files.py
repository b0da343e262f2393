"""Uploaded files at rest: ``<storage>/<tenant>/documents/<document id>``, encrypted with AES-GCM.

The only module that touches stored document bytes. Every file goes through the blob store
(``luna_core.storage.blobs``): encrypted with the current ``LUNA_STORAGE_KEY``, bound to its tenant
and path, written atomically, re-encrypted by ``luna storage rotate-key``. Paths are built from a
validated tenant id and a UUID only.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from luna_core.settings import Settings
from luna_core.storage.blobs import blob_store


def _relpath(document_id: uuid.UUID | str) -> str:
    return f"documents/{uuid.UUID(str(document_id))}"  # refuses anything but a UUID: no path tricks


def path_of(settings: Settings, tenant_id: str, document_id: uuid.UUID | str) -> Path:
    return blob_store(settings).path(tenant_id, _relpath(document_id))


def store(settings: Settings, tenant_id: str, document_id: uuid.UUID | str, data: bytes) -> Path:
    """Encrypts and writes atomically, so a crash never leaves a half-written document."""
    return blob_store(settings).put(tenant_id, _relpath(document_id), data)


def read(settings: Settings, tenant_id: str, document_id: uuid.UUID | str) -> bytes:
    return blob_store(settings).get(tenant_id, _relpath(document_id))


def delete(settings: Settings, tenant_id: str, document_id: uuid.UUID | str) -> None:
    blob_store(settings).delete(tenant_id, _relpath(document_id))


def exists(settings: Settings, tenant_id: str, document_id: uuid.UUID | str) -> bool:
    return blob_store(settings).exists(tenant_id, _relpath(document_id))
