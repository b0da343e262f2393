"""Documents of the tenant's knowledge base: upload, list, inspect chunks, reindex, delete.

An upload is stored (file on disk, row ``queued``) before the 202, and processed right after the
response by the same core pipeline the Dagster assets run; the outbox request lets the
``outbox_requests`` sensor finish it if this process dies first."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, File, Path, Response, UploadFile
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from luna_api.deps import AdminCtx, Ctx, get_engine, get_settings
from luna_api.errors import ApiError, not_found
from luna_api.knowledge_schemas import ChunkOut, DocumentOut
from luna_api.schemas import Error, Limit, Offset, Page, page
from luna_core import outbox
from luna_core.knowledge import claims, pipeline, sniff, store, uploads
from luna_core.knowledge.errors import DocumentRejected
from luna_core.knowledge.service import knowledge_for
from luna_core.settings import Settings

router = APIRouter(tags=["documents"])
log = logging.getLogger(__name__)
DocumentId = Annotated[uuid.UUID, Path(description="the document's id")]
_READ = 1 << 20


def document_out(row, duplicate: bool = False) -> DocumentOut:
    return DocumentOut(
        id=str(row.id),
        filename=row.filename,
        title=row.title,
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        status=row.status,
        error=row.error,
        error_code=row.error_code,
        retry_at=row.retry_at,
        pages=row.pages,
        language=row.language,
        author=row.author,
        chunk_count=row.chunk_count,
        created_at=row.created_at,
        indexed_at=row.indexed_at,
        duplicate=duplicate,
    )


def process_in_background(engine: Engine, settings: Settings, tenant_id: str, document_id: uuid.UUID) -> None:
    """After the response: small documents are indexed within seconds, without waiting for Dagster.
    The claim keeps a Dagster run off this document meanwhile (and this task off one a run holds)."""
    try:
        pipeline.process_document(engine, knowledge_for(settings), tenant_id, document_id, claims.worker_name("api"))
    except Exception:  # the outbox request and the retry sensor still have it
        log.exception("processing document %s failed; the Dagster sensor retries it", document_id)


def _read_upload(upload: UploadFile, max_bytes: int) -> bytes:
    data = bytearray()
    while block := upload.file.read(_READ):
        data += block
        if len(data) > max_bytes:
            raise ApiError(413, f"{upload.filename!r} is larger than the limit of {max_bytes / 1e6:.1f} MB")
    return bytes(data)


@router.post(
    "/ingest/doc",
    status_code=202,
    response_model=DocumentOut,
    responses={
        200: {"model": DocumentOut, "description": "the same file was uploaded before (duplicate: true)"},
        415: {"model": Error, "description": "not a PDF, DOCX, Markdown, TXT or HTML file name"},
    },
)
def upload_document(
    ctx: Ctx,
    background: BackgroundTasks,
    engine: Annotated[Engine, Depends(get_engine)],
    settings: Annotated[Settings, Depends(get_settings)],
    file: Annotated[UploadFile, File(description="PDF, DOCX, Markdown, TXT or HTML")],
):
    """Stores the file and answers 202 with the queued document; checking, extraction, chunking,
    embedding and indexing follow (status ``processing`` -> ``indexed`` or ``failed`` with the reason).
    The same file (SHA-256) in the same tenant answers 200 with the existing document."""
    filename = uploads.clean_filename(file.filename)
    try:
        sniff.kind_from_name(filename or "unnamed")  # refused before reading a byte
    except DocumentRejected as error:
        raise ApiError(415, str(error)) from None
    data = _read_upload(file, int(settings.max_upload_mb * 1024 * 1024))
    tenant = ctx.tenant_id
    try:
        submitted = uploads.submit_document(
            engine,
            settings,
            tenant,
            filename,
            data,
            uploaded_by=ctx.principal.email or ctx.principal.subject,
            requested_by=ctx.principal.subject,
        )
    except DocumentRejected as error:
        raise ApiError(422, str(error), code="invalid_request") from None
    row = submitted.document
    document_id = row.id
    if submitted.duplicate:
        ctx.audit("documents.upload", target=f"document/{document_id}", outcome="duplicate")
        return JSONResponse(document_out(row, duplicate=True).model_dump(mode="json"), status_code=200)
    ctx.audit("documents.upload", target=f"document/{document_id}", size_bytes=len(data))
    background.add_task(process_in_background, engine, settings, tenant, document_id)
    return document_out(row)


@router.get("/documents", response_model=Page[DocumentOut])
def list_documents(ctx: Ctx, limit: Limit = 50, offset: Offset = 0) -> Page[DocumentOut]:
    rows = store.list_documents(ctx.db, ctx.tenant_id, limit, offset)
    ctx.audit("documents.read")
    return page([document_out(row) for row in rows], limit, offset)


def _document(ctx, document_id: uuid.UUID):
    row = store.get(ctx.db, ctx.tenant_id, document_id)
    if row is None:
        raise not_found("document")
    return row


@router.get("/documents/{document_id}", response_model=DocumentOut)
def get_document(ctx: Ctx, document_id: DocumentId) -> DocumentOut:
    row = _document(ctx, document_id)
    ctx.audit("documents.read", target=f"document/{document_id}")
    return document_out(row)


@router.get("/documents/{document_id}/chunks", response_model=Page[ChunkOut])
def document_chunks(ctx: Ctx, document_id: DocumentId, limit: Limit = 100, offset: Offset = 0) -> Page[ChunkOut]:
    """The chunks as the search sees them, in document order (the chunk viewer)."""
    _document(ctx, document_id)
    rows = store.chunks_of(ctx.db, ctx.tenant_id, document_id, limit, offset)
    ctx.audit("documents.chunks.read", target=f"document/{document_id}")
    items = [
        ChunkOut(
            id=str(r.id),
            position=r.position,
            page=r.page,
            heading=r.heading,
            text=r.text,
            token_count=r.token_count,
            language=r.language,
        )
        for r in rows
    ]
    return page(items, limit, offset)


@router.delete("/documents/{document_id}", status_code=204, response_class=Response)
def delete_document(
    ctx: AdminCtx,
    document_id: DocumentId,
    engine: Annotated[Engine, Depends(get_engine)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> Response:
    """Removes the document's rows, its vectors and the stored file. Needs the admin role."""
    _document(ctx, document_id)
    ctx.audit("documents.delete", target=f"document/{document_id}")
    pipeline.delete_document(engine, knowledge_for(settings), ctx.tenant_id, document_id)
    return Response(status_code=204)


@router.post(
    "/documents/{document_id}/reindex",
    status_code=202,
    response_model=DocumentOut,
    responses={409: {"model": Error, "description": "a failed document: its file went with it, upload it again"}},
)
def reindex_document(
    ctx: AdminCtx,
    document_id: DocumentId,
    background: BackgroundTasks,
    engine: Annotated[Engine, Depends(get_engine)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> DocumentOut:
    """Extracts, chunks and indexes the stored file again, whatever the document's state (unchanged
    chunks reuse their embeddings; its current index answers until the new one is complete). One
    being processed right now is taken over; one needing attention is retried now. Needs the admin role."""
    row = _document(ctx, document_id)
    if claims.requeue(ctx.db, ctx.tenant_id, document_id) is None:
        raise ApiError(
            409,
            f"the document failed ({row.error}); a failed document keeps no file: upload it again",
            code="conflict",
        )
    outbox.enqueue(ctx.db, ctx.tenant_id, "ingest_document", {"document_id": str(document_id)}, ctx.principal.subject)
    ctx.audit("documents.reindex", target=f"document/{document_id}")
    # The request's transaction commits before the response leaves, so before this task runs.
    background.add_task(process_in_background, engine, settings, ctx.tenant_id, document_id)
    return document_out(store.get(ctx.db, ctx.tenant_id, document_id))
