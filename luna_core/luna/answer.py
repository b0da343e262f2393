"""Choosing how to answer, from what was found: no database here, only the decision.

1. Passages above the score threshold and a chat model: the model answers from them (and from the
   figures of a data question) and must cite with [n]; an answer that cites no passage is dropped.
2. Figures of a data question: the data answer, templated; the numbers need no model.
3. Passages that share words with the question (or were found across languages): the extractive
   answer, each passage's answering unit quoted whole with [n].
4. A data question without data: the honest "there is no data for that yet", naming what is missing.
5. Nothing: Luna says she found nothing instead of inventing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from luna_core.luna import extractive
from luna_core.luna.data import DataAnswer, DataItem
from luna_core.luna.language import Language
from luna_core.luna.llm import ChatModel, ChatUnavailable, cited
from luna_core.luna.prompts import PROMPT_VERSION, phrase
from luna_core.luna.retrieval import Passage

Mode = Literal["llm", "extractive", "data", "none"]


@dataclass(frozen=True)
class Citation:
    n: int
    chunk_id: str
    document_id: str
    title: str
    page: int | None
    snippet: str


@dataclass(frozen=True)
class Composed:
    text: str
    mode: Mode
    language: Language
    citations: list[Citation] = field(default_factory=list)
    data: list[DataItem] = field(default_factory=list)
    prompt_version: str = PROMPT_VERSION
    model_failed: bool = False  # a model was asked but gave no usable (grounded) answer


def relevant(passages: list[Passage], min_score: float) -> list[Passage]:
    return [p for p in passages if p.score >= min_score]


def compose(
    question: str,
    language: Language,
    passages: list[Passage],
    data: DataAnswer | None,
    chat: ChatModel | None = None,
    chat_messages: list[dict[str, str]] | None = None,
) -> Composed:
    """``passages`` are the relevant ones, numbered 1.. in this order in the model's prompt."""
    items = data.items if data is not None else []
    model_failed = False
    if chat is not None and passages and chat_messages is not None:
        try:
            text = chat.chat(chat_messages)
        except ChatUnavailable:
            text = ""
        numbers = cited(text, len(passages))
        if numbers:
            return Composed(text, "llm", language, _citations(passages, numbers), items)
        model_failed = True
    if data is not None and data.found:
        return Composed(data.text, "data", language, [], items, model_failed=model_failed)
    quotes = extractive.select(question, passages, question_language=language) if passages else []
    if quotes:  # passages that share nothing with the question are no answer: "none" below
        text = extractive.render(phrase(language, "extractive.intro"), quotes)
        numbers = sorted({q.n for q in quotes})
        return Composed(text, "extractive", language, _citations(passages, numbers), [], model_failed=model_failed)
    if data is not None:
        return Composed(data.text, "none", language)
    return Composed(phrase(language, "none.no_hit"), "none", language)


def _citations(passages: list[Passage], numbers: list[int]) -> list[Citation]:
    return [
        Citation(
            n=n,
            chunk_id=passages[n - 1].chunk_id,
            document_id=passages[n - 1].document_id,
            title=passages[n - 1].title,
            page=passages[n - 1].page,
            snippet=passages[n - 1].snippet,
        )
        for n in numbers
    ]
