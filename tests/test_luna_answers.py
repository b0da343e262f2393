"""``luna_core.luna.ask`` on the real database: data questions give exactly the numbers of the core
functions, document questions are quoted in the question's language, nothing found is said so,
and every question leaves its session messages and retrieval telemetry behind.

Documents come from ``FixedPassagesRetriever``, a test double of our own ``Retriever`` interface
(tests/luna_doubles.py); the real hybrid search is wired and tested end to end at integration."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from luna_core.db.schema import chat_messages, retrieval_telemetry
from luna_core.db.tenancy import tenant_scope
from luna_core.energy.kpis import compute_tenant_kpis
from luna_core.energy.queries import aggregate
from luna_core.luna import NoDocuments, SessionNotFound, ask
from luna_core.luna.prompts import phrase
from luna_core.market.queries import cheapest_slots
from tests.conftest import Meter
from tests.luna_doubles import FixedPassagesRetriever, passage
from tests.luna_seed import BERLIN, seed

NOW = datetime(2026, 3, 18, 10, 0, tzinfo=UTC)  # a Wednesday; "last week" is 9-15 March


@pytest.fixture
def seeded(engine, tenant_factory):
    zone = f"LZ-{uuid.uuid4().hex[:6]}"
    tenant = tenant_factory("luna", meters=(Meter("main"),), zone=zone, name="Bäckerei Sonnenschein")
    return seed(engine, tenant, zone, NOW)


def _ask(engine, tenant, question, retriever=None, user="user-1", **kwargs):
    with tenant_scope(engine, tenant) as connection:
        return ask(connection, tenant, user, question, retriever=retriever or NoDocuments(), now=NOW, **kwargs)


@pytest.mark.parametrize(
    ("question", "language", "opening"),
    [
        ("What did we use last week?", "en", "You used"),
        ("Wie viel haben wir letzte Woche verbraucht?", "de", "Sie haben"),
    ],
)
def test_consumption_last_week_is_the_aggregate_of_that_week(engine, seeded, question, language, opening):
    asked = _ask(engine, seeded.tenant_id, question)
    start = datetime(2026, 3, 9, tzinfo=BERLIN)
    with tenant_scope(engine, seeded.tenant_id) as connection:
        expected = aggregate(connection, seeded.tenant_id, "day", start, start + timedelta(days=7))
    answer = asked.answer
    assert (answer.mode, answer.language) == ("data", language)
    assert answer.text.startswith(opening)
    assert [(d.value, d.unit) for d in answer.data] == [(expected.kwh, "kWh"), (expected.cost_eur, "EUR")]
    assert expected.kwh > 0 and len(expected.buckets) == 7
    assert all(d.source for d in answer.data)


def test_cheapest_hour_tomorrow_is_the_cheapest_stored_price(engine, seeded):
    asked = _ask(engine, seeded.tenant_id, "Wann ist Strom morgen am günstigsten?")
    with tenant_scope(engine, seeded.tenant_id) as connection:
        [slot] = cheapest_slots(
            connection, seeded.zone, seeded.tomorrow_start, seeded.tomorrow_start + timedelta(days=1), 60, 1
        )
    cheapest, average = asked.answer.data
    assert average.value > cheapest.value and average.unit == "EUR/MWh"
    assert asked.answer.mode == "data" and asked.answer.language == "de"
    assert cheapest.value == slot.eur_per_mwh == seeded.cheapest_price
    assert cheapest.unit == "EUR/MWh" and "14:00" in cheapest.label  # the seeded dip at 14:00 local
    assert asked.answer.text.startswith("Am günstigsten ist Strom morgen von 14:00 bis 15:00, mit 57,50 EUR/MWh")


def test_peak_is_the_kpi_peak_of_the_month(engine, seeded):
    asked = _ask(engine, seeded.tenant_id, "What is our peak?")
    with tenant_scope(engine, seeded.tenant_id) as connection:
        kpis = compute_tenant_kpis(connection, seeded.tenant_id, NOW.astimezone(BERLIN).date())
    [peak] = asked.answer.data
    assert (peak.value, peak.unit) == (kpis.peak_kw_month, "kW")
    assert asked.answer.mode == "data" and asked.answer.language == "en"


def test_forecast_tomorrow_is_the_stored_forecast(engine, seeded):
    asked = _ask(engine, seeded.tenant_id, "What will we use tomorrow?")
    [total] = asked.answer.data
    assert total.value == pytest.approx(seeded.forecast_total)
    assert "version" in total.source and "3" in total.source


def test_a_data_question_without_data_says_what_is_missing(engine, tenant_factory):
    tenant = tenant_factory("luna-empty", meters=(Meter("main"),), zone=f"LZ-{uuid.uuid4().hex[:6]}")
    asked = _ask(engine, tenant, "When is electricity cheapest tomorrow?")
    assert asked.answer.mode == "none" and asked.answer.data == []
    assert "no day-ahead prices" in asked.answer.text


def test_document_questions_are_quoted_with_citations_in_the_question_language(engine, seeded):
    tenant = seeded.tenant_id
    retriever = FixedPassagesRetriever(
        {
            tenant: [
                passage(
                    tenant,
                    1,
                    "Wartungsvertrag",
                    "Die Wärmepumpe wird einmal im Jahr gewartet. Die Wartung kostet 180 Euro.",
                ),
                passage(
                    tenant, 2, "Service contract", "The heat pump is serviced once a year. The service costs 180 euros."
                ),
            ]
        }
    )
    german = _ask(engine, tenant, "Wie oft wird die Wärmepumpe gewartet?", retriever)
    assert (german.answer.mode, german.answer.language) == ("extractive", "de")
    assert german.answer.text.startswith(phrase("de", "extractive.intro"))
    # The paragraph is quoted whole, not sentence by sentence.
    assert "- Die Wärmepumpe wird einmal im Jahr gewartet. Die Wartung kostet 180 Euro. [1]" in german.answer.text
    assert [(c.n, c.chunk_id) for c in german.answer.citations] == [(1, f"{tenant}-chunk-1")]

    english = _ask(engine, tenant, "How often is the heat pump serviced?", retriever)
    assert (english.answer.mode, english.answer.language) == ("extractive", "en")
    assert english.answer.text.startswith(phrase("en", "extractive.intro"))
    assert "- The heat pump is serviced once a year. The service costs 180 euros. [1]" in english.answer.text
    assert english.answer.citations[0].chunk_id == f"{tenant}-chunk-2"


def test_nothing_relevant_is_mode_none_and_recorded_as_no_hit(engine, seeded):
    tenant = seeded.tenant_id
    retriever = FixedPassagesRetriever({tenant: [passage(tenant, 1, "Contract", "The contract runs two years.")]})
    asked = _ask(engine, tenant, "Who painted the Mona Lisa?", retriever)
    assert asked.answer.mode == "none" and asked.answer.text == phrase("en", "none.no_hit")
    assert asked.no_hit and asked.hit_count == 0
    with tenant_scope(engine, tenant) as connection:
        row = connection.execute(
            select(retrieval_telemetry).where(retrieval_telemetry.c.answer_id == asked.answer_id)
        ).one()
        stored = connection.execute(select(chat_messages).where(chat_messages.c.session_id == asked.session_id)).all()
    assert (row.mode, row.no_hit, row.hit_count, row.top_score, row.intent) == ("none", True, 0, None, None)
    assert row.question == "Who painted the Mona Lisa?" and row.prompt_version == "v1"
    assert [m.role for m in stored] == ["user", "assistant"]


def test_low_scoring_passages_do_not_count_as_hits(engine, seeded):
    tenant = seeded.tenant_id
    retriever = FixedPassagesRetriever({tenant: [passage(tenant, 1, "Notes", "The painting hangs in the office.")]})
    asked = _ask(engine, tenant, "Who painted the famous Renaissance portrait in the museum in Paris?", retriever)
    assert asked.hit_count == 1 and asked.top_score is not None and asked.top_score < 0.82
    assert asked.answer.mode == "none" and asked.no_hit


def test_a_session_continues_for_its_owner_only(engine, seeded):
    tenant = seeded.tenant_id
    first = _ask(engine, tenant, "What is our peak?", user="alice")
    again = _ask(engine, tenant, "And what did we use yesterday?", user="alice", session_id=first.session_id)
    assert again.session_id == first.session_id
    with pytest.raises(SessionNotFound):
        _ask(engine, tenant, "What is our peak?", user="bob", session_id=first.session_id)
