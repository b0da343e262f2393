"""Luna's parts that decide what to say: language, intents, extractive quotes, memory window and
summary, the prompt files, and the choice of mode."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from luna_core.luna import extractive, memory
from luna_core.luna.answer import compose
from luna_core.luna.data import DataAnswer, DataItem
from luna_core.luna.intents import Intent, IntentKind, Period, route
from luna_core.luna.language import detect_language
from luna_core.luna.llm import cited
from luna_core.luna.prompts import PROMPT_VERSION, phrase, phrases, system_template
from tests.luna_doubles import passage


@pytest.mark.parametrize(
    ("question", "kind", "period"),
    [
        ("What did we use last week?", IntentKind.CONSUMPTION, Period.LAST_WEEK),
        ("Wie viel haben wir letzte Woche verbraucht?", IntentKind.CONSUMPTION, Period.LAST_WEEK),
        ("How much electricity did we consume yesterday?", IntentKind.CONSUMPTION, Period.YESTERDAY),
        ("Was hat uns der Strom letzten Monat gekostet?", IntentKind.CONSUMPTION, Period.LAST_MONTH),
        ("When is electricity cheapest tomorrow?", IntentKind.CHEAPEST, Period.TOMORROW),
        ("Wann ist Strom morgen am günstigsten?", IntentKind.CHEAPEST, Period.TOMORROW),
        ("When is power cheapest today?", IntentKind.CHEAPEST, Period.TODAY),
        ("What is our peak?", IntentKind.PEAK, Period.THIS_MONTH),
        ("Was ist unsere Spitzenlast?", IntentKind.PEAK, Period.THIS_MONTH),
        ("What was our peak last month?", IntentKind.PEAK, Period.LAST_MONTH),
        ("What will we use tomorrow?", IntentKind.FORECAST, Period.TOMORROW),
        ("Wie viel werden wir morgen verbrauchen?", IntentKind.FORECAST, Period.TOMORROW),
        ("Show me our load forecast", IntentKind.FORECAST, Period.TOMORROW),
    ],
)
def test_data_questions_are_routed_in_both_languages(question, kind, period):
    assert route(question) == Intent(kind, period)


@pytest.mark.parametrize(
    "question",
    [
        "What is peak shaving?",
        "How do I use the boost mode of the heat pump?",
        "How much does a heat pump consume?",
        "Wie hoch ist die Kündigungsfrist?",
        "Was steht im Wartungsvertrag zur Wärmepumpe?",
    ],
)
def test_document_questions_are_not_data_intents(question):
    assert route(question) is None


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("What did we use last week?", "en"),
        ("Wie viel haben wir letzte Woche verbraucht?", "de"),
        ("Was ist unsere Spitzenlast?", "de"),
        ("Wie hoch ist die Kündigungsfrist?", "de"),
        ("When is the maintenance of the heat pump due?", "en"),
        ("Wärmepumpe Wartung?", "de"),  # umlauts alone
    ],
)
def test_language_follows_the_question(question, language):
    assert detect_language(question) == language


def test_a_question_without_telling_words_keeps_the_default():
    assert detect_language("Spitzenlast?", default="de") == "de"
    assert detect_language("OK", default="en") == "en"


def test_extractive_quotes_the_paragraph_that_answers_with_its_passage_number():
    passages = [
        passage("t", 1, "Manual", "The heat pump needs a yearly service. Boost mode heats water to 60 degrees."),
        passage("t", 2, "Contract", "The contract runs for two years. Notice is due three months before the end."),
    ]
    quotes = extractive.select("How many months notice for the contract?", passages)
    assert quotes == [
        extractive.Quote(2, "The contract runs for two years. Notice is due three months before the end.")
    ]
    text = extractive.render("intro", quotes)
    assert "[2]" in text and "[1]" not in text


def test_extractive_falls_back_to_the_opening_of_a_cross_language_hit():
    german = passage(
        "t",
        1,
        "Vertrag",
        "Die Kündigungsfrist beträgt drei Monate.\nDanach verlängert sich der Vertrag.",
        language="de",
    )
    quotes = extractive.select("notice period?", [german])
    assert quotes == [extractive.Quote(1, "Die Kündigungsfrist beträgt drei Monate.")]


def test_a_warning_stays_with_its_instruction_and_headings_or_contents_lines_are_never_quoted():
    inverter = passage(
        "t",
        1,
        "Inverter manual",
        "Error codes\n"
        "1.2 Error E23 ........ 14\n"
        "Error E23 means an insulation fault on the DC side; switch the inverter off at the AC breaker.\n"
        "Do not touch the DC cables; call the installer.\n"
        "Error E31 means the grid frequency is out of range and clears by itself.",
    )
    quotes = extractive.select("What does inverter error E23 mean?", [inverter])
    assert quotes == [
        extractive.Quote(
            1,
            "Error E23 means an insulation fault on the DC side; switch the inverter off at the AC breaker. "
            "Do not touch the DC cables; call the installer.",
        )
    ]
    # The warning chosen alone still brings the instruction it guards.
    assert "switch the inverter off" in extractive.select("DC cables touch installer", [inverter])[0].sentence


def test_a_list_item_keeps_the_instruction_that_introduces_it():
    steps = passage(
        "t",
        1,
        "Wallbox",
        "To restart the wallbox after a fault:\nPress the reset button for five seconds.\nWait until the LED is green.",
    )
    quotes = extractive.select("How long do I press the reset button?", [steps])
    assert quotes == [
        extractive.Quote(1, "To restart the wallbox after a fault: Press the reset button for five seconds.")
    ]


def test_passages_that_share_nothing_with_the_question_are_not_quoted_and_the_answer_is_none():
    unrelated = passage("t", 1, "Manual", "The heat pump needs a yearly service by a certified technician.")
    assert extractive.select("When does the tariff change?", [unrelated]) == []
    composed = compose("When does the tariff change?", "en", [unrelated], None)
    assert composed.mode == "none" and composed.citations == []


def test_the_best_unit_of_each_of_the_first_three_passages_is_cited_in_their_order():
    passages = [
        passage("t", n, f"Doc {n}", f"The battery limit is {n}0 kW for peak shaving on site {n}.") for n in range(1, 5)
    ]
    assert [q.n for q in extractive.select("battery limit for peak shaving", passages)] == [1, 2, 3]


def test_citation_markers_that_name_no_passage_are_ignored():
    assert cited("Yes [2], and also [1][2]. Not [7] or [0].", 3) == [2, 1]
    assert cited("No markers at all.", 3) == []


def test_prompt_files_exist_in_both_languages_with_the_same_keys():
    for language in ("de", "en"):
        template = system_template(language)
        assert {"tenant_name", "sources", "data", "summary"} <= set(template.get_identifiers())
    assert phrases("de").keys() == phrases("en").keys()
    for section in phrases("en"):
        assert phrases("de")[section].keys() == phrases("en")[section].keys(), section
    assert PROMPT_VERSION == "v1"


def test_mode_none_says_so_instead_of_inventing():
    for language in ("de", "en"):
        composed = compose("Wie hoch ist die Kündigungsfrist?", language, [], None)
        assert composed.mode == "none" and composed.citations == [] and composed.data == []
        assert composed.text == phrase(language, "none.no_hit")


def test_a_data_answer_wins_over_passages_without_a_model_and_an_empty_one_is_mode_none():
    intent = Intent(IntentKind.PEAK, Period.THIS_MONTH)
    item = DataItem("Peak", 42.0, "kW", "kpis")
    found = compose("what is our peak", "en", [passage("t", 1, "Doc", "Peak text.")], DataAnswer(intent, [item], "42"))
    assert (found.mode, found.text, found.data) == ("data", "42", [item])
    missing = compose("what is our peak", "en", [], DataAnswer(intent, [], "no readings"))
    assert (missing.mode, missing.text) == ("none", "no readings")


def _message(role: str, content: str, minutes: int) -> memory.Message:
    return memory.Message(uuid.uuid4(), role, content, datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes))


def test_memory_keeps_the_last_turns_and_summarises_the_older_ones():
    earlier = []
    for turn in range(5):
        earlier.append(_message("user", f"Question number {turn}?", 2 * turn))
        earlier.append(_message("assistant", f"Answer number {turn}. More detail here.", 2 * turn + 1))
    history = memory.history(earlier, turns=2, language="en")
    assert [m.content for m in history.recent] == [
        "Question number 3?",
        "Answer number 3. More detail here.",
        "Question number 4?",
        "Answer number 4. More detail here.",
    ]
    assert history.summary is not None
    assert history.summary.count("\n") == 2  # three older turns, one line each
    assert "Question number 0?" in history.summary and "Answer number 0." in history.summary
    assert "More detail" not in history.summary  # first sentence only
    assert "Question number 3" not in history.summary

    short = memory.history(earlier[:4], turns=6, language="en")
    assert short.summary is None and len(short.recent) == 4
