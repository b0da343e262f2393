"""Hybrid search over the tenant's documents (no language model), and the knowledge admin view."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from luna_api.deps import AdminCtx, Ctx, get_engine, get_settings
from luna_api.errors import ApiError
from luna_api.knowledge_schemas import KnowledgeOut, SearchHitOut, SearchIn, SearchOut, TenantChunksOut
from luna_api.schemas import Error, RequestOut
from luna_core import outbox
from luna_core.db.tenancy import tenant_scope
from luna_core.knowledge import store
from luna_core.knowledge.search import hybrid_search
from luna_core.knowledge.service import knowledge_for
from luna_core.settings import Settings
from luna_core.tenants import list_tenants

router = APIRouter(tags=["search"])
UNAVAILABLE = {503: {"model": Error, "description": "the vector store or the embedding server is unavailable"}}


@router.post("/search", response_model=SearchOut, responses=UNAVAILABLE)
def search(ctx: Ctx, body: SearchIn, settings: Annotated[Settings, Depends(get_settings)]) -> SearchOut:
    """The tenant's best passages for the query: dense vectors and full text, fused so German and
    English questions find passages in either language. Scores are on the cosine scale."""
    hits = hybrid_search(ctx.db, knowledge_for(settings), ctx.tenant_id, body.query, body.k, body.threshold)
    ctx.audit("search", hits=len(hits))
    return SearchOut(
        hits=[
            SearchHitOut(
                chunk_id=h.chunk_id,
                document_id=h.document_id,
                title=h.title,
                page=h.page,
                heading=h.heading,
                text=h.text,
                snippet=h.snippet,
                highlights=list(h.highlights),
                score=h.score,
                language=h.language,
            )
            for h in hits
        ]
    )


@router.get("/admin/knowledge", response_model=KnowledgeOut, responses=UNAVAILABLE)
def knowledge_status(
    ctx: AdminCtx, settings: Annotated[Settings, Depends(get_settings)], engine=Depends(get_engine)
) -> KnowledgeOut:
    """The index behind the alias and the chunks per tenant (all tenants for a platform admin)."""
    knowledge = knowledge_for(settings)
    info = knowledge.index.info()
    counts = []
    if ctx.principal.platform_admin:
        for tenant in list_tenants(engine):
            with tenant_scope(engine, tenant.id) as connection:
                chunks, documents = store.counts(connection, tenant.id)
            counts.append(TenantChunksOut(tenant_id=tenant.id, chunks=chunks, documents=documents))
    else:
        chunks, documents = store.counts(ctx.db, ctx.tenant_id)
        counts.append(TenantChunksOut(tenant_id=ctx.tenant_id, chunks=chunks, documents=documents))
    ctx.audit("knowledge.read")
    return KnowledgeOut(
        backend=info.backend,
        collection=info.collection,
        embedding_model=knowledge.embedder.model,
        dim=info.dim,
        chunks_by_tenant=counts,
        last_reindex_at=info.last_reindex_at,
    )


@router.post("/admin/knowledge/reindex", status_code=202, response_model=RequestOut)
def rebuild_knowledge_index(ctx: AdminCtx) -> RequestOut:
    """Platform admins: rebuild the whole vector index from the record, blue/green (a new
    collection, then the alias swapped; searches keep answering). Runs in Dagster."""
    if not ctx.principal.platform_admin:
        raise ApiError(403, "rebuilding the shared index needs a platform admin")
    request_id = outbox.enqueue(ctx.db, ctx.tenant_id, "knowledge_rebuild", {}, ctx.principal.subject)
    ctx.audit("knowledge.rebuild", target=f"request/{request_id}")
    return RequestOut(id=request_id, kind="knowledge_rebuild", status="pending")
