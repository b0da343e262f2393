"""Taking a document in: the file stored (encrypted) and its row ``queued`` in one step that
leaves nothing half-written. The upload route and ``luna demo`` both call ``submit_document``;
processing follows separately (``pipeline.process_document`` or the knowledge assets)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from sqlalchemy import Connection, Engine

from luna_core import outbox
from luna_core.db.tenancy import tenant_scope
from luna_core.knowledge import files, sniff, store
from luna_core.knowledge.errors import DocumentRejected
from luna_core.settings import Settings


@dataclass(frozen=True)
class Submitted:
    document: Any  # the documents row as stored now
    duplicate: bool  # the same bytes were already in this tenant (the existing row is returned)


MAX_FILENAME = 255


def clean_filename(filename: str | None) -> str:
    """The last path component only (a client's directory names never reach the record), at most
    255 characters: a longer name is shortened in its stem, so its extension (its type) stays."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    if len(name) <= MAX_FILENAME:
        return name
    suffix = PurePath(name).suffix
    if not suffix or len(suffix) > 16:
        return name[:MAX_FILENAME]
    return name[: MAX_FILENAME - len(suffix)] + suffix


def submit_document(
    engine: Engine,
    settings: Settings,
    tenant_id: str,
    filename: str | None,
    data: bytes,
    *,
    uploaded_by: str | None = None,
    requested_by: str | None = None,
    request_processing: bool = True,
) -> Submitted:
    """Stores ``data`` as a queued document of the tenant, or returns the existing one with the same
    SHA-256 (``duplicate``), also when the same bytes arrive several times at once: exactly one
    upload creates the document. A failed document sent again is queued afresh under its old id.
    ``request_processing`` also puts an ``ingest_document`` request in the outbox, so the Dagster
    sensor finishes the job if the caller dies before processing it. Raises ``DocumentRejected``
    for a file name of an unsupported type or an empty file, ``StorageUnavailable`` when the file
    storage cannot take it."""
    name = clean_filename(filename)
    kind = sniff.kind_from_name(name or "unnamed")
    if not data.strip():
        raise DocumentRejected("empty", f"{name!r} is empty")
    sha256 = hashlib.sha256(data).hexdigest()
    with tenant_scope(engine, tenant_id) as connection:
        existing = store.find_by_sha(connection, tenant_id, sha256)
        if existing is not None and existing.status == "failed":
            # Locked until this transaction ends: the file is written while no one else can touch the row.
            reopened = store.reopen_failed(connection, tenant_id, existing.id, name)
            if reopened is not None:
                files.store(settings, tenant_id, existing.id, data)
                _request(connection, tenant_id, existing.id, request_processing, requested_by or uploaded_by)
                return Submitted(reopened, duplicate=False)
            existing = store.get(connection, tenant_id, existing.id)
    if existing is not None:
        return Submitted(existing, duplicate=True)
    document_id = uuid.uuid4()
    files.store(settings, tenant_id, document_id, data)
    try:
        # Its own transaction: committed before the caller answers, or the stored file is removed again.
        with tenant_scope(engine, tenant_id) as connection:
            row = store.insert_document(
                connection,
                tenant_id,
                id=document_id,
                filename=name,
                content_type=sniff.CONTENT_TYPES[kind],
                size_bytes=len(data),
                sha256=sha256,
                uploaded_by=uploaded_by,
            )
            if row is None:  # the same bytes, uploaded at the same moment, were stored first
                winner = store.find_by_sha(connection, tenant_id, sha256)
            else:
                _request(connection, tenant_id, document_id, request_processing, requested_by or uploaded_by)
    except Exception:
        files.delete(settings, tenant_id, document_id)
        raise
    if row is None:
        files.delete(settings, tenant_id, document_id)
        return Submitted(winner, duplicate=True)
    return Submitted(row, duplicate=False)


def _request(
    connection: Connection, tenant_id: str, document_id: uuid.UUID, wanted: bool, requested_by: str | None
) -> None:
    if wanted:
        outbox.enqueue(connection, tenant_id, "ingest_document", {"document_id": str(document_id)}, requested_by or "")
