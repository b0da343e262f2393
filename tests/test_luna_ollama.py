"""Luna's composed answers through the real ``ollama`` client over real HTTP.

No Ollama server can run here (no binary in any registry), so ``OllamaStandIn`` (tests/luna_doubles.py)
is started on a free local port and speaks Ollama's ``/api/chat`` as the client expects it: it
records each request and answers with a scripted reply, and answers an unknown model with Ollama's
404. Documents come from ``FixedPassagesRetriever``, a test double of our own ``Retriever``.
Checked: the request carries the persona system prompt, the tenant's passages and figures, and the
session history; the reply's [n] citations are parsed; an uncited reply or a failing model falls
back to the extractive answer; and tenant A's prompt holds nothing of tenant B."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from luna_core.db.tenancy import tenant_scope
from luna_core.energy.queries import aggregate
from luna_core.luna import AskOptions, ask
from luna_core.luna import formatting as fmt
from luna_core.luna.llm import OllamaChat
from luna_core.luna.prompts import phrase
from tests.conftest import Meter
from tests.luna_doubles import FixedPassagesRetriever, OllamaStandIn, passage
from tests.luna_seed import BERLIN, seed

NOW = datetime(2026, 3, 18, 10, 0, tzinfo=UTC)
SERVICE_EN = "The heat pump is serviced once a year by Wärme Müller GmbH."
COST_EN = "A yearly service of the heat pump costs 180 euros."
SERVICE_DE = "Die Wärmepumpe wird einmal im Jahr gewartet."


def _passages(tenant: str) -> list:
    return [
        passage(tenant, 1, "Service contract", SERVICE_EN, page=2),
        passage(tenant, 2, "Price list", COST_EN, page=5),
        passage(tenant, 3, "Wartungsvertrag", SERVICE_DE, page=1, language="de"),
    ]


@pytest.fixture
def tenant(engine, tenant_factory):
    tenant_id = tenant_factory(
        "luna-llm", meters=(Meter("main"),), name="Sonnenhof Kita", zone=f"LZ-{uuid.uuid4().hex[:6]}"
    )
    return tenant_id


def _ask(engine, tenant, question, chat, retriever, session_id=None, turns=6):
    with tenant_scope(engine, tenant) as connection:
        return ask(
            connection,
            tenant,
            "user-1",
            question,
            retriever=retriever,
            session_id=session_id,
            chat=chat,
            options=AskOptions(top_k=5, min_score=0.82, history_turns=turns),
            now=NOW,
        )


def test_the_request_carries_persona_passages_and_history_and_citations_are_parsed(engine, tenant):
    retriever = FixedPassagesRetriever({tenant: _passages(tenant)})
    with OllamaStandIn(
        lambda request: f"Once a year, by Wärme Müller [1]; it costs 180 euros [2]. Turn {len(request['messages'])}."
    ) as server:
        chat = OllamaChat(server.url, "llama3.1:8b", timeout_seconds=10)
        first = _ask(engine, tenant, "How often is the heat pump serviced?", chat, retriever, turns=1)
        second = _ask(
            engine, tenant, "What does the heat pump service cost?", chat, retriever, first.session_id, turns=1
        )
        third = _ask(engine, tenant, "Who services the heat pump?", chat, retriever, first.session_id, turns=1)

    assert (first.answer.mode, first.answer.language) == ("llm", "en")
    assert first.answer.text.startswith("Once a year, by Wärme Müller [1]; it costs 180 euros [2].")
    assert [(c.n, c.title, c.page) for c in first.answer.citations] == [
        (1, "Service contract", 2),
        (2, "Price list", 5),
    ]

    request = server.requests[-1]
    assert request["model"] == "llama3.1:8b" and request["stream"] is False
    system, *history, question = request["messages"]
    assert system["role"] == "system" and system["content"].startswith("You are Luna, the energy assistant")
    assert "British" in system["content"]  # the persona comes from prompts/v1/system.en.md
    assert "Sonnenhof Kita" in system["content"]
    assert f"[1] Service contract, p. 2\n{SERVICE_EN}" in system["content"]
    # Window of one turn: the second turn verbatim, the first one summarised in the system prompt.
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert history[0]["content"] == "What does the heat pump service cost?"
    assert history[1]["content"] == second.answer.text
    assert "They asked: How often is the heat pump serviced? — you answered: Once a year" in system["content"]
    assert question == {"role": "user", "content": "Who services the heat pump?"}
    assert third.session_id == first.session_id


def test_german_questions_get_the_german_persona(engine, tenant):
    retriever = FixedPassagesRetriever({tenant: _passages(tenant)})
    with OllamaStandIn(lambda request: "Einmal im Jahr [1].") as server:
        asked = _ask(
            engine, tenant, "Wie oft wird die Wärmepumpe gewartet?", OllamaChat(server.url, "llama3.1:8b"), retriever
        )
    system = server.requests[0]["messages"][0]["content"]
    assert system.startswith("Du bist Luna, die Energie-Assistentin")
    assert f"[1] Wartungsvertrag, p. 1\n{SERVICE_DE}" in system
    assert (asked.answer.mode, asked.answer.language, asked.answer.text) == ("llm", "de", "Einmal im Jahr [1].")


def test_an_answer_that_cites_nothing_falls_back_to_extractive(engine, tenant):
    retriever = FixedPassagesRetriever({tenant: _passages(tenant)})
    with OllamaStandIn(lambda request: "Probably every year or so, I'd imagine. [9]") as server:
        asked = _ask(
            engine, tenant, "How often is the heat pump serviced?", OllamaChat(server.url, "llama3.1:8b"), retriever
        )
    assert len(server.requests) == 1
    assert asked.answer.mode == "extractive" and asked.answer.model_failed
    assert asked.answer.text.startswith(phrase("en", "extractive.intro"))
    assert f"{SERVICE_EN} [1]" in asked.answer.text


def test_a_missing_model_or_server_falls_back_to_extractive(engine, tenant):
    retriever = FixedPassagesRetriever({tenant: _passages(tenant)})
    with OllamaStandIn(lambda request: "unused [1]") as server:
        missing = _ask(
            engine, tenant, "How often is the heat pump serviced?", OllamaChat(server.url, "nope:1b"), retriever
        )
        url = server.url
    assert server.requests[0]["model"] == "nope:1b"
    assert missing.answer.mode == "extractive" and missing.answer.model_failed
    down = _ask(engine, tenant, "How often is the heat pump serviced?", OllamaChat(url, "llama3.1:8b", 2), retriever)
    assert down.answer.mode == "extractive" and down.answer.model_failed


def test_tenant_a_prompt_holds_nothing_of_tenant_b(engine, tenant_factory):
    a = tenant_factory("luna-a", meters=(Meter("main"),), name="Alpha Bakery", zone=f"LZ-{uuid.uuid4().hex[:6]}")
    b = tenant_factory(
        "luna-b",
        meters=(Meter("main"), Meter("b-secret-wallbox", "ev")),
        name="Bravo Secret Brewery",
        zone=f"LZ-{uuid.uuid4().hex[:6]}",
    )
    seed(engine, a, f"LZ-{uuid.uuid4().hex[:6]}", NOW)
    seed(engine, b, f"LZ-{uuid.uuid4().hex[:6]}", NOW, scale=3.0)
    b_passage = passage(
        b, 1, "Bravo brewing contract", "The heat pump of the brewery is serviced weekly for 9999 euros."
    )
    retriever = FixedPassagesRetriever({a: _passages(a), b: [b_passage]})
    question = "What did we use last week, and how often is the heat pump serviced?"
    with OllamaStandIn(lambda request: "You used a fair bit [1].") as server:
        asked = _ask(engine, a, question, OllamaChat(server.url, "llama3.1:8b"), retriever)

    sent = json.dumps(server.requests[0], ensure_ascii=False)
    start = datetime(2026, 3, 9, tzinfo=BERLIN)
    with tenant_scope(engine, a) as connection:
        a_week = aggregate(connection, a, "day", start, start + timedelta(days=7))
    with tenant_scope(engine, b) as connection:
        b_week = aggregate(connection, b, "day", start, start + timedelta(days=7))
    assert asked.answer.mode == "llm" and asked.answer.data[0].value == a_week.kwh
    # A's own context is there...
    assert "Alpha Bakery" in sent and SERVICE_EN in sent and fmt.number(a_week.kwh, "en", 2) in sent
    # ...and nothing of B: not its name, documents, meters, ids or figures.
    for secret in ("Bravo", "Brewery", "brewery", "9999", "b-secret-wallbox", b, fmt.number(b_week.kwh, "en", 2)):
        assert secret not in sent, secret
    assert retriever.calls == [(a, question, 5)]
