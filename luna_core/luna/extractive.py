"""Grounded answers without a language model: the sentences of the best passages that share the
most words with the question, each quoted with the number of its passage ([1], [2]).

Words are compared by their first five letters, a crude stem that lets "verbraucht" meet
"Verbrauch" and "charging" meet "charge". A passage the retriever found across languages may
share no word at all with the question: then its opening sentence stands in for it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from luna_core.luna.language import ENGLISH, GERMAN
from luna_core.luna.retrieval import Passage

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ0-9\"'(])|\n{2,}")
_WORD = re.compile(r"[a-zäöüß0-9]+")
STEM = 5
MAX_SENTENCE_CHARS = 400


@dataclass(frozen=True)
class Quote:
    n: int  # 1-based number of the passage in the list the caller passed
    sentence: str


def stems(text: str) -> set[str]:
    return {
        word[:STEM]
        for word in _WORD.findall(text.lower())
        if len(word) > 2 and word not in GERMAN and word not in ENGLISH
    }


def sentences(text: str) -> list[str]:
    parts = (" ".join(part.split()) for part in _SENTENCE_END.split(text))
    return [p if len(p) <= MAX_SENTENCE_CHARS else p[:MAX_SENTENCE_CHARS].rsplit(" ", 1)[0] + " …" for p in parts if p]


def select(question: str, passages: list[Passage], max_quotes: int = 3, per_passage: int = 2) -> list[Quote]:
    """Up to ``max_quotes`` sentences, in passage and reading order."""
    asked = stems(question)
    scored: list[tuple[float, int, int, str]] = []
    for n, passage in enumerate(passages, start=1):
        for position, sentence in enumerate(sentences(passage.text)):
            overlap = len(asked & stems(sentence))
            if overlap:
                # Overlap per sqrt(length): a long sentence should not win by mentioning everything.
                weight = overlap / math.sqrt(max(len(sentence.split()), 1))
                scored.append((weight + passage.score * 1e-3, n, position, sentence))
    scored.sort(key=lambda item: -item[0])
    chosen: list[tuple[int, int, str]] = []
    for _, n, position, sentence in scored:
        if len(chosen) == max_quotes:
            break
        if sum(1 for c in chosen if c[0] == n) < per_passage:
            chosen.append((n, position, sentence))
    if not chosen and passages:
        opening = sentences(passages[0].text)
        if opening:
            chosen.append((1, 0, opening[0]))
    return [Quote(n, sentence) for n, _, sentence in sorted(chosen)]


def render(intro: str, quotes: list[Quote]) -> str:
    lines = [intro, *(f"- {quote.sentence} [{quote.n}]" for quote in quotes)]
    return "\n".join(lines)
