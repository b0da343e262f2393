"""What tells us Luna's documents are not serving a tenant: thumbs down on document answers and
questions that found no good passage. Enough of them within a window, and the tenant's documents
are queued for reindexing (outbox kind ``reindex_documents``; the knowledge sensor runs it).

Data answers are left out of the count: a thumbs down on "you used 412 kWh" is not the index's fault.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select
from sqlalchemy.dialects.postgresql import insert

from luna_core import outbox
from luna_core.db.schema import chat_messages, chat_sessions, feedback, retrieval_telemetry
from luna_core.db.tenancy import tenant_scope

REINDEX_KIND = "reindex_documents"
REQUESTED_BY = "luna-feedback-sensor"


def record_telemetry(connection: Connection, **values: Any) -> None:
    connection.execute(retrieval_telemetry.insert().values(**values))


def submit(
    connection: Connection, tenant_id: str, user_id: str, answer_id: uuid.UUID, rating: str, comment: str | None
) -> int | None:
    """Stores (or replaces) this user's rating of one of their own answers; None if the answer is
    not theirs. One rating per user and answer, so repeated clicks do not multiply a signal."""
    own = connection.execute(
        select(chat_messages.c.id)
        .join(chat_sessions, chat_sessions.c.id == chat_messages.c.session_id)
        .where(
            chat_messages.c.id == answer_id,
            chat_messages.c.role == "assistant",
            chat_messages.c.tenant_id == tenant_id,
            chat_sessions.c.user_id == user_id,
        )
    ).first()
    if own is None:
        return None
    statement = insert(feedback).values(
        tenant_id=tenant_id, answer_id=answer_id, user_id=user_id, rating=rating, comment=comment
    )
    return connection.execute(
        statement.on_conflict_do_update(
            constraint="feedback_once_per_user",
            set_={"rating": statement.excluded.rating, "comment": statement.excluded.comment, "updated_at": func.now()},
        ).returning(feedback.c.id)
    ).scalar_one()


@dataclass(frozen=True)
class Signals:
    since: datetime
    negative_feedback: int
    no_hit_questions: int

    @property
    def total(self) -> int:
        return self.negative_feedback + self.no_hit_questions


def last_reindex_request(connection: Connection, tenant_id: str) -> Any | None:
    return next(iter(outbox.recent(connection, tenant_id, REINDEX_KIND, 1)), None)


def signals(connection: Connection, tenant_id: str, now: datetime, window: timedelta) -> Signals:
    """Negative signals in the window, counted only after the last reindex request: a reindex
    answers the signals before it."""
    since = now - window
    last = last_reindex_request(connection, tenant_id)
    if last is not None and last.created_at > since:
        since = last.created_at
    negative = connection.execute(
        select(func.count())
        .select_from(feedback.join(chat_messages, chat_messages.c.id == feedback.c.answer_id))
        .where(
            feedback.c.tenant_id == tenant_id,
            feedback.c.rating == "down",
            feedback.c.updated_at > since,
            chat_messages.c.mode != "data",
        )
    ).scalar_one()
    no_hit = connection.execute(
        select(func.count())
        .select_from(retrieval_telemetry)
        .where(
            retrieval_telemetry.c.tenant_id == tenant_id,
            retrieval_telemetry.c.no_hit,
            retrieval_telemetry.c.intent.is_(None),
            retrieval_telemetry.c.created_at > since,
        )
    ).scalar_one()
    return Signals(since, negative, no_hit)


def request_reindex_if_needed(
    engine: Engine, tenant_id: str, threshold: int, window: timedelta, now: datetime
) -> int | None:
    """Queues a reindex of the tenant's documents when its signals reach ``threshold``; returns the
    request id, or None (below the threshold, or a reindex is already pending or running)."""
    with tenant_scope(engine, tenant_id) as connection:
        last = last_reindex_request(connection, tenant_id)
        if last is not None and last.status in ("pending", "running"):
            return None
        found = signals(connection, tenant_id, now, window)
        if found.total < threshold:
            return None
        return outbox.enqueue(
            connection,
            tenant_id,
            REINDEX_KIND,
            {
                "reason": "feedback",
                "negative_feedback": found.negative_feedback,
                "no_hit_questions": found.no_hit_questions,
                "threshold": threshold,
                "since": found.since.isoformat(),
            },
            requested_by=REQUESTED_BY,
        )


def negative_feedback(connection: Connection, tenant_id: str, limit: int) -> list[Any]:
    """Recent thumbs down, newest first, with the question and the answer they were about."""
    return list(
        connection.execute(
            select(
                feedback.c.id,
                feedback.c.answer_id,
                feedback.c.user_id,
                feedback.c.comment,
                feedback.c.updated_at.label("created_at"),
                chat_messages.c.content.label("answer"),
                chat_messages.c.mode,
                retrieval_telemetry.c.question,
            )
            .select_from(
                feedback.join(chat_messages, chat_messages.c.id == feedback.c.answer_id).outerjoin(
                    retrieval_telemetry,
                    and_(
                        retrieval_telemetry.c.answer_id == feedback.c.answer_id,
                        retrieval_telemetry.c.tenant_id == feedback.c.tenant_id,
                    ),
                )
            )
            .where(feedback.c.tenant_id == tenant_id, feedback.c.rating == "down")
            .order_by(feedback.c.updated_at.desc(), feedback.c.id.desc())
            .limit(limit)
        )
    )


def no_hit_questions(connection: Connection, tenant_id: str, limit: int) -> list[Any]:
    return list(
        connection.execute(
            select(retrieval_telemetry)
            .where(retrieval_telemetry.c.tenant_id == tenant_id, retrieval_telemetry.c.no_hit)
            .where(retrieval_telemetry.c.intent.is_(None))
            .order_by(retrieval_telemetry.c.created_at.desc(), retrieval_telemetry.c.id.desc())
            .limit(limit)
        )
    )


def reindex_requests(connection: Connection, tenant_id: str, limit: int) -> list[Any]:
    return outbox.recent(connection, tenant_id, REINDEX_KIND, limit)
