"""The core pipeline on real files, the real embedder and the pgvector index in the embedded
PostgreSQL: chunking rules, the embedding cache, and an outage of the vector store."""

from __future__ import annotations

import dataclasses
import itertools
import time

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from luna_core.knowledge import pipeline, sniff
from luna_core.knowledge.chunking import chunk_blocks, chunk_id
from luna_core.knowledge.embeddings import E5Embedder
from luna_core.knowledge.errors import DocumentRejected
from luna_core.knowledge.extract import Block, backend_for, extract
from luna_core.knowledge.index.pgvector import PgVectorIndex
from luna_core.knowledge.search import hybrid_search
from luna_core.knowledge.service import knowledge_for
from tests import documents as make


class CountingEmbedder(E5Embedder):
    """The real e5 model, counting the passages it is asked to embed."""

    def __init__(self):
        super().__init__()
        self.passages = 0

    def embed_passages(self, texts):
        self.passages += len(texts)
        return super().embed_passages(texts)


def words(n: int, start: int = 0) -> str:
    return " ".join(f"Satz{i} endet hier." for i in range(start, start + n))


def test_chunks_follow_headings_fit_the_budget_and_overlap():
    embedder = E5Embedder()
    blocks = [
        Block("Erstes Kapitel", 1, 1),
        Block(words(200), 1),
        Block(words(30, 1000), 2),
        Block("Zweites Kapitel", 2, 1),
        Block("Kurzer Absatz.", 3),
    ]
    chunks = chunk_blocks(blocks, embedder.count_tokens, max_tokens=120, overlap_tokens=20)
    assert all(c.token_count <= 120 for c in chunks)
    first_chapter = [c for c in chunks if c.heading == "Erstes Kapitel"]
    assert len(first_chapter) > 3 and chunks[-1].heading == "Zweites Kapitel"
    assert chunks[-1].text == "Kurzer Absatz." and chunks[-1].page == 3  # a heading starts a new chunk
    for before, after in itertools.pairwise(first_chapter):
        assert before.text.split(". ")[-1].rstrip(".") in after.text  # the last sentence repeats
    assert {c.page for c in first_chapter} == {1, 2}
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert chunk_id("t-a", "f" * 64, 3) == chunk_id("t-a", "f" * 64, 3) != chunk_id("t-b", "f" * 64, 3)


def test_markdown_tables_read_as_sentences():
    """Tika hands a Markdown file over as plain text: table rows would reach chunks, search and quoted
    answers as pipes. Each data row becomes a sentence; the header and the rule under it are dropped."""
    text = (
        "# Tarif\n\nDie Preise:\n\n| Bestandteil | Preis |\n|---|---:|\n"
        "| Grundpreis | 29,00 € pro Monat |\n| Arbeitspreis | Day-Ahead plus 16,40 ct/kWh |\n\n"
        "A | pipe in prose stays.\n"
    )
    found = extract(backend_for(None), text.encode(), "markdown", "tarif.md")
    assert [b.text for b in found.blocks] == [
        "Tarif",
        "Die Preise:",
        "Grundpreis: 29,00 € pro Monat. Arbeitspreis: Day-Ahead plus 16,40 ct/kWh.",
        "A | pipe in prose stays.",
    ]


def test_sniffing_refuses_lies_and_bombs_quickly():
    limits = {"max_bytes": 10_000_000, "max_unpacked_bytes": 50_000_000, "max_ratio": 100.0}
    assert sniff.check("a.docx", make.docx_bytes(), **limits) == "docx"
    assert sniff.check("a.htm", make.HTML.encode(), **limits) == "html"
    started = time.monotonic()
    with pytest.raises(DocumentRejected, match="zip bomb"):
        sniff.check("bomb.docx", make.zip_bomb_docx(300), **limits)
    assert time.monotonic() - started < 30  # stops at the cap instead of inflating 300 MB
    with pytest.raises(DocumentRejected) as refused:
        sniff.check("x.md", make.pdf_bytes(), **limits)
    assert refused.value.code == "type_mismatch"
    with pytest.raises(DocumentRejected, match="limit"):
        sniff.check("x.txt", b"x" * 200, **{**limits, "max_bytes": 100})


def test_processing_an_unchanged_document_again_embeds_nothing(engine, settings, tenant_factory):
    tenant = tenant_factory("cache")
    knowledge = dataclasses.replace(knowledge_for(settings), embedder=CountingEmbedder())
    document = make.add_document(engine, settings, tenant, "tarife.docx", make.docx_bytes())
    assert pipeline.process_document(engine, knowledge, tenant, document) == "indexed"
    first = knowledge.embedder.passages
    assert first == make.status_of(engine, tenant, document).chunk_count == 2

    from luna_core.db.tenancy import tenant_scope
    from luna_core.knowledge import store

    with tenant_scope(engine, tenant) as connection:
        store.update_document(connection, tenant, document, status="queued")
    assert pipeline.process_document(engine, knowledge, tenant, document) == "indexed"
    assert knowledge.embedder.passages == first  # every chunk came from the cache
    # The same text in a second document reuses the cached embeddings too.
    twin = make.add_document(engine, settings, tenant, "copy.docx", make.docx_bytes(title="Copy"))
    assert pipeline.process_document(engine, knowledge, tenant, twin) == "indexed"
    assert knowledge.embedder.passages == first


def test_vector_store_outage_leaves_a_new_document_answering_from_the_record_until_the_retry(
    engine, settings, tenant_factory
):
    tenant = tenant_factory("outage")
    healthy = knowledge_for(settings)
    # A real connection failure: nothing listens on port 1.
    down_url = make_url(settings.vector_database_url).set(host="127.0.0.1", port=1, query={})
    down = dataclasses.replace(healthy, index=PgVectorIndex(down_url, alias=settings.knowledge_collection))
    first = make.add_document(engine, settings, tenant, "ratgeber.pdf", make.pdf_bytes())
    assert pipeline.process_document(engine, down, tenant, first) == "needs_attention"
    row = make.status_of(engine, tenant, first)
    assert row.error_code == "index_pending" and "pgvector database unreachable" in row.error
    assert row.chunk_count == 2 and row.retry_at is not None and row.claim_token is None
    # Searches keep answering from the record's embeddings while the index is down.
    hits = hybrid_search(engine, down, tenant, "Wann ist die Wärmepumpe günstig?")
    assert hits and hits[0].document_id == str(first)

    # The store is back and the retry is due: it indexes the document, without embedding again.
    from luna_core.db.tenancy import tenant_scope

    with tenant_scope(engine, tenant) as connection:
        connection.execute(text("UPDATE documents SET retry_at = now() - interval '1 second'"))
    counting = dataclasses.replace(healthy, embedder=CountingEmbedder())
    outcome = pipeline.process_claims(engine, counting, tenant, pipeline.claim(engine, tenant, "retry"))
    assert outcome.indexed == [first] and not outcome.attention
    assert counting.embedder.passages == 0
    row = make.status_of(engine, tenant, first)
    assert row.status == "indexed" and row.error is None and row.error_code is None and row.retry_at is None
    assert {doc for _, doc in healthy.index.points(tenant)} == {first}


def test_failed_documents_keep_their_reason_and_nothing_else(engine, settings, tenant_factory):
    tenant = tenant_factory("failing")
    knowledge = knowledge_for(settings)
    bad = make.add_document(engine, settings, tenant, "scan.pdf", make.scanned_pdf_bytes())
    assert pipeline.process_document(engine, knowledge, tenant, bad) == "failed"
    row = make.status_of(engine, tenant, bad)
    assert "no extractable text" in row.error and row.chunk_count == 0
    from luna_core.knowledge import files

    assert not files.exists(settings, tenant, bad)


def test_embeddings_are_normalised_and_multilingual():
    embedder = E5Embedder()
    passages = embedder.embed_passages(["Die Wärmepumpe heizt das Haus.", "The invoice is due in May."])
    assert passages.shape == (2, 384) and np.allclose(np.linalg.norm(passages, axis=1), 1, atol=1e-4)
    query = embedder.embed_query("heat pump heating the house")
    assert passages[0] @ query > passages[1] @ query
