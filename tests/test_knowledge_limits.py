"""Limits on the document path under careless or hostile use, on the real API, the real e5
tokenizer and embedder, Tika and pgvector: the same file uploaded eight times at once is one
document; no chunk exceeds the model's token budget however the text is shaped (one 12 KB "word",
runs without punctuation, headings longer than the budget, scripts of any kind); processing time per
document is bounded, and so is each hold of the shared model; a file name of any length keeps its
extension."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from luna_core.knowledge import files, pipeline
from luna_core.knowledge.chunking import MAX_CHARS_PER_TOKEN, chunk_blocks
from luna_core.knowledge.embeddings import E5Embedder
from luna_core.knowledge.extract import Block
from luna_core.knowledge.service import knowledge_for
from tests import documents as make

BUDGET = 500  # the service's budget: 512-token window minus its margin, never more
E5 = E5Embedder()


@pytest.fixture
def admin(api_user):
    return api_user(role="admin")


def test_the_same_file_uploaded_eight_times_at_once_is_one_document(api, admin, api_settings):
    data = make.TEXT.encode() + b"\nparallel upload " + admin.tenant_id.encode()
    barrier = threading.Barrier(8)

    def upload(n: int):
        barrier.wait()  # all eight requests leave together
        return api.post("/ingest/doc", headers=admin.headers, files={"file": (f"copy-{n}.txt", data)})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(upload, range(8)))
    assert Counter(a.status_code for a in answers) == {202: 1, 200: 7}, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(a.json()["duplicate"] for a in answers) == 7
    listed = api.get("/documents", headers=admin.headers).json()["items"]
    assert len(listed) == 1 and listed[0]["status"] == "indexed"
    # The losers' stored copies are gone again: one file for one document.
    folder = files.path_of(api_settings, admin.tenant_id, listed[0]["id"]).parent
    assert [p.name for p in folder.iterdir() if not p.name.startswith(".")] == [listed[0]["id"]]


def test_a_file_name_over_255_characters_keeps_its_extension(api, admin):
    name = "Betriebsanleitung-" + "sehr-lang-" * 30 + ".pdf"
    assert len(name) > 255
    response = api.post("/ingest/doc", headers=admin.headers, files={"file": (name, make.pdf_bytes())})
    assert response.status_code == 202, response.text
    stored = response.json()["filename"]
    assert len(stored) == 255 and stored.endswith(".pdf") and stored.startswith("Betriebsanleitung-sehr-lang-")
    assert api.get(f"/documents/{response.json()['id']}", headers=admin.headers).json()["status"] == "indexed"
    # Still refused for what it is: an unknown type, however long the name.
    refused = api.post("/ingest/doc", headers=admin.headers, files={"file": ("x" * 300 + ".exe", b"MZ")})
    assert refused.status_code == 415 and ".exe" in refused.json()["detail"]


def test_one_huge_word_becomes_chunks_within_the_budget(api, admin):
    """A text file of one 12 KB "word" used to become one chunk of some 4,000 tokens (a 2 MB one,
    419,436 tokens and eight minutes of API CPU)."""
    word = ("Energiemanagementsystemwartungsprotokollnummer" * 300)[:12_000]
    response = api.post("/ingest/doc", headers=admin.headers, files={"file": ("blob.txt", word.encode())})
    document = api.get(f"/documents/{response.json()['id']}", headers=admin.headers).json()
    assert document["status"] == "indexed", document
    chunks = api.get(f"/documents/{document['id']}/chunks", headers=admin.headers, params={"limit": 500}).json()
    assert len(chunks["items"]) == document["chunk_count"] > 5
    assert max(c["token_count"] for c in chunks["items"]) <= BUDGET
    assert all(E5.count_tokens(c["text"]) <= BUDGET for c in chunks["items"])  # the model's own count
    assert "".join(c["text"] for c in chunks["items"]).startswith(word[:1000])


SHAPES = [
    ("one long word", [Block("x" * 40_000)]),
    ("no punctuation", [Block(" ".join(["wärmepumpe", "strom", "netzentgelt"] * 6000))]),
    ("a heading longer than the budget", [Block("Überschrift " * 400, None, 1), Block("Kurz. " * 300)]),
    ("CJK without spaces", [Block("能源管理系统的电价" * 3000)]),
    ("emoji", [Block("🔋⚡" * 4000)]),
    ("long sentences", [Block(("Ein Satz ohne Ende und " * 800 + ". ") * 3)]),
]


@pytest.mark.parametrize(("shape", "blocks"), SHAPES, ids=[s for s, _ in SHAPES])
def test_no_chunk_exceeds_the_budget_whatever_the_shape(shape, blocks):
    chunks = chunk_blocks(blocks, E5.count_tokens, max_tokens=BUDGET, overlap_tokens=60)
    assert chunks, shape
    assert all(E5.count_tokens(c.embed_text) <= BUDGET for c in chunks), shape
    assert all(c.token_count == E5.count_tokens(c.embed_text) or c.heading is None for c in chunks)


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=3000),
            st.integers(0, 2),
        ),
        min_size=1,
        max_size=6,
    ),
    st.integers(16, 120),
)
def test_any_text_is_chunked_within_the_budget_and_loses_no_word(parts, budget):
    blocks = [Block(text, None, level) for text, level in parts if text.strip()]
    chunks = chunk_blocks(blocks, E5.count_tokens, max_tokens=budget, overlap_tokens=0)
    assert all(E5.count_tokens(c.embed_text) <= budget for c in chunks)
    body = "".join("".join(b.text.split()) for b in blocks if not b.is_heading)
    assert "".join("".join(c.text.split()) for c in chunks) == body  # every character, in order


def test_processing_time_per_document_is_bounded(engine, settings, tenant_factory):
    tenant = tenant_factory("deadline")
    bounded = dataclasses.replace(
        knowledge_for(settings), settings=settings.model_copy(update={"document_timeout_seconds": 0.5})
    )
    # About 80 chunks of different sentences: more than half a second of work anywhere.
    text = " ".join(f"Satz Nummer {n} handelt von Strom." for n in range(3_000))
    big = make.add_document(engine, settings, tenant, "big.txt", text.encode())
    assert pipeline.process_document(engine, bounded, tenant, big) == "failed"
    row = make.status_of(engine, tenant, big)
    assert row.status == "failed" and "LUNA_DOCUMENT_TIMEOUT_SECONDS" in row.error and row.error_code == "timeout"
    assert row.chunk_count == 0 and not files.exists(settings, tenant, big)
    assert all(doc != big for _, doc in bounded.index.points(tenant))
    # The worker is free for the next document at once.
    small = make.add_document(engine, settings, tenant, "small.txt", make.TEXT.encode())
    assert pipeline.process_document(engine, knowledge_for(settings), tenant, small) == "indexed"


def test_chunking_a_huge_word_never_holds_the_model_for_long():
    """The model is one shared engine behind a lock (searches and other uploads wait for it): a 93-byte
    upload waited four minutes behind a 2 MB "word" counted whole, again and again. Now no count is
    of more than the budget could ever hold, and the counting stays linear in the text."""
    counted: list[int] = []

    def count(text: str) -> int:
        counted.append(len(text))
        return E5.count_tokens(text)

    word = "Wärmepumpenheizungsregelung" * 20_000  # 540,000 characters, no space
    chunks = chunk_blocks([Block(word)], count, max_tokens=BUDGET, overlap_tokens=60)
    assert "".join(c.text for c in chunks) == word
    assert max(counted) <= BUDGET * MAX_CHARS_PER_TOKEN
    assert sum(counted) < 4 * len(word)
