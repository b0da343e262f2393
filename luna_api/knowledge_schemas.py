"""Request and response models of the knowledge layer (/documents, /search, /admin/knowledge)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class DocumentOut(BaseModel):
    id: str
    filename: str
    title: str | None
    content_type: str
    size_bytes: int
    sha256: str
    status: Literal["queued", "processing", "indexed", "needs_attention", "failed"] = Field(
        description="queued -> processing -> indexed; needs_attention: the last attempt failed for a reason "
        "outside the document (error says which), its last index still answers and it is retried "
        "(retry_at) or reindexed; failed: the file itself can never be indexed, nothing of it is kept"
    )
    error: str | None
    error_code: str | None = Field(None, description="machine-readable reason (file_missing, storage_key, ...)")
    retry_at: datetime | None = Field(None, description="when a document needing attention is tried again")
    pages: int | None
    language: str | None
    author: str | None
    chunk_count: int
    created_at: datetime
    indexed_at: datetime | None
    duplicate: bool = False


class ChunkOut(BaseModel):
    id: str
    position: int
    page: int | None
    heading: str | None
    text: str
    token_count: int
    language: str


class SearchIn(BaseModel):
    query: str = Field(min_length=1, max_length=2000)
    k: int = Field(5, ge=1, le=50)
    threshold: float | None = Field(None, ge=-1, le=2, description="leave out hits scoring below this")


class SearchHitOut(BaseModel):
    chunk_id: str
    document_id: str
    title: str
    page: int | None = Field(description="the page the passage starts on (PDF), else null")
    heading: str | None = Field(description="the section heading the passage belongs to")
    text: str = Field(description="the whole passage, as indexed")
    snippet: str = Field(description="the passage's sentences closest to the query")
    highlights: list[tuple[int, int]] = Field(
        default_factory=list, description="[start, end) offsets in snippet of the words the query shares"
    )
    score: float
    language: str


class SearchOut(BaseModel):
    hits: list[SearchHitOut]


class TenantChunksOut(BaseModel):
    tenant_id: str
    chunks: int
    documents: int


class KnowledgeOut(BaseModel):
    backend: str
    collection: str | None
    embedding_model: str
    dim: int | None
    chunks_by_tenant: list[TenantChunksOut]
    last_reindex_at: datetime | None
