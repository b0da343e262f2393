"""Stand-ins for what cannot run here, for Luna's tests.

``FixedPassagesRetriever`` is a test double of our own ``luna_core.luna.Retriever`` interface over
a fixed passage list per tenant (the real hybrid search lives in the knowledge package; the
integrator adds end-to-end tests with it). ``OllamaStandIn`` is a small HTTP server that speaks
Ollama's ``/api/chat`` (and ``/api/version``, ``/api/tags``) as the official ``ollama`` client expects it, so the
real client is tested over real HTTP: no Ollama binary exists in any registry.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from luna_core.luna.extractive import stems
from luna_core.luna.retrieval import Passage


def passage(tenant: str, n: int, title: str, text: str, page: int | None = 1, language: str = "en") -> Passage:
    return Passage(
        chunk_id=f"{tenant}-chunk-{n}",
        document_id=f"{tenant}-doc-{n}",
        title=title,
        page=page,
        heading=None,
        text=text,
        snippet=text[:120],
        score=0.0,
        language=language,
    )


class FixedPassagesRetriever:
    """Test double of ``Retriever``: ranks a tenant's fixed passages by the share of the query's
    word stems they contain, put on the real search's cosine-like scale (0.775 + 0.225 x share), so
    the production threshold (0.82, a share of 0.2) applies. Only the asked tenant's passages are
    ever considered, as the protocol requires of a real retriever."""

    def __init__(self, passages: dict[str, list[Passage]]):
        self.passages = passages
        self.calls: list[tuple[str, str, int]] = []

    def search(self, tenant_id: str, query: str, k: int) -> list[Passage]:
        self.calls.append((tenant_id, query, k))
        asked = stems(query)
        scored = []
        for found in self.passages.get(tenant_id, []):
            overlap = len(asked & stems(found.title + " " + found.text))
            if asked and overlap:
                scored.append(Passage(**{**found.__dict__, "score": 0.775 + 0.225 * overlap / len(asked)}))
        return sorted(scored, key=lambda p: -p.score)[:k]


Reply = Callable[[dict[str, Any]], str]


class OllamaStandIn:
    """Ollama's chat API on a free local port: records each request body and answers with
    ``reply(request)``; ``GET /api/tags`` lists ``models`` as pulled (tagged names, as Ollama shows
    them). Unknown models get Ollama's 404 ``{"error": "model ... not found"}``; ``stream: true``
    gets newline-delimited JSON chunks like the real server."""

    def __init__(self, reply: Reply, models: tuple[str, ...] = ("llama3.1:8b",)):
        self.reply = reply
        self.models = models
        self.requests: list[dict[str, Any]] = []
        self.gets: list[str] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                stand_in.gets.append(self.path)
                if self.path == "/api/version":
                    self._json(200, {"version": "0.6.0"})
                elif self.path == "/api/tags":
                    self._json(200, {"models": [_tag(name) for name in stand_in.models]})
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if self.path != "/api/chat":
                    self._json(404, {"error": "not found"})
                    return
                stand_in.requests.append(body)
                if body.get("model") not in stand_in.models:
                    self._json(404, {"error": f'model "{body.get("model")}" not found, try pulling it first'})
                    return
                content = stand_in.reply(body)
                if body.get("stream", True):
                    self._stream(body["model"], content)
                else:
                    self._json(200, _chat_response(body["model"], content, done=True))

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, model: str, content: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.end_headers()
                words = content.split(" ")
                for i, word in enumerate(words):
                    piece = word + (" " if i < len(words) - 1 else "")
                    self.wfile.write(json.dumps(_chat_response(model, piece, done=False)).encode() + b"\n")
                self.wfile.write(json.dumps(_chat_response(model, "", done=True)).encode() + b"\n")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> OllamaStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _chat_response(model: str, content: str, done: bool) -> dict[str, Any]:
    response: dict[str, Any] = {
        "model": model,
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "message": {"role": "assistant", "content": content},
        "done": done,
    }
    if done:
        response |= {
            "done_reason": "stop",
            "total_duration": 1_200_000_000,
            "load_duration": 50_000_000,
            "prompt_eval_count": 400,
            "prompt_eval_duration": 300_000_000,
            "eval_count": 60,
            "eval_duration": 800_000_000,
        }
    return response


def _tag(name: str) -> dict[str, Any]:
    """One entry of Ollama's ``GET /api/tags``: the name always carries its tag (``:latest`` when none)."""
    tagged = name if ":" in name else f"{name}:latest"
    return {
        "name": tagged,
        "model": tagged,
        "modified_at": "2026-11-30T09:12:44.123456789Z",
        "size": 274302450,
        "digest": "0a109f422b47e3a30ba2b10eca18548e944e8a23073ee3f3e947efcf3c45e59f",
        "details": {"format": "gguf", "family": "nomic-bert", "parameter_size": "137M", "quantization_level": "F16"},
    }
