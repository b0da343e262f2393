"""Taking a document in: the file stored (encrypted) and its row ``queued`` in one step that
leaves nothing half-written. The upload route and ``luna demo`` both call ``submit_document``;
processing follows separately (``pipeline.process_document`` or the knowledge assets)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from luna_core import outbox
from luna_core.db.tenancy import tenant_scope
from luna_core.knowledge import files, sniff, store
from luna_core.knowledge.errors import DocumentRejected
from luna_core.settings import Settings


@dataclass(frozen=True)
class Submitted:
    document: Any  # the documents row as stored now
    duplicate: bool  # the same bytes were already in this tenant (the existing row is returned)


def clean_filename(filename: str | None) -> str:
    """The last path component only: a client's directory names never reach the record."""
    return (filename or "").replace("\\", "/").rsplit("/", 1)[-1][:255]


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
    SHA-256 (``duplicate``). A failed document sent again is queued afresh under its old id.
    ``request_processing`` also puts an ``ingest_document`` request in the outbox, so the Dagster
    sensor finishes the job if the caller dies before processing it. Raises ``DocumentRejected``
    for a file name of an unsupported type or an empty file."""
    name = clean_filename(filename)
    kind = sniff.kind_from_name(name or "unnamed")
    if not data.strip():
        raise DocumentRejected("empty", f"{name!r} is empty")
    sha256 = hashlib.sha256(data).hexdigest()
    with tenant_scope(engine, tenant_id) as connection:
        existing = store.find_by_sha(connection, tenant_id, sha256)
    if existing is not None and existing.status != "failed":
        return Submitted(existing, duplicate=True)
    document_id = existing.id if existing is not None else uuid.uuid4()
    files.store(settings, tenant_id, document_id, data)
    try:
        # Its own transaction: committed before the caller answers, or the stored file is removed again.
        with tenant_scope(engine, tenant_id) as connection:
            if existing is not None:  # a failed upload sent again: try it afresh
                store.update_document(connection, tenant_id, document_id, status="queued", error=None, filename=name)
                row = store.get(connection, tenant_id, document_id)
            else:
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
            if request_processing:
                outbox.enqueue(
                    connection,
                    tenant_id,
                    "ingest_document",
                    {"document_id": str(document_id)},
                    requested_by or uploaded_by or "",
                )
    except Exception:
        files.delete(settings, tenant_id, document_id)
        raise
    return Submitted(row, duplicate=False)
