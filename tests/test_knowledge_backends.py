"""Both vector index backends and the Ollama embedding path, end to end with the core pipeline:
Qdrant through qdrant-client's local mode (the same client API as a server), pgvector in the
embedded PostgreSQL with a blue/green rebuild under concurrent searches, and Ollama's /api/embed."""

from __future__ import annotations

import dataclasses
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import numpy as np
import pytest

from luna_core.knowledge import pipeline
from luna_core.knowledge.embeddings import E5Embedder, OllamaEmbedder
from luna_core.knowledge.index import IndexPoint
from luna_core.knowledge.index.qdrant import QdrantIndex
from luna_core.knowledge.search import hybrid_search
from luna_core.knowledge.service import knowledge_for
from luna_core.tenants import list_tenants
from tests import documents as make

FILES = {
    "ratgeber.pdf": make.pdf_bytes(),
    "tarife.docx": make.docx_bytes(),
    "laden.html": make.HTML.encode(),
}


def test_qdrant_backend_in_local_mode(engine, settings, tenant_factory, tmp_path):
    index = QdrantIndex(path=tmp_path / "qdrant", alias="luna_knowledge")
    knowledge = dataclasses.replace(knowledge_for(settings), index=index)
    a, b = tenant_factory("qdrant-a"), tenant_factory("qdrant-b")
    ids = {name: make.add_document(engine, settings, a, name, data) for name, data in FILES.items()}
    for document in ids.values():
        assert pipeline.process_document(engine, knowledge, a, document) == "indexed"
    b_doc = make.add_document(engine, settings, b, "ratgeber.pdf", FILES["ratgeber.pdf"])
    assert pipeline.process_document(engine, knowledge, b, b_doc) == "indexed"

    hits = hybrid_search(engine, knowledge, a, "When is it cheapest to run a heat pump?")
    assert hits[0].document_id == str(ids["ratgeber.pdf"]) and hits[0].page == 1
    assert {h.document_id for h in hybrid_search(engine, knowledge, b, "Wärmepumpe", k=20)} == {str(b_doc)}
    # The tenant filter holds in the index itself, whatever the query vector.
    vector = knowledge.embedder.embed_query("Wärmepumpe günstig")
    b_points = {point for point, _ in index.points(b)}
    assert {point for point, _ in index.search(a, vector, 50)}.isdisjoint(b_points)

    info_before = index.info()
    report = pipeline.rebuild_index(engine, knowledge, [a, b])
    assert report.previous == info_before.collection and report.points == len(index.points(a)) + len(b_points)
    info = index.info()
    assert info.collection != info_before.collection and info.last_reindex_at is not None
    names = [c.name for c in index.client().get_collections().collections]
    assert names == [info.collection]  # the old collection is gone
    assert hybrid_search(engine, knowledge, a, "peak shaving battery")[0].document_id == str(ids["tarife.docx"])

    assert pipeline.delete_document(engine, knowledge, a, ids["laden.html"])
    assert all(doc != ids["laden.html"] for _, doc in index.points(a))
    audit = pipeline.audit_index(engine, knowledge, a)
    assert not (audit.missing or audit.duplicated or audit.foreign or audit.of_missing_documents)
    index.close()


def test_pgvector_rebuild_loses_no_concurrent_search(engine, settings, tenant_factory):
    knowledge = knowledge_for(settings, maintenance=True)
    tenant = tenant_factory("bluegreen")
    for name, data in FILES.items():
        document = make.add_document(engine, settings, tenant, name, data)
        assert pipeline.process_document(engine, knowledge, tenant, document) == "indexed"
    query = "Wie senkt ein Batteriespeicher die Spitzenlast?"
    expected = [h.chunk_id for h in hybrid_search(engine, knowledge, tenant, query)]
    before = knowledge.index.info().collection

    stop = threading.Event()
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def searcher() -> None:
        while not stop.is_set():
            try:
                results.append([h.chunk_id for h in hybrid_search(engine, knowledge, tenant, query)])
            except BaseException as error:  # any failed query fails the test
                errors.append(error)

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(searcher) for _ in range(4)]
        tenants = [t.id for t in list_tenants(engine)]
        report = pipeline.rebuild_index(engine, knowledge, tenants)
        # Keep searching a moment after the swap, on the new table.
        after_swap = len(results)
        while len(results) < after_swap + 8 and not errors:
            threading.Event().wait(0.05)
        stop.set()
        for future in futures:
            future.result()
    assert errors == []
    assert len(results) >= 8 and all(found == expected for found in results)
    assert report.previous == before and knowledge.index.info().collection != before
    assert knowledge.index.info().last_reindex_at is not None
    from sqlalchemy import create_engine, text

    vectors = create_engine(settings.vector_url())
    with vectors.connect() as connection:
        tables = connection.execute(text("SELECT tablename FROM pg_tables WHERE tablename LIKE 'luna_knowledge_%'"))
        assert [row.tablename for row in tables] == [knowledge.index.info().collection]
    vectors.dispose()


class OllamaStandIn(BaseHTTPRequestHandler):
    """A stand-in for an Ollama server (none can run here), speaking its /api/embed protocol:
    POST {"model", "input": str | [str]} -> {"model", "embeddings": [[...]], ...}. The vectors come
    from the real multilingual e5 model, so retrieval through this path is real retrieval."""

    model = E5Embedder()
    seen: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/api/embed":
            self.send_error(404)
            return
        OllamaStandIn.seen.append(body)
        texts = [body["input"]] if isinstance(body["input"], str) else body["input"]
        # nomic's task prefixes map onto e5's query/passage modes.
        queries = [t.removeprefix("search_query: ") for t in texts if t.startswith("search_query: ")]
        if queries:
            vectors = [self.model.embed_query(q) for q in queries]
        else:
            vectors = list(self.model.embed_passages([t.removeprefix("search_document: ") for t in texts]))
        answer = json.dumps(
            {
                "model": body["model"],
                "embeddings": [np.asarray(v).tolist() for v in vectors],
                "total_duration": 1000,
                "load_duration": 10,
                "prompt_eval_count": sum(len(t.split()) for t in texts),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def ollama_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), OllamaStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_ollama_embeddings_through_the_real_client(engine, settings, tenant_factory, tmp_path, ollama_url):
    embedder = OllamaEmbedder(ollama_url, "nomic-embed-text")
    # Its own index: vectors of different models never share a collection.
    index = QdrantIndex(path=tmp_path / "qdrant-ollama", alias="luna_knowledge")
    knowledge = dataclasses.replace(knowledge_for(settings), embedder=embedder, index=index)
    tenant = tenant_factory("ollama")
    document = make.add_document(engine, settings, tenant, "tarife.docx", FILES["tarife.docx"])
    assert pipeline.process_document(engine, knowledge, tenant, document) == "indexed"
    hits = hybrid_search(engine, knowledge, tenant, "Was ist ein dynamischer Stromtarif?")
    assert hits[0].heading == "Dynamic tariffs"
    assert all(call["model"] == "nomic-embed-text" for call in OllamaStandIn.seen)
    assert any(text.startswith("search_document: ") for call in OllamaStandIn.seen for text in call["input"])
    assert embedder.dim == 384

    from luna_core.db.tenancy import tenant_scope
    from luna_core.knowledge import store

    with tenant_scope(engine, tenant) as connection:
        chunks = store.chunks_of(connection, tenant, document, 10, 0)
    assert {(c.embedding_model, c.embedding_dim) for c in chunks} == {("nomic-embed-text", 384)}
    index.close()

    unreachable = OllamaEmbedder("http://127.0.0.1:1", "nomic-embed-text")
    down = dataclasses.replace(knowledge, embedder=unreachable)
    second = make.add_document(engine, settings, tenant, "laden.html", FILES["laden.html"])
    assert pipeline.process_document(engine, down, tenant, second) == "needs_attention"
    row = make.status_of(engine, tenant, second)
    assert "Ollama" in row.error and row.error_code == "embedding_unavailable" and row.retry_at is not None


def test_index_points_carry_tenant_and_document(tmp_path):
    index = QdrantIndex(path=tmp_path / "q", alias="luna_knowledge")
    vector = np.ones(8, dtype=np.float32) / np.sqrt(8)
    point = IndexPoint(uuid.uuid4(), "t-one", uuid.uuid4(), "de", vector)
    index.upsert([point])
    index.upsert([point])  # the same id twice is one point
    assert index.points("t-one") == [(point.id, point.document_id)]
    assert index.points("t-two") == [] and index.search("t-two", vector, 5) == []
    index.delete("t-two", [point.id])  # another tenant's delete touches nothing
    assert index.search("t-one", vector, 5)[0][0] == point.id
    index.close()
