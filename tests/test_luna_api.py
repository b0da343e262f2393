"""Luna over HTTP: /rag/ask in German and English, from documents and from live data (the same
numbers as the core functions), sessions readable by their owner only, feedback on one's own answers
only, and the admin's view of negative signals. Tenant A sees nothing of tenant B's.

Documents come from ``FixedPassagesRetriever``, a test double of our own ``Retriever`` interface set
as ``app.state.retriever`` for these tests (tests/luna_doubles.py); the integrator wires the real
hybrid search there and adds end-to-end tests with it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from luna_core.db.schema import audit_log
from luna_core.db.tenancy import tenant_scope
from luna_core.energy.queries import aggregate
from luna_core.luna.data import local_midnight, period_days
from luna_core.luna.intents import Period
from luna_core.luna.prompts import phrase
from tests.conftest import Meter
from tests.luna_doubles import FixedPassagesRetriever, passage
from tests.luna_seed import BERLIN, seed


@pytest.fixture
def retriever(api):
    found = FixedPassagesRetriever({})
    real, api.app.state.retriever = api.app.state.retriever, found
    yield found
    api.app.state.retriever = real


@pytest.fixture
def tenant(engine, tenant_factory, retriever):
    tenant_id = tenant_factory("luna-api", meters=(Meter("main"),), zone=f"LZ-{uuid.uuid4().hex[:6]}")
    retriever.passages[tenant_id] = [
        passage(
            tenant_id, 1, "Service contract", "The heat pump is serviced once a year. The service costs 180 euros."
        ),
        passage(tenant_id, 2, "Wartungsvertrag", "Die Wärmepumpe wird einmal im Jahr gewartet.", language="de"),
    ]
    return tenant_id


def _ask(api, user, question, session_id=None):
    response = api.post("/rag/ask", headers=user.headers, json={"question": question, "session_id": session_id})
    assert response.status_code == 200, response.text
    return response.json()


def test_english_and_german_questions_are_answered_in_kind_with_citations(api, api_user, tenant):
    user = api_user(tenant)
    english = _ask(api, user, "How often is the heat pump serviced?")
    assert (english["mode"], english["language"], english["prompt_version"]) == ("extractive", "en", "v1")
    assert english["answer"].startswith(phrase("en", "extractive.intro"))
    assert english["citations"][0] == {
        "n": 1,
        "chunk_id": f"{tenant}-chunk-1",
        "document_id": f"{tenant}-doc-1",
        "title": "Service contract",
        "page": 1,
        "snippet": "The heat pump is serviced once a year. The service costs 180 euros.",
    }
    german = _ask(api, user, "Wie oft wird die Wärmepumpe gewartet?", english["session_id"])
    assert (german["mode"], german["language"], german["session_id"]) == ("extractive", "de", english["session_id"])
    assert german["answer"].startswith(phrase("de", "extractive.intro"))
    assert "Die Wärmepumpe wird einmal im Jahr gewartet. [1]" in german["answer"]

    nothing = _ask(api, user, "Wer hat die Mona Lisa gemalt?")
    assert (nothing["mode"], nothing["language"], nothing["citations"]) == ("none", "de", [])
    assert nothing["answer"] == phrase("de", "none.no_hit")


def test_data_answers_over_http_are_the_core_numbers(api, api_user, engine, tenant):
    now = datetime.now(UTC)
    seed(engine, tenant, f"LZ-{uuid.uuid4().hex[:6]}", now)
    user = api_user(tenant)
    answer = _ask(api, user, "Wie viel haben wir letzte Woche verbraucht?")
    first, after = period_days(Period.LAST_WEEK, now.astimezone(BERLIN).date())
    with tenant_scope(engine, tenant) as connection:
        expected = aggregate(connection, tenant, "day", local_midnight(first, BERLIN), local_midnight(after, BERLIN))
    assert (answer["mode"], answer["language"]) == ("data", "de")
    assert answer["answer"].startswith("Sie haben letzte Woche")
    assert (answer["data"][0]["value"], answer["data"][0]["unit"]) == (pytest.approx(expected.kwh), "kWh")
    assert answer["data"][0]["label"] == "Verbrauch letzte Woche"


def test_sessions_are_readable_by_their_owner_only(api, api_user, tenant, tenant_factory):
    owner, colleague = api_user(tenant), api_user(tenant, role="admin")
    stranger = api_user(tenant_factory("luna-other"), role="admin")
    first = _ask(api, owner, "How often is the heat pump serviced?")
    _ask(api, owner, "What does the service cost?", first["session_id"])

    response = api.get(f"/rag/sessions/{first['session_id']}", headers=owner.headers)
    assert response.status_code == 200
    session = response.json()
    assert [m["role"] for m in session["messages"]] == ["user", "assistant", "user", "assistant"]
    assert session["messages"][1]["id"] == first["answer_id"]
    assert session["messages"][1]["citations"] == first["citations"]
    assert session["title"] == "How often is the heat pump serviced?"
    listed = api.get("/rag/sessions", headers=owner.headers).json()
    assert [s["id"] for s in listed["items"]] == [first["session_id"]]

    for other in (colleague, stranger):
        assert api.get(f"/rag/sessions/{first['session_id']}", headers=other.headers).status_code == 404
        assert api.get("/rag/sessions", headers=other.headers).json()["items"] == []
        continued = api.post(
            "/rag/ask", headers=other.headers, json={"question": "and then?", "session_id": first["session_id"]}
        )
        assert continued.status_code == 404 and continued.json()["error"] == "not_found"


def test_feedback_on_ones_own_answers_only(api, api_user, tenant, tenant_factory):
    owner, colleague = api_user(tenant), api_user(tenant)
    stranger = api_user(tenant_factory("luna-other"))
    answer = _ask(api, owner, "How often is the heat pump serviced?")

    created = api.post("/feedback", headers=owner.headers, json={"answer_id": answer["answer_id"], "rating": "down"})
    assert created.status_code == 201 and isinstance(created.json()["id"], int)
    again = api.post(
        "/feedback",
        headers=owner.headers,
        json={"answer_id": answer["answer_id"], "rating": "up", "comment": "on reflection, fine"},
    )
    assert again.status_code == 201 and again.json()["id"] == created.json()["id"]  # replaced, not added

    for other in (colleague, stranger):
        response = api.post(
            "/feedback", headers=other.headers, json={"answer_id": answer["answer_id"], "rating": "down"}
        )
        assert response.status_code == 404, response.text
    unknown = api.post("/feedback", headers=owner.headers, json={"answer_id": str(uuid.uuid4()), "rating": "up"})
    assert unknown.status_code == 404
    bad = api.post("/feedback", headers=owner.headers, json={"answer_id": answer["answer_id"], "rating": "meh"})
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_request"
    # The user's own question id is not an answer.
    question_id = api.get(f"/rag/sessions/{answer['session_id']}", headers=owner.headers).json()["messages"][0]["id"]
    assert (
        api.post("/feedback", headers=owner.headers, json={"answer_id": question_id, "rating": "up"}).status_code == 404
    )


def test_admins_see_negative_feedback_and_no_hit_questions_of_their_tenant(
    api, api_user, engine, tenant, tenant_factory
):
    customer, admin = api_user(tenant), api_user(tenant, role="admin")
    other_admin = api_user(tenant_factory("luna-other"), role="admin")
    answer = _ask(api, customer, "How often is the heat pump serviced?")
    api.post(
        "/feedback",
        headers=customer.headers,
        json={"answer_id": answer["answer_id"], "rating": "down", "comment": "wrong contract"},
    )
    _ask(api, customer, "Who painted the Mona Lisa?")

    assert api.get("/admin/feedback", headers=customer.headers).status_code == 403
    with tenant_scope(engine, tenant) as connection:
        audits_before = connection.execute(select(func.count()).select_from(audit_log)).scalar_one()
    view = api.get("/admin/feedback", headers=admin.headers).json()
    assert [(f["question"], f["comment"], f["mode"]) for f in view["negative_feedback"]] == [
        ("How often is the heat pump serviced?", "wrong contract", "extractive")
    ]
    assert [q["question"] for q in view["no_hit_questions"]] == ["Who painted the Mona Lisa?"]
    assert view["signals"]["negative_feedback"] == 1 and view["signals"]["no_hit_questions"] == 1
    assert view["threshold"] >= 1 and view["reindex_requests"] == []
    with tenant_scope(engine, tenant) as connection:
        assert connection.execute(select(func.count()).select_from(audit_log)).scalar_one() == audits_before + 1

    elsewhere = api.get("/admin/feedback", headers=other_admin.headers).json()
    assert elsewhere["negative_feedback"] == [] and elsewhere["no_hit_questions"] == []


def test_blank_or_oversized_questions_are_rejected(api, api_user, tenant):
    user = api_user(tenant)
    for question in ("", "   ", "x" * 2001, "nul\x00byte"):
        response = api.post("/rag/ask", headers=user.headers, json={"question": question})
        assert response.status_code == 422, question
        assert response.json()["error"] == "invalid_request"
    not_a_session = api.post("/rag/ask", headers=user.headers, json={"question": "hi", "session_id": "abc"})
    assert not_a_session.status_code == 422
