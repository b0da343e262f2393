"""Chat memory per user and session, in PostgreSQL.

A session belongs to one user of one tenant: row-level security keeps other tenants out, and every
query here also names the user, so a colleague in the same tenant cannot read it either. The model
sees the last N turns verbatim and the turns before them as a short extractive summary.
Run inside ``tenant_scope``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from luna_core.db.schema import chat_messages, chat_sessions
from luna_core.luna.extractive import sentences
from luna_core.luna.language import Language
from luna_core.luna.prompts import phrase

TITLE_CHARS = 80
SUMMARY_QUESTION_CHARS = 160
SUMMARY_ANSWER_CHARS = 200


@dataclass(frozen=True)
class Message:
    id: uuid.UUID
    role: str
    content: str
    created_at: datetime
    mode: str | None = None
    language: str | None = None
    prompt_version: str | None = None
    citations: list[dict[str, Any]] = field(default_factory=list)
    data: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Session:
    id: uuid.UUID
    title: str
    summary: str | None
    created_at: datetime
    updated_at: datetime


def create_session(connection: Connection, tenant_id: str, user_id: str, first_question: str) -> uuid.UUID:
    title = " ".join(first_question.split())[:TITLE_CHARS] or "…"
    return connection.execute(
        chat_sessions.insert().values(tenant_id=tenant_id, user_id=user_id, title=title).returning(chat_sessions.c.id)
    ).scalar_one()


def get_session(connection: Connection, tenant_id: str, user_id: str, session_id: uuid.UUID) -> Session | None:
    """The session if it is this user's, else None (also for another user's: the caller answers 404)."""
    row = connection.execute(
        select(chat_sessions).where(
            chat_sessions.c.id == session_id,
            chat_sessions.c.tenant_id == tenant_id,
            chat_sessions.c.user_id == user_id,
        )
    ).first()
    return Session(row.id, row.title, row.summary, row.created_at, row.updated_at) if row else None


def list_sessions(connection: Connection, tenant_id: str, user_id: str, limit: int, offset: int) -> list[Session]:
    rows = connection.execute(
        select(chat_sessions)
        .where(chat_sessions.c.tenant_id == tenant_id, chat_sessions.c.user_id == user_id)
        .order_by(chat_sessions.c.updated_at.desc(), chat_sessions.c.id)
        .limit(limit)
        .offset(offset)
    )
    return [Session(r.id, r.title, r.summary, r.created_at, r.updated_at) for r in rows]


def add_message(
    connection: Connection, tenant_id: str, session_id: uuid.UUID, role: str, content: str, **meta: Any
) -> uuid.UUID:
    message_id = connection.execute(
        chat_messages.insert()
        .values(tenant_id=tenant_id, session_id=session_id, role=role, content=content, **meta)
        .returning(chat_messages.c.id)
    ).scalar_one()
    connection.execute(update(chat_sessions).where(chat_sessions.c.id == session_id).values(updated_at=func.now()))
    return message_id


def messages(connection: Connection, tenant_id: str, session_id: uuid.UUID) -> list[Message]:
    rows = connection.execute(
        select(chat_messages)
        .where(chat_messages.c.tenant_id == tenant_id, chat_messages.c.session_id == session_id)
        .order_by(chat_messages.c.created_at, chat_messages.c.id)
    )
    return [
        Message(
            r.id, r.role, r.content, r.created_at, r.mode, r.language, r.prompt_version, r.citations or [], r.data or []
        )
        for r in rows
    ]


@dataclass(frozen=True)
class History:
    recent: list[Message]  # the last turns, verbatim
    summary: str | None  # the turns before them, summarised


def history(earlier: list[Message], turns: int, language: Language) -> History:
    """Splits a session's messages into the last ``turns`` turns and a summary of the rest."""
    starts = [i for i, m in enumerate(earlier) if m.role == "user"]
    if turns == 0:
        cut = len(earlier)
    elif len(starts) > turns:
        cut = starts[-turns]
    else:
        cut = 0
    older, recent = earlier[:cut], earlier[cut:]
    return History(recent, summarise(older, language) if older else None)


def summarise(older: list[Message], language: Language) -> str:
    """One line per turn: the question, and the first sentence of the answer (extractive, no model)."""
    lines = []
    question = ""
    for message in older:
        if message.role == "user":
            question = _clip(message.content, SUMMARY_QUESTION_CHARS)
        else:
            first = next(iter(sentences(message.content)), "")
            answer = _clip(first, SUMMARY_ANSWER_CHARS)
            lines.append("- " + phrase(language, "summary.turn", question=question, answer=answer))
    return "\n".join(lines)


def store_summary(connection: Connection, session_id: uuid.UUID, summary: str | None) -> None:
    connection.execute(update(chat_sessions).where(chat_sessions.c.id == session_id).values(summary=summary))


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"
