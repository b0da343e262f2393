"""The chat model behind Luna's composed answers: Ollama, through its official Python client."""

from __future__ import annotations

import re
from typing import Protocol

import httpx
import ollama
import structlog

log = structlog.get_logger(__name__)

_MARKER = re.compile(r"\[(\d{1,3})\]")


class ChatUnavailable(RuntimeError):
    """The model could not answer (server down, model missing, timeout): answer without it."""


class ChatModel(Protocol):
    def chat(self, messages: list[dict[str, str]]) -> str: ...


class OllamaChat:
    def __init__(self, url: str, model: str, timeout_seconds: float = 60.0):
        self.model = model
        self._client = ollama.Client(host=url, timeout=timeout_seconds)

    def chat(self, messages: list[dict[str, str]]) -> str:
        try:
            # Low temperature: the answer should restate its sources, not improvise on them.
            response = self._client.chat(model=self.model, messages=messages, options={"temperature": 0.2})
        except (ollama.ResponseError, ConnectionError, httpx.HTTPError) as error:
            log.warning("luna.chat_unavailable", model=self.model, error=str(error))
            raise ChatUnavailable(str(error)) from error
        return (response.message.content or "").strip()


def cited(answer: str, passage_count: int) -> list[int]:
    """The passage numbers the answer cites, in order of first citation; numbers that name no
    passage are ignored (a model may invent a [7] for five passages)."""
    seen: list[int] = []
    for match in _MARKER.finditer(answer):
        n = int(match.group(1))
        if 1 <= n <= passage_count and n not in seen:
            seen.append(n)
    return seen
