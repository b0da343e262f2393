"""Chunks that follow the document's structure: a heading starts a new chunk, paragraphs are
packed up to the token budget, an over-long paragraph is split at sentences, then at words, and a
word longer than the budget (a 2 MB run of letters, a line of base64) at characters. A chunk cut
for size repeats the last sentences of the previous one (overlap). Each chunk keeps the page it
starts on (for citations) and the heading it sits under. A chunk's text holds one block (a
paragraph, a list item, a table row) per line, so an answer can quote a whole block.

No chunk ever exceeds ``max_tokens`` as the embedder counts them, however the text is shaped,
and the work stays linear in the text: nothing longer than the budget could possibly fit is
counted whole, and a run of words is counted word by word, then checked once.

Ids are deterministic: sha256(tenant, document sha256, position, content) -> UUID, so processing
an unchanged document again yields the same ids, and a changed chunk gets a new id, so its vector
can enter the index beside the live one before the record switches (see ``pipeline``)."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from luna_core.knowledge import language
from luna_core.knowledge.extract import Block

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"'„“(\[A-ZÄÖÜ0-9])")
MAX_CHARS_PER_TOKEN = 32
"""No tokenizer packs more characters into one token: longer texts are split without a count."""
HEADING_SHARE = 4
"""A heading (embedded with every chunk under it) takes at most 1/4 of the budget."""


@dataclass(frozen=True)
class Chunk:
    position: int
    text: str
    heading: str | None
    page: int | None
    token_count: int
    language: str

    @property
    def embed_text(self) -> str:
        """What the model sees: the heading gives a paragraph its context."""
        return f"{self.heading}\n{self.text}" if self.heading else self.text

    @property
    def content_sha256(self) -> str:
        return hashlib.sha256(self.embed_text.encode()).hexdigest()


def chunk_id(tenant_id: str, document_sha256: str, position: int, content_sha256: str = "") -> uuid.UUID:
    # The tenant is part of the id: two tenants may upload the same file, and ids are global keys.
    digest = hashlib.sha256(f"{tenant_id}:{document_sha256}:{position}:{content_sha256}".encode()).digest()
    return uuid.UUID(bytes=digest[:16])


@dataclass
class _Piece:
    text: str
    page: int | None
    tokens: int
    starts_block: bool = True


class _Counter:
    """The embedder's token count, plus a cheap additive estimate for runs of words: a text's count
    is a fixed overhead (prefix, special tokens) plus each whitespace-separated word's own tokens."""

    def __init__(self, count_tokens: Callable[[str], int], on_progress: Callable[[], None] | None) -> None:
        self.count = count_tokens
        self.overhead = max(count_tokens("") - 1, 0)
        self.on_progress = on_progress or (lambda: None)
        self._words: dict[str, int] = {}
        self._calls = 0

    def __call__(self, text: str) -> int:
        self._calls += 1
        if self._calls % 256 == 0:
            self.on_progress()  # the caller's deadline: a long text is stopped between counts
        return self.count(text)

    def word(self, word: str) -> int:
        cost = self._words.get(word)
        if cost is None:
            cost = self._words[word] = max(self(word) - self.overhead, 1)
        return cost


def chunk_blocks(
    blocks: Iterable[Block],
    count_tokens: Callable[[str], int],
    max_tokens: int,
    overlap_tokens: int,
    on_progress: Callable[[], None] | None = None,
) -> list[Chunk]:
    """``on_progress`` is called every few hundred token counts (a deadline check may raise there)."""
    if max_tokens < 16:
        raise ValueError("max_tokens must be at least 16")
    count = _Counter(count_tokens, on_progress)
    overlap_tokens = min(overlap_tokens, max_tokens // 4)
    chunks: list[Chunk] = []
    heading: str | None = None
    heading_tokens = 0
    current: list[_Piece] = []
    carry: list[_Piece] = []

    def budget() -> int:
        # The heading is embedded with every chunk under it, so it takes part of the budget.
        return max_tokens - heading_tokens

    def used() -> int:
        return sum(piece.tokens for piece in current)

    def flush(keep_overlap: bool) -> None:
        nonlocal current
        if not current:
            return
        while True:
            text = _joined(current)
            if heading is None and len(current) == 1:
                tokens = current[0].tokens  # counted as exactly this text already
            else:
                tokens = count(f"{heading}\n{text}" if heading else text)
            # The pieces' counts add up to at least the whole's for the embedders here; a tokenizer
            # that merges across pieces could still count more: the last pieces wait for the next chunk.
            if tokens <= max_tokens or len(current) == 1:
                break
            carry.insert(0, current.pop())
        if tokens > max_tokens:  # one piece alone: cut it where the count says
            (piece,) = current
            current = []
            for part in _characters(piece.text, count, budget() - 1):
                current = [_Piece(part, piece.page, count(part))]
                flush(keep_overlap=False)
            return
        chunks.append(
            Chunk(
                position=len(chunks),
                text=text,
                heading=heading,
                page=current[0].page,
                token_count=tokens,
                language=language.detect(text),
            )
        )
        tail: list[_Piece] = []
        if keep_overlap and overlap_tokens:
            for piece in reversed(current):
                if sum(p.tokens for p in tail) + piece.tokens > overlap_tokens:
                    break
                tail.insert(0, piece)
            if len(tail) == len(current):
                tail = tail[1:]  # an overlap as long as the chunk would repeat it forever
        current = tail

    def add(piece: _Piece) -> None:
        queue = [piece]
        while queue:
            next_piece = queue.pop(0)
            if current and used() + next_piece.tokens > budget():
                flush(keep_overlap=True)
                if carry:  # pieces the flush left over come first, in their order
                    queue[:0] = [*carry, next_piece]
                    carry.clear()
                    continue
                while current and used() + next_piece.tokens > budget():
                    current.pop(0)
            current.append(next_piece)

    def flush_all() -> None:
        nonlocal current, carry
        flush(keep_overlap=False)
        while carry:  # only after a flush that had to leave pieces over
            current, carry = carry, []
            flush(keep_overlap=False)

    for block in blocks:
        if block.is_heading:
            flush_all()
            heading = _fit(block.text[:300], count, max_tokens // HEADING_SHARE)
            heading_tokens = count(heading)
            continue
        for piece in _pieces(block, count, budget() - 1):
            add(piece)
    flush_all()
    return chunks


def _joined(pieces: list[_Piece]) -> str:
    """One line per block (a paragraph, a list item, a table row): a quoted answer quotes whole
    blocks. Pieces of one block cut for size join with a space."""
    text = pieces[0].text
    for piece in pieces[1:]:
        text += ("\n" if piece.starts_block else " ") + piece.text
    return text


def _fits(text: str, count: _Counter, limit: int) -> int | None:
    """The text's token count if it is within ``limit``, else None (a text far too long is not counted)."""
    if len(text) > limit * MAX_CHARS_PER_TOKEN:
        return None
    tokens = count(text)
    return tokens if tokens <= limit else None


def _fit(text: str, count: _Counter, limit: int) -> str:
    """The longest start of ``text`` (whole words where there are any) within ``limit`` tokens."""
    if _fits(text, count, limit) is not None:
        return text
    words = _word_runs(text, None, count, limit)
    return words[0].text if words else text[:1]


def _pieces(block: Block, count: _Counter, limit: int) -> list[_Piece]:
    """The block whole if it fits, else its sentences, else runs of words, else characters."""
    tokens = _fits(block.text, count, limit)
    if tokens is not None:
        return [_Piece(block.text, block.page, tokens)]
    pieces = []
    for sentence in _SENTENCE_END.split(block.text):
        tokens = _fits(sentence, count, limit)
        if tokens is not None:
            pieces.append(_Piece(sentence, block.page, tokens))
        else:
            pieces += _word_runs(sentence, block.page, count, limit)
    for piece in pieces[1:]:
        piece.starts_block = False
    return pieces


def _word_runs(text: str, page: int | None, count: _Counter, limit: int) -> list[_Piece]:
    """Runs of words within ``limit``, packed by the additive estimate and each checked by a real
    count; a word longer than the limit on its own is cut at characters."""
    pieces: list[_Piece] = []
    run: list[str] = []
    estimate = count.overhead

    def close() -> None:
        nonlocal run, estimate
        pending = run
        while pending:
            end = len(pending)
            while True:
                joined = " ".join(pending[:end])
                tokens = count(joined)
                # The estimate was low for this tokenizer: the last words start the next run.
                if tokens <= limit or end == 1:
                    break
                end -= 1
            pieces.append(_Piece(joined, page, tokens))
            pending = pending[end:]
        run, estimate = [], count.overhead

    for word in text.split():
        cost = count.word(word) if len(word) <= limit * MAX_CHARS_PER_TOKEN else limit + 1
        if cost + count.overhead > limit:
            close()
            pieces += [_Piece(part, page, count(part)) for part in _characters(word, count, limit)]
            continue
        if run and estimate + cost > limit:
            close()
        run.append(word)
        estimate += cost
    close()
    return pieces


def _characters(word: str, count: _Counter, limit: int) -> list[str]:
    """``word`` cut into the longest parts within ``limit`` tokens each. The part length is guessed
    from the characters per token seen so far and corrected from the count, so each part costs a
    few counts of its own length, never one of the whole word."""
    parts: list[str] = []
    start = 0
    guess = limit  # characters; at least one per token for every tokenizer here
    while start < len(word):
        length = min(guess, len(word) - start)
        while True:
            tokens = count(word[start : start + length])
            if tokens <= limit or length == 1:
                break
            length = max(1, min(length - 1, int(length * limit / tokens * 0.95)))
        if tokens <= limit * 0.9 and start + length < len(word):
            # Room left: grow towards the limit at the rate just seen (at most a few steps).
            for _ in range(4):
                longer = min(len(word) - start, int(length * limit / max(tokens, 1) * 0.97))
                if longer <= length:
                    break
                longer_tokens = count(word[start : start + longer])
                if longer_tokens > limit:
                    break
                length, tokens = longer, longer_tokens
        parts.append(word[start : start + length])
        start += length
        guess = length
    return parts
