"""Asking Luna: one question of one user, answered inside that user's tenant scope, remembered in
the session and measured (retrieval telemetry). The API's ``POST /rag/ask`` is a thin shell on
``ask``; run it inside ``tenant_scope`` of ``tenant_id``.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import structlog
from sqlalchemy import Connection

from luna_core.energy.queries import list_meters
from luna_core.luna import context, memory
from luna_core.luna.answer import Composed, compose, relevant
from luna_core.luna.data import DataAnswer, answer_intent, tenant_info
from luna_core.luna.feedback import record_telemetry
from luna_core.luna.intents import Intent, route
from luna_core.luna.language import detect_language
from luna_core.luna.llm import ChatModel
from luna_core.luna.retrieval import Passage, Retriever
from luna_core.settings import Settings

log = structlog.get_logger(__name__)


class SessionNotFound(LookupError):
    """No such session for this user (another user's or tenant's sessions do not exist for them)."""


@dataclass(frozen=True)
class AskOptions:
    top_k: int = 5
    min_score: float = 0.82
    history_turns: int = 6

    @classmethod
    def from_settings(cls, settings: Settings) -> AskOptions:
        return cls(settings.answer_top_k, settings.answer_min_score, settings.chat_history_turns)


@dataclass(frozen=True)
class Asked:
    answer_id: uuid.UUID
    session_id: uuid.UUID
    answer: Composed
    intent: Intent | None
    hit_count: int
    top_score: float | None
    no_hit: bool


def ask(
    connection: Connection,
    tenant_id: str,
    user_id: str,
    question: str,
    *,
    retriever: Retriever,
    session_id: uuid.UUID | None = None,
    chat: ChatModel | None = None,
    options: AskOptions | None = None,
    now: datetime | None = None,
) -> Asked:
    options = options or AskOptions()
    now = now or datetime.now(UTC)
    if session_id is None:
        session_id = memory.create_session(connection, tenant_id, user_id, question)
        earlier: list[memory.Message] = []
    else:
        if memory.get_session(connection, tenant_id, user_id, session_id) is None:
            raise SessionNotFound("chat session not found")
        earlier = memory.messages(connection, tenant_id, session_id)
    # A question without telling words ("ok, und morgen?") keeps the conversation's language.
    previous = next((m.language for m in reversed(earlier) if m.language in ("de", "en")), "en")
    language = detect_language(question, default=previous)  # type: ignore[arg-type]

    tenant = tenant_info(connection, tenant_id)
    intent = route(question)
    data: DataAnswer | None = answer_intent(connection, tenant, intent, language, now) if intent else None
    hits = _search(retriever, tenant_id, question, options.top_k)
    passages = relevant(hits, options.min_score)
    history = memory.history(earlier, options.history_turns, language)

    chat_messages = None
    if chat is not None and passages:
        meters = [context.MeterInfo(m.meter_id, m.kind, m.max_kw) for m in list_meters(connection, tenant_id)]
        system = context.system_prompt(
            tenant, meters, language, now.astimezone(tenant.tz).date(), passages, data, history.summary
        )
        chat_messages = context.messages(system, history, question)
    answer = compose(question, language, passages, data, chat, chat_messages)

    memory.add_message(connection, tenant_id, session_id, "user", question, language=language)
    answer_id = memory.add_message(
        connection,
        tenant_id,
        session_id,
        "assistant",
        answer.text,
        mode=answer.mode,
        language=answer.language,
        prompt_version=answer.prompt_version,
        citations=[asdict(c) for c in answer.citations],
        data=[asdict(d) for d in answer.data],
    )
    memory.store_summary(connection, session_id, history.summary)
    top_score = max((h.score for h in hits), default=None)
    no_hit = not passages
    record_telemetry(
        connection,
        tenant_id=tenant_id,
        answer_id=answer_id,
        user_id=user_id,
        question=question,
        language=language,
        intent=intent.name if intent else None,
        mode=answer.mode,
        hit_count=len(hits),
        top_score=top_score,
        no_hit=no_hit,
        prompt_version=answer.prompt_version,
    )
    return Asked(answer_id, session_id, answer, intent, len(hits), top_score, no_hit)


def _search(retriever: Retriever, tenant_id: str, question: str, k: int) -> list[Passage]:
    try:
        return list(retriever.search(tenant_id, question, k))
    except Exception:  # the search backend failing must not take the answer (or the data) down with it
        log.exception("luna.retriever_failed", tenant=tenant_id)
        return []
