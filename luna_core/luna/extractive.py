"""Grounded answers without a language model: from each of the best passages, the one coherent
unit that answers (a paragraph, a list item with the instruction that introduces it, a table
row), quoted whole with the number of its passage ([1], [2]).

A passage's text holds one block of the document per line (see ``knowledge.chunking``), so a
unit is a line. Sentences are never picked one by one: that let short headings and contents lines
win and dropped a warning from the instruction it belongs to. A warning next to the chosen unit is
quoted with it, and a list item keeps the line ending in a colon that introduces it.

Words are compared by their first five letters, a crude stem that lets "verbraucht" meet
"Verbrauch" and "charging" meet "charge". A passage in the question's language that shares no
word with it is not quoted; a passage the retriever found across languages may share none, so
its best-scoring (else its first) unit stands in for it. No quotable passage: no quotes, and the
caller answers "none".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from luna_core.luna.language import ENGLISH, GERMAN, detect_language
from luna_core.luna.retrieval import Passage

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ0-9\"'(])|\n{2,}")
_WORD = re.compile(r"[a-zäöüß0-9]+")
_CONTENTS_LINE = re.compile(r"(\.\s?){4,}\s*\d+\s*$")
_WARNING = re.compile(
    r"^\W*(warning|caution|danger|important|note|never|do not|don't|achtung|warnung|vorsicht|gefahr|wichtig"
    r"|hinweis|niemals|nie )",
    re.IGNORECASE,
)
STEM = 5
MAX_SENTENCE_CHARS = 400
MAX_UNIT_CHARS = 700
"""A longer paragraph is quoted from its best sentence on, up to this length."""
MIN_UNIT_WORDS = 5


@dataclass(frozen=True)
class Quote:
    n: int  # 1-based number of the passage in the list the caller passed
    sentence: str  # the quoted unit (kept under its old name: callers and memory read it)


def stems(text: str) -> set[str]:
    return {
        word[:STEM]
        for word in _WORD.findall(text.lower())
        if len(word) > 2 and word not in GERMAN and word not in ENGLISH
    }


def sentences(text: str) -> list[str]:
    parts = (" ".join(part.split()) for part in _SENTENCE_END.split(text))
    return [p if len(p) <= MAX_SENTENCE_CHARS else p[:MAX_SENTENCE_CHARS].rsplit(" ", 1)[0] + " …" for p in parts if p]


def units(text: str) -> list[str]:
    """The passage's blocks, one per line, as they may be quoted."""
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def quotable(unit: str) -> bool:
    """Not a heading (a few words, no closing punctuation) and not a contents line."""
    if _CONTENTS_LINE.search(unit):
        return False
    return len(unit.split()) >= MIN_UNIT_WORDS or unit.rstrip().endswith((".", "!", "?", ":"))


def select(
    question: str, passages: list[Passage], max_quotes: int = 3, question_language: str | None = None
) -> list[Quote]:
    """One quote from each of the first ``max_quotes`` passages that answer, in passage order."""
    asked = stems(question)
    language = question_language or detect_language(question)
    quotes: list[Quote] = []
    for n, passage in enumerate(passages, start=1):
        if len(quotes) == max_quotes:
            break
        across = passage.language is not None and passage.language != language
        quote = _best_unit(asked, passage, across)
        if quote:
            quotes.append(Quote(n, quote))
    return quotes


def _best_unit(asked: set[str], passage: Passage, across: bool) -> str | None:
    lines = units(passage.text)
    candidates = [i for i, unit in enumerate(lines) if quotable(unit)]
    if not candidates:
        return None
    heading_overlap = len(asked & stems(passage.heading or ""))
    overlaps = {i: len(asked & stems(lines[i])) for i in candidates}
    best = max(candidates, key=lambda i: (overlaps[i] / len(lines[i].split()) ** 0.3, -i))
    if overlaps[best] == 0:
        if not (across or heading_overlap):
            return None  # a same-language passage that shares nothing with the question
        best = candidates[0]  # the section is about it (its heading, or across languages): its opening
    return _with_context(lines, best, asked)


def _with_context(lines: list[str], best: int, asked: set[str]) -> str:
    """The unit, with the instruction it belongs to and the warnings beside it."""
    start, end = best, best + 1
    if start > 0 and lines[start - 1].rstrip().endswith(":"):
        start -= 1  # the lead-in of a list item or a table
    if _WARNING.match(lines[best]) and start > 0 and start == best:
        start -= 1  # a warning alone says little: quote the instruction it guards
    while end < len(lines) and _WARNING.match(lines[end]):
        end += 1  # the warnings after it stay with it
    parts = [_trimmed(line, asked) if i == best else line for i, line in enumerate(lines[start:end], start=start)]
    return " ".join(parts)


def _trimmed(unit: str, asked: set[str]) -> str:
    """A long paragraph from the sentence that shares most with the question, within the limit."""
    if len(unit) <= MAX_UNIT_CHARS:
        return unit
    parts = sentences(unit)
    first = max(range(len(parts)), key=lambda i: (len(asked & stems(parts[i])), -i))
    picked = ""
    for sentence in parts[first:]:
        if picked and len(picked) + len(sentence) + 1 > MAX_UNIT_CHARS:
            break
        picked = f"{picked} {sentence}".strip()
    return picked


def render(intro: str, quotes: list[Quote]) -> str:
    lines = [intro, *(f"- {quote.sentence} [{quote.n}]" for quote in quotes)]
    return "\n".join(lines)
