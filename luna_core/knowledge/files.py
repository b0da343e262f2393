"""Uploaded files at rest: ``<storage>/<tenant>/documents/<document id>``, encrypted with AES-GCM.

The only module that touches stored document bytes. Every file goes through the blob store
(``luna_core.storage.blobs``): encrypted with the current ``LUNA_STORAGE_KEY``, bound to its tenant
and path, written atomically, re-encrypted by ``luna storage rotate-key``. Paths are built from a
validated tenant id and a UUID only.

Whatever goes wrong below the document (the file is missing, the key is not the one it was
written with, the blob is damaged, the storage cannot be reached) is a ``StorageUnavailable``: a
fault of the environment, never a reason to give up on the document.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

from luna_core.knowledge.errors import StorageUnavailable
from luna_core.settings import Settings
from luna_core.storage.blobs import BlobError, BlobNotFound, BlobStore, blob_store
from luna_core.storage.keys import StorageKeyError


def _relpath(document_id: uuid.UUID | str) -> str:
    return f"documents/{uuid.UUID(str(document_id))}"  # refuses anything but a UUID: no path tricks


def _store(settings: Settings) -> BlobStore:
    return blob_store(settings)


def path_of(settings: Settings, tenant_id: str, document_id: uuid.UUID | str) -> Path:
    return _store(settings).path(tenant_id, _relpath(document_id))


def store(settings: Settings, tenant_id: str, document_id: uuid.UUID | str, data: bytes) -> Path:
    """Encrypts and writes atomically, so a crash never leaves a half-written document."""
    blobs = _store(settings)
    try:
        return blobs.put(tenant_id, _relpath(document_id), data)
    except StorageKeyError as error:
        raise StorageUnavailable("storage_key", "the file storage has no usable key", str(error)) from None
    except OSError as error:
        raise StorageUnavailable(
            "storage_unavailable",
            "the file storage cannot be written; try again later",
            f"writing under {blobs.root} failed: {error}",
        ) from None


def read(settings: Settings, tenant_id: str, document_id: uuid.UUID | str, sha256: str | None = None) -> bytes:
    """The stored bytes, checked against the upload's SHA-256 when it is given."""
    blobs = _store(settings)
    relpath = _relpath(document_id)
    where = f"{blobs.root / tenant_id / relpath}"
    try:
        data = blobs.get(tenant_id, relpath)
    except BlobNotFound:
        raise StorageUnavailable(
            "file_missing",
            "the stored file is missing from the file storage",
            f"{where} does not exist (storage folder {blobs.root}: is LUNA_DATA_DIR/LUNA_STORAGE_DIR the one "
            "the API stored it under?)",
        ) from None
    except StorageKeyError as error:
        raise StorageUnavailable("storage_key", "the stored file cannot be decrypted with the configured key",
                                 f"{where}: {error}") from None  # fmt: skip
    except BlobError as error:
        raise StorageUnavailable(
            "storage_key", "the stored file cannot be decrypted (a different key, or the file was damaged)",
            f"{where}: {error}",
        ) from None  # fmt: skip
    except OSError as error:
        raise StorageUnavailable(
            "storage_unavailable", "the file storage cannot be read", f"reading {where} failed: {error}"
        ) from None
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise StorageUnavailable(
            "storage_damaged", "the stored file is not the one uploaded (its checksum differs)", f"{where}: SHA-256"
        )
    return data


def delete(settings: Settings, tenant_id: str, document_id: uuid.UUID | str) -> None:
    _store(settings).delete(tenant_id, _relpath(document_id))


def exists(settings: Settings, tenant_id: str, document_id: uuid.UUID | str) -> bool:
    return _store(settings).exists(tenant_id, _relpath(document_id))
