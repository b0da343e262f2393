"""Documents and search through the API on real files: PDF with umlauts, DOCX with headings,
Markdown, TXT, HTML; the failure cases (encrypted, scanned, zip bomb, wrong extension, too large,
unsupported); duplicates; delete (rows, vectors, stored file); tenant isolation of /documents,
the chunk viewer and /search. The TestClient runs the upload's background task before returning."""

from __future__ import annotations

import pytest

from luna_core.knowledge import files
from luna_core.knowledge.service import knowledge_for
from tests import documents as make


def upload(api, user, name: str, data: bytes):
    return api.post("/ingest/doc", headers=user.headers, files={"file": (name, data)})


def settled(api, user, response) -> dict:
    assert response.status_code in (200, 202), response.text
    return api.get(f"/documents/{response.json()['id']}", headers=user.headers).json()


@pytest.fixture
def admin(api_user):
    return api_user(role="admin")


def test_each_format_is_extracted_chunked_and_indexed(api, admin):
    cases = {
        "ratgeber.pdf": make.pdf_bytes(),
        "tarife.docx": make.docx_bytes(),
        "einspeisung.md": make.MARKDOWN.encode(),
        "standby.txt": make.TEXT.encode(),
        "laden.html": make.HTML.encode(),
    }
    found = {}
    for name, data in cases.items():
        response = upload(api, admin, name, data)
        assert response.status_code == 202 and response.json()["status"] == "queued"
        found[name] = settled(api, admin, response)
        assert found[name]["status"] == "indexed", found[name]
        assert found[name]["chunk_count"] >= 1
    pdf = found["ratgeber.pdf"]
    assert (pdf["title"], pdf["author"], pdf["pages"], pdf["language"]) == (
        "Wärmepumpen-Ratgeber",
        "Jörg Müller",
        2,
        "de",
    )
    assert found["tarife.docx"]["author"] == "Anna Schmidt" and found["tarife.docx"]["language"] == "en"
    assert found["laden.html"]["title"] == "EV charging at home"
    assert found["einspeisung.md"]["title"] == "Einspeisevergütung"

    chunks = api.get(f"/documents/{pdf['id']}/chunks", headers=admin.headers).json()["items"]
    assert [c["page"] for c in chunks] == [1, 2]  # one chunk per page here: the headings split them
    assert chunks[0]["heading"] == "Wärmepumpe im Winter" and "günstigsten" in chunks[0]["text"]
    docx_chunks = api.get(f"/documents/{found['tarife.docx']['id']}/chunks", headers=admin.headers).json()
    assert [c["heading"] for c in docx_chunks["items"]] == ["Dynamic tariffs", "Peak shaving"]

    # An English question finds the German PDF passage; a German one finds the English DOCX.
    hits = api.post("/search", headers=admin.headers, json={"query": "When should a heat pump run to save money?"})
    assert hits.status_code == 200
    assert hits.json()["hits"][0]["document_id"] == pdf["id"] and hits.json()["hits"][0]["page"] == 1
    # A hit carries its whole passage, the heading, and where the snippet holds the query's words.
    best = hits.json()["hits"][0]
    assert best["text"] == chunks[0]["text"] and best["heading"] == "Wärmepumpe im Winter"
    assert best["snippet"] in best["text"] or best["snippet"].rstrip("…") in best["text"]
    heat = api.post("/search", headers=admin.headers, json={"query": "Wärmepumpe günstig"}).json()["hits"][0]
    marked = [heat["snippet"][start:end].lower() for start, end in heat["highlights"]]
    assert marked and all(word[:5] in ("wärme", "günst") for word in marked)
    hits = api.post("/search", headers=admin.headers, json={"query": "Wie senkt ein Batteriespeicher die Lastspitze?"})
    top = hits.json()["hits"][:2]
    assert found["tarife.docx"]["id"] in {h["document_id"] for h in top}
    high = api.post("/search", headers=admin.headers, json={"query": "heat pump", "k": 50, "threshold": 1.5})
    assert high.json()["hits"] == []

    listed = api.get("/documents", headers=admin.headers).json()
    assert {d["filename"] for d in listed["items"]} == set(cases)


def test_same_file_twice_returns_the_existing_document(api, admin):
    data = make.TEXT.encode() + b"\nduplicate check"
    first = upload(api, admin, "a.txt", data)
    again = upload(api, admin, "renamed.txt", data)
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["duplicate"] is True
    assert len(api.get("/documents", headers=admin.headers).json()["items"]) == 1


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("secret.pdf", make.pdf_bytes(encrypt=True), "password-protected"),
        ("scan.pdf", make.scanned_pdf_bytes(), "no extractable text"),
        ("bomb.docx", make.zip_bomb_docx(300), "zip bomb"),
        ("report.pdf", make.docx_bytes(), "its content is a Word document"),
        ("notes.docx", make.pdf_bytes(), "its content is a PDF"),
        ("page.html", b"just words, no markup at all", "contains no HTML"),
    ],
)
def test_bad_files_fail_with_the_reason_and_leave_nothing(api, admin, api_settings, name, data, reason):
    response = upload(api, admin, name, data)
    assert response.status_code == 202
    document = settled(api, admin, response)
    assert document["status"] == "failed" and reason in document["error"], document
    assert document["chunk_count"] == 0
    assert api.get(f"/documents/{document['id']}/chunks", headers=admin.headers).json()["items"] == []
    assert not files.exists(api_settings, admin.tenant_id, document["id"])
    points = knowledge_for(api_settings).index.points(admin.tenant_id)
    assert all(str(doc) != document["id"] for _, doc in points)


def test_uploads_refused_before_storing(api, admin, api_settings):
    too_big = b"a" * (int(api_settings.max_upload_mb * 1024 * 1024) + 10)
    response = upload(api, admin, "big.txt", too_big)
    assert response.status_code == 413 and response.json()["error"] == "payload_too_large"
    response = upload(api, admin, "tool.exe", b"MZ\x90\x00")
    assert response.status_code == 415 and "unsupported file type" in response.json()["detail"]
    response = upload(api, admin, "empty.md", b"  \n")
    assert response.status_code == 422
    assert api.get("/documents", headers=admin.headers).json()["items"] == []
    assert not (api_settings.resolved_storage_dir / admin.tenant_id / "documents").exists() or not any(
        (api_settings.resolved_storage_dir / admin.tenant_id / "documents").iterdir()
    )


def test_stored_files_are_encrypted_at_rest(api, admin, api_settings):
    text = make.TEXT.encode()
    document = settled(api, admin, upload(api, admin, "standby.txt", text))
    on_disk = files.path_of(api_settings, admin.tenant_id, document["id"]).read_bytes()
    assert text[:40] not in on_disk and len(on_disk) > len(text)  # ciphertext plus header and tag
    assert files.read(api_settings, admin.tenant_id, document["id"]) == text


def test_delete_removes_rows_vectors_and_file(api, admin, api_settings):
    document = settled(api, admin, upload(api, admin, "laden.html", make.HTML.encode()))
    assert document["status"] == "indexed"
    index = knowledge_for(api_settings).index
    assert any(str(doc) == document["id"] for _, doc in index.points(admin.tenant_id))
    assert files.exists(api_settings, admin.tenant_id, document["id"])

    customer = api_user_of(api, admin)
    assert api.delete(f"/documents/{document['id']}", headers=customer).status_code == 403
    assert api.delete(f"/documents/{document['id']}", headers=admin.headers).status_code == 204
    assert api.get(f"/documents/{document['id']}", headers=admin.headers).status_code == 404
    assert api.delete(f"/documents/{document['id']}", headers=admin.headers).status_code == 404
    assert not files.exists(api_settings, admin.tenant_id, document["id"])
    assert all(str(doc) != document["id"] for _, doc in index.points(admin.tenant_id))
    hits = api.post("/search", headers=admin.headers, json={"query": "EV charging wallbox"}).json()["hits"]
    assert hits == []


def api_user_of(api, admin) -> dict:
    from tests.conftest import ApiUser  # noqa: F401  (the fixture's type)

    return {"Authorization": "Bearer " + _customer_token(api, admin)}


def _customer_token(api, admin) -> str:
    import uuid

    from luna_core.db.tenancy import tenant_scope
    from luna_core.users import create_user

    engine = api.app.state.engine
    email = f"customer-{uuid.uuid4().hex[:6]}@{admin.tenant_id}.example.com"
    with tenant_scope(engine, admin.tenant_id) as connection:
        create_user(connection, admin.tenant_id, email, "correct horse battery", "customer")
    return api.post("/auth/token", data={"username": email, "password": "correct horse battery"}).json()["access_token"]


def test_reindex_reprocesses_the_stored_file(api, admin):
    document = settled(api, admin, upload(api, admin, "einspeisung.md", make.MARKDOWN.encode()))
    before = api.get(f"/documents/{document['id']}/chunks", headers=admin.headers).json()["items"]
    response = api.post(f"/documents/{document['id']}/reindex", headers=admin.headers)
    assert response.status_code == 202
    after = settled(api, admin, response)
    assert after["status"] == "indexed" and after["indexed_at"] >= document["indexed_at"]
    chunks = api.get(f"/documents/{document['id']}/chunks", headers=admin.headers).json()["items"]
    assert [c["id"] for c in chunks] == [c["id"] for c in before]  # deterministic ids


def test_a_tenant_never_sees_another_tenants_documents(api, api_user):
    alice, bob = api_user(role="admin"), api_user(role="admin")
    secret = settled(api, alice, upload(api, alice, "ratgeber.pdf", make.pdf_bytes()))
    assert secret["status"] == "indexed"
    assert api.get("/documents", headers=bob.headers).json()["items"] == []
    for path in (f"/documents/{secret['id']}", f"/documents/{secret['id']}/chunks"):
        assert api.get(path, headers=bob.headers).status_code == 404
    assert api.post(f"/documents/{secret['id']}/reindex", headers=bob.headers).status_code == 404
    assert api.delete(f"/documents/{secret['id']}", headers=bob.headers).status_code == 404
    hits = api.post("/search", headers=bob.headers, json={"query": "Wärmepumpe günstig heizen", "k": 50})
    assert hits.status_code == 200 and hits.json()["hits"] == []
    # The same file in Bob's tenant is a new document, not Alice's duplicate.
    own = upload(api, bob, "ratgeber.pdf", make.pdf_bytes())
    assert own.status_code == 202 and own.json()["id"] != secret["id"]
    hits = api.post("/search", headers=bob.headers, json={"query": "Wärmepumpe günstig heizen"}).json()["hits"]
    assert hits and {h["document_id"] for h in hits} == {own.json()["id"]}
    assert api.get(f"/documents/{secret['id']}", headers=alice.headers).json()["status"] == "indexed"


def test_admin_knowledge_view(api, api_user):
    admin = api_user(role="admin")
    settled(api, admin, upload(api, admin, "standby.txt", make.TEXT.encode()))
    body = api.get("/admin/knowledge", headers=admin.headers).json()
    assert body["backend"] == "pgvector" and body["collection"].startswith("luna_knowledge_")
    assert body["chunks_by_tenant"] == [{"tenant_id": admin.tenant_id, "chunks": 1, "documents": 1}]
    customer = api_user(admin.tenant_id)
    assert api.get("/admin/knowledge", headers=customer.headers).status_code == 403
    assert api.post("/admin/knowledge/reindex", headers=admin.headers).status_code == 403
