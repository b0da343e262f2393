"""Hybrid search: dense vectors (multilingual, so a German question finds an English passage and
back) plus Okapi BM25 over PostgreSQL's stemmed full text (german/english per chunk), fused by
score mixing on one fixed candidate pool.

Every candidate's score is its dense cosine, plus ``CROSS_LANGUAGE_BOOST`` for passages in the
other language (e5 scores a same-language pair a few hundredths above an equally relevant
cross-language pair), plus ``LEXICAL_WEIGHT`` times its BM25 coverage: the BM25 score divided by
the most all of the question's lexemes could score, so in [0, 1] and comparable across queries. Why not
plain reciprocal-rank fusion: the lexical list can only hold passages in the question's language,
so RRF lifts same-language passages that share a word with the question above the right passage
in the other language; measured in docs/benchmarks.md (bench/retrieval_quality.py).

The pool is fixed (``CANDIDATES`` dense plus ``CANDIDATES`` lexical, whatever ``k``): a hit's
score never depends on how many hits were asked for, so the top 5 of k=5 is the top 5 of k=50.
Candidates found only lexically get their cosine from the recorded embedding, so ``threshold``
means the same for every query.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, Engine, text

from luna_core.db.tenancy import tenant_scope, validate_tenant_id
from luna_core.knowledge import language
from luna_core.knowledge.errors import IndexUnavailable
from luna_core.knowledge.service import Knowledge, knowledge_for
from luna_core.settings import Settings

CROSS_LANGUAGE_BOOST = 0.03
"""Added to the cosine of passages not in the question's language (e5's same-language lean)."""
log = logging.getLogger(__name__)
LEXICAL_WEIGHT = 0.08
"""Times a candidate's BM25 coverage in [0, 1] (lexical hits are in the question's language)."""
BM25_K1 = 1.2
BM25_B = 0.75
CANDIDATES = 50
"""Dense and lexical candidates each, for every query: the API's largest k."""
SNIPPET_CHARS = 240
MAX_QUERY_CHARS = 2000


@dataclass(frozen=True)
class SearchHit:
    chunk_id: str
    document_id: str
    title: str
    page: int | None
    heading: str | None
    text: str
    snippet: str
    score: float
    language: str
    highlights: tuple[tuple[int, int], ...] = ()
    """(start, end) character offsets in ``snippet`` of the words the query shares (by stem)."""


# Okapi BM25 over the chunks of one tenant and language, from the stored tsvector (stemmed per the
# chunk's language, stop words gone). A chunk holds a query lexeme exactly when it matches that
# lexeme, and every such chunk matches the OR of them, so the document frequencies counted over the
# matches are exact; chunk length is the chunker's token count (only its ratio to the mean counts).
# ``coverage`` divides by the most the query's lexemes could score (one the tenant never wrote counts
# with the idf of a lexeme in no chunk), so it lies in [0, 1] and means the same for every query: a
# question whose only known word is a common one gets little, and there is no normalisation by the
# best hit of the moment.
_LEXICAL_SQL = text(
    """
    WITH q AS (
        SELECT CAST(replace(plainto_tsquery(CAST(:config AS regconfig), :query)::text, ' & ', ' | ') AS tsquery)
                   AS query,
               tsvector_to_array(to_tsvector(CAST(:config AS regconfig), :query)) AS lexemes
    ),
    corpus AS (
        SELECT count(*) AS n, greatest(avg(token_count), 1) AS avgdl
        FROM document_chunks WHERE tenant_id = :tenant AND language = :language
    ),
    matched AS (
        SELECT c.id, c.token_count AS dl, u.lexeme, coalesce(array_length(u.positions, 1), 1) AS tf
        FROM document_chunks c, q, unnest(c.tsv) AS u(lexeme, positions, weights)
        WHERE c.tenant_id = :tenant AND c.language = :language AND c.tsv @@ q.query AND u.lexeme = ANY(q.lexemes)
    ),
    idf AS (
        SELECT lexeme, ln(1 + (corpus.n - count(*) + 0.5) / (count(*) + 0.5)) AS idf
        FROM matched, corpus GROUP BY lexeme, corpus.n
    ),
    scored AS (
        SELECT m.id,
               sum(idf.idf * m.tf * (:k1 + 1) / (m.tf + :k1 * (1 - :b + :b * m.dl / corpus.avgdl))) AS bm25
        FROM matched m JOIN idf USING (lexeme), corpus
        GROUP BY m.id
    )
    SELECT scored.id, scored.bm25,
           scored.bm25 / ((SELECT sum(idf) FROM idf)
                          + (cardinality(q.lexemes) - (SELECT count(*) FROM idf)) * ln(1 + (corpus.n + 0.5) / 0.5))
                        / (:k1 + 1) AS coverage
    FROM scored, q, corpus
    ORDER BY scored.bm25 DESC, scored.id
    LIMIT :limit
    """
)
_VECTORS_SQL = text(
    """
    SELECT c.id, e.vector
    FROM document_chunks c
    JOIN chunk_embeddings e
      ON e.tenant_id = c.tenant_id AND e.model = c.embedding_model AND e.content_sha256 = c.content_sha256
    WHERE c.tenant_id = :tenant AND c.id = ANY(:ids) AND c.embedding_model = :model
    """
)
_ALL_VECTORS_SQL = text(
    """
    SELECT c.id, e.vector
    FROM document_chunks c
    JOIN chunk_embeddings e
      ON e.tenant_id = c.tenant_id AND e.model = c.embedding_model AND e.content_sha256 = c.content_sha256
    WHERE c.tenant_id = :tenant AND c.embedding_model = :model
    """
)
_LANGUAGES_SQL = text("SELECT id, language FROM document_chunks WHERE tenant_id = :tenant AND id = ANY(:ids)")
_DETAILS_SQL = text(
    """
    SELECT c.id, c.document_id, coalesce(d.title, d.filename) AS title, c.page, c.heading, c.text, c.language
    FROM document_chunks c JOIN documents d ON d.id = c.document_id AND d.tenant_id = c.tenant_id
    WHERE c.tenant_id = :tenant AND c.id = ANY(:ids) AND d.status <> 'failed'
    """
)


@contextmanager
def _scope(source: Engine | Connection, tenant_id: str) -> Iterator[Connection]:
    if isinstance(source, Connection):
        yield source  # the caller's tenant transaction (the API's Ctx.db)
    else:
        with tenant_scope(source, tenant_id) as connection:
            yield connection


def hybrid_search(
    engine_or_conn: Engine | Connection,
    knowledge: Knowledge | Settings,
    tenant_id: str,
    query: str,
    k: int = 5,
    threshold: float | None = None,
) -> list[SearchHit]:
    """The tenant's ``k`` best passages for ``query``, best first; hits scoring below ``threshold``
    are left out. A Connection must be a transaction of ``tenant_id``'s scope."""
    validate_tenant_id(tenant_id)
    if isinstance(knowledge, Settings):
        knowledge = knowledge_for(knowledge)
    query = " ".join(query.split())[:MAX_QUERY_CHARS]
    if not query or k < 1:
        return []
    query_language = language.detect(query)
    vector = knowledge.embedder.embed_query(query)
    limit = CANDIDATES  # never k-dependent: see the module's docstring
    with _scope(engine_or_conn, tenant_id) as connection:
        try:
            dense = dict(knowledge.index.search(tenant_id, vector, limit))
        except IndexUnavailable:
            # The record holds every embedding: answer exactly from it until the index is back.
            log.warning("vector index unavailable: searching tenant %s from the record", tenant_id)
            dense = _dense_from_record(connection, knowledge, tenant_id, vector, limit)
        lexical = _lexical(connection, tenant_id, query, query_language, limit)
        only_lexical = [chunk for chunk in lexical if chunk not in dense]
        dense.update(_recorded_scores(connection, knowledge, tenant_id, only_lexical, vector))
        languages = _languages(connection, tenant_id, list(dense))
        scores = fuse(dense, lexical, languages, query_language)
        ranked = sorted(scores.items(), key=lambda item: (-item[1], str(item[0])))
        if threshold is not None:
            ranked = [(chunk, score) for chunk, score in ranked if score >= threshold]
        details = _details(connection, tenant_id, [chunk for chunk, _ in ranked[: k + 10]])
    hits = []
    for chunk, score in ranked:
        row = details.get(chunk)
        if row is None:  # deleted since it was indexed: the record decides
            continue
        excerpt = snippet(row.text, query)
        hits.append(
            SearchHit(
                chunk_id=str(row.id),
                document_id=str(row.document_id),
                title=row.title,
                page=row.page,
                heading=row.heading,
                text=row.text,
                snippet=excerpt,
                score=round(float(score), 6),
                language=row.language,
                highlights=highlights(excerpt, query),
            )
        )
        if len(hits) == k:
            break
    return hits


def fuse(
    dense: dict[uuid.UUID, float],
    lexical: dict[uuid.UUID, float],
    languages: dict[uuid.UUID, str],
    query_language: str,
) -> dict[uuid.UUID, float]:
    """Dense cosine, raised for passages in the other language, plus the weighted BM25 coverage
    of lexical hits (``lexical`` maps a chunk to its coverage in [0, 1])."""
    scores = {
        chunk: score + (CROSS_LANGUAGE_BOOST if languages.get(chunk, query_language) != query_language else 0.0)
        for chunk, score in dense.items()
    }
    for chunk, coverage in lexical.items():
        if chunk in scores:
            scores[chunk] += LEXICAL_WEIGHT * coverage
    return scores


def _languages(connection: Connection, tenant_id: str, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = connection.execute(_LANGUAGES_SQL, {"tenant": tenant_id, "ids": ids})
    return {row.id: row.language for row in rows}


def _lexical(
    connection: Connection, tenant_id: str, query: str, query_language: str, limit: int
) -> dict[uuid.UUID, float]:
    """The ``limit`` best BM25 chunks in the question's language, best first, each with its coverage."""
    rows = connection.execute(
        _LEXICAL_SQL,
        {
            "config": language.TS_CONFIG.get(query_language, "simple"),
            "query": query,
            "tenant": tenant_id,
            "language": query_language,
            "limit": limit,
            "k1": BM25_K1,
            "b": BM25_B,
        },
    )
    return {row.id: float(row.coverage) for row in rows}


def _recorded_scores(
    connection: Connection, knowledge: Knowledge, tenant_id: str, ids: list[uuid.UUID], vector: np.ndarray
) -> dict[uuid.UUID, float]:
    if not ids:
        return {}
    rows = connection.execute(_VECTORS_SQL, {"tenant": tenant_id, "ids": ids, "model": knowledge.embedder.model}).all()
    return {row.id: float(np.asarray(row.vector, dtype=np.float32) @ vector) for row in rows}


def _dense_from_record(
    connection: Connection, knowledge: Knowledge, tenant_id: str, vector: np.ndarray, limit: int
) -> dict[uuid.UUID, float]:
    rows = connection.execute(_ALL_VECTORS_SQL, {"tenant": tenant_id, "model": knowledge.embedder.model}).all()
    if not rows:
        return {}
    matrix = np.asarray([row.vector for row in rows], dtype=np.float32)
    scores = matrix @ vector
    best = np.argsort(-scores)[:limit]
    return {rows[i].id: float(scores[i]) for i in best}


def _details(connection: Connection, tenant_id: str, ids: list[uuid.UUID]) -> dict:
    if not ids:
        return {}
    return {row.id: row for row in connection.execute(_DETAILS_SQL, {"tenant": tenant_id, "ids": ids})}


_WORD = re.compile(r"\w{3,}", re.UNICODE)
_SENTENCES = re.compile(r"(?<=[.!?])\s+")


def snippet(passage: str, query: str, length: int = SNIPPET_CHARS) -> str:
    """The passage's sentences that share most words (by 5-letter stem) with the query."""
    stems = {word[:5].lower() for word in _WORD.findall(query)}
    sentences = _SENTENCES.split(passage)
    if len(passage) <= length or not sentences:
        return passage
    scores = [len(stems & {w[:5].lower() for w in _WORD.findall(s)}) for s in sentences]
    best = max(range(len(sentences)), key=lambda i: (scores[i], -i))
    picked = ""
    for sentence in sentences[best:]:
        if picked and len(picked) + len(sentence) + 1 > length:
            break
        picked = f"{picked} {sentence}".strip()
    if len(picked) > length:
        picked = picked[: length - 1].rsplit(" ", 1)[0] + "…"
    return picked


def highlights(excerpt: str, query: str) -> tuple[tuple[int, int], ...]:
    """Where ``excerpt`` holds the query's words (same 5-letter stem, 3 letters or more): offsets a
    client marks up itself, so no markup is ever mixed into the passage's text."""
    stems = {word[:5].lower() for word in _WORD.findall(query)}
    return tuple((m.start(), m.end()) for m in _WORD.finditer(excerpt) if m.group()[:5].lower() in stems)
