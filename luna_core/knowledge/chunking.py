"""Chunks that follow the document's structure: a heading starts a new chunk, paragraphs are
packed up to the token budget, an over-long paragraph is split at sentences (then words), and a
chunk cut for size repeats the last sentences of the previous one (overlap). Each chunk keeps the
page it starts on (for citations) and the heading it sits under.

Ids are deterministic: sha256(tenant, document sha256, position) -> UUID, so re-processing an
unchanged document yields the same ids, and the content hash finds its cached embedding."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from luna_core.knowledge import language
from luna_core.knowledge.extract import Block

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"'„“(\[A-ZÄÖÜ0-9])")


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


def chunk_id(tenant_id: str, document_sha256: str, position: int) -> uuid.UUID:
    # The tenant is part of the id: two tenants may upload the same file, and ids are global keys.
    digest = hashlib.sha256(f"{tenant_id}:{document_sha256}:{position}".encode()).digest()
    return uuid.UUID(bytes=digest[:16])


@dataclass
class _Piece:
    text: str
    page: int | None
    tokens: int


def chunk_blocks(
    blocks: Iterable[Block],
    count_tokens: Callable[[str], int],
    max_tokens: int,
    overlap_tokens: int,
) -> list[Chunk]:
    if max_tokens < 16:
        raise ValueError("max_tokens must be at least 16")
    overlap_tokens = min(overlap_tokens, max_tokens // 4)
    chunks: list[Chunk] = []
    heading: str | None = None
    current: list[_Piece] = []

    def budget() -> int:
        # The heading is embedded with every chunk under it, so it takes part of the budget.
        return max_tokens - (count_tokens(heading) if heading else 0)

    def used() -> int:
        return sum(piece.tokens for piece in current)

    def flush(keep_overlap: bool) -> None:
        nonlocal current
        if not current:
            return
        text = " ".join(piece.text for piece in current)
        chunks.append(
            Chunk(
                position=len(chunks),
                text=text,
                heading=heading,
                page=current[0].page,
                token_count=count_tokens(f"{heading}\n{text}" if heading else text),
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

    for block in blocks:
        if block.is_heading:
            flush(keep_overlap=False)
            heading = block.text[:300]
            continue
        for piece in _pieces(block, count_tokens, max(budget() - 1, 8)):
            if current and used() + piece.tokens > budget():
                flush(keep_overlap=True)
                while current and used() + piece.tokens > budget():
                    current.pop(0)
            current.append(piece)
    flush(keep_overlap=False)
    return chunks


def _pieces(block: Block, count_tokens: Callable[[str], int], limit: int) -> list[_Piece]:
    """The block whole if it fits, else its sentences, else word runs that fit."""
    tokens = count_tokens(block.text)
    if tokens <= limit:
        return [_Piece(block.text, block.page, tokens)]
    pieces = []
    for sentence in _SENTENCE_END.split(block.text):
        sentence_tokens = count_tokens(sentence)
        if sentence_tokens <= limit:
            pieces.append(_Piece(sentence, block.page, sentence_tokens))
            continue
        words: list[str] = []
        for word in sentence.split():
            candidate = " ".join([*words, word])
            if words and count_tokens(candidate) > limit:
                text = " ".join(words)
                pieces.append(_Piece(text, block.page, count_tokens(text)))
                words = [word]
            else:
                words.append(word)
        if words:
            text = " ".join(words)
            pieces.append(_Piece(text, block.page, count_tokens(text)))
    return pieces
