"""Chunking cost against the least any chunker must spend: one pass of the model's tokenizer over
the same text (measured in the same run). Shapes: ordinary prose, one 2 MB "word" (the upload that
once became a single 419,436-token chunk and took eight minutes), 2 MB of words without punctuation.
Every chunk is checked against the budget with the model's own count.

    python bench/chunking.py [--mb 2]

Last line: ``chunking_vs_one_token_pass=<worst ratio>``."""

from __future__ import annotations

import argparse
import random
import time

from luna_core.knowledge.chunking import chunk_blocks
from luna_core.knowledge.embeddings import E5Embedder
from luna_core.knowledge.extract import Block

BUDGET = 388  # LUNA_CHUNK_TOKENS=400 would be capped here for e5: 512 - 12, minus its heading share


def shapes(size: int) -> dict[str, list[Block]]:
    rng = random.Random(7)
    words = ["Wärmepumpe", "Netzentgelt", "Spitzenlast", "Arbeitspreis", "battery", "tariff", "peak", "kWh"]
    prose = []
    while sum(len(p) for p in prose) < size:
        sentences = " ".join(f"{rng.choice(words)} {n} kostet {rng.randint(1, 99)} ct." for n in range(8))
        prose.append(sentences)
    run = " ".join(rng.choice(words) for _ in range(size // 8))
    return {
        "prose": [Block(p) for p in prose],
        "one_word": [Block(("Energiemanagement" * (size // 17 + 1))[:size])],
        "no_punctuation": [Block(run[:size])],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=2.0, help="size of each text in MB")
    args = parser.parse_args()
    embedder = E5Embedder()
    embedder.count_tokens("warm up")
    worst = 0.0
    for name, blocks in shapes(int(args.mb * 1_000_000)).items():
        started = time.perf_counter()
        for block in blocks:  # the baseline: every character through the tokenizer once
            embedder.count_tokens(block.text)
        baseline = time.perf_counter() - started
        started = time.perf_counter()
        chunks = chunk_blocks(blocks, embedder.count_tokens, BUDGET, 60)
        took = time.perf_counter() - started
        largest = max(embedder.count_tokens(c.embed_text) for c in chunks)
        assert largest <= BUDGET, f"{name}: a chunk of {largest} tokens"
        ratio = took / baseline
        worst = max(worst, ratio)
        print(f"{name:15} {len(chunks):6} chunks, largest {largest} tokens; chunking {took:6.1f} s, "
              f"one token pass {baseline:5.1f} s: x{ratio:.2f}")  # fmt: skip
    print(f"chunking_vs_one_token_pass={worst:.2f}")


if __name__ == "__main__":
    main()
