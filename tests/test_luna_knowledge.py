"""Luna end to end on the real knowledge layer: a German PDF uploaded through the API, extracted by
Tika, embedded by e5, indexed in pgvector; questions in English and German are answered from it
with citations to its pages, an off-topic question is answered honestly with nothing, and another
tenant's Luna never cites it. No test double: this is the retriever the API runs with."""

from __future__ import annotations

from tests import documents as make


def _ask(api, user, question: str) -> dict:
    response = api.post("/rag/ask", headers=user.headers, json={"question": question})
    assert response.status_code == 200, response.text
    return response.json()


def test_luna_answers_from_the_tenants_documents_with_citations(api, api_user):
    admin = api_user(role="admin")
    uploaded = api.post("/ingest/doc", headers=admin.headers, files={"file": ("ratgeber.pdf", make.pdf_bytes())})
    assert uploaded.status_code == 202, uploaded.text
    document_id = uploaded.json()["id"]
    assert api.get(f"/documents/{document_id}", headers=admin.headers).json()["status"] == "indexed"

    english = _ask(api, admin, "When does a heat pump run most cheaply?")
    assert english["mode"] == "extractive" and english["language"] == "en"
    assert english["citations"] and {c["document_id"] for c in english["citations"]} == {document_id}
    first = english["citations"][0]
    assert first["page"] == 1 and "Wärmepumpe" in first["snippet"]
    assert f"[{first['n']}]" in english["answer"]

    german = _ask(api, admin, "Wie senke ich die monatliche Spitzenlast?")
    assert german["language"] == "de" and german["citations"]
    assert german["citations"][0]["page"] == 2

    off_topic = _ask(api, admin, "Who wrote Hamlet?")
    assert off_topic["mode"] == "none" and off_topic["citations"] == []


def test_another_tenants_luna_never_cites_the_document(api, api_user):
    alice, bob = api_user(role="admin"), api_user(role="admin")
    uploaded = api.post("/ingest/doc", headers=alice.headers, files={"file": ("ratgeber.pdf", make.pdf_bytes())})
    assert uploaded.status_code == 202, uploaded.text
    answer = _ask(api, bob, "When does a heat pump run most cheaply?")
    assert answer["citations"] == [] and answer["mode"] == "none"
    assert "Wärmepumpe" not in answer["answer"]
