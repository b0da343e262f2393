"""Luna, the assistant: questions, chat sessions, feedback, and what admins learn from them.

The document search comes from ``app.state.retriever`` (a ``luna_core.luna.Retriever``), the chat
model from ``app.state.chat`` (None: extractive answers). Sessions are the caller's own: another
user's or tenant's answer 404.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from luna_api.deps import AdminCtx, Ctx, get_settings
from luna_api.errors import not_found
from luna_api.language import Texts
from luna_api.luna_schemas import (
    AdminFeedbackOut,
    AskIn,
    AskOut,
    CitationOut,
    DataItemOut,
    FeedbackIn,
    FeedbackOut,
    HelpOut,
    HelpTopicOut,
    MessageOut,
    NegativeFeedbackOut,
    NoHitQuestionOut,
    SessionOut,
    SessionSummaryOut,
    SignalsOut,
)
from luna_api.model_schemas import TrainingRequestOut
from luna_api.schemas import Error, Limit, Offset, Page, page
from luna_core.luna import AskOptions, SessionNotFound, ask, feedback, memory
from luna_core.luna.help import help_topics
from luna_core.settings import Settings

router = APIRouter(tags=["luna"])
NOT_FOUND = {404: {"model": Error}}
SessionId = Annotated[uuid.UUID, Path(description="a chat session of the caller")]


def _user(ctx) -> str:
    return ctx.principal.subject


@router.post("/rag/ask", response_model=AskOut, responses=NOT_FOUND)
def ask_luna(body: AskIn, request: Request, ctx: Ctx, settings: Annotated[Settings, Depends(get_settings)]) -> AskOut:
    """Answers from the tenant's documents and live data, in the question's language (German or
    English), with numbered citations and the figures' sources; says so when it finds nothing."""
    try:
        asked = ask(
            ctx.db,
            ctx.tenant_id,
            _user(ctx),
            body.question,
            retriever=request.app.state.retriever,
            session_id=body.session_id,
            chat=request.app.state.chat,
            options=AskOptions.from_settings(settings),
        )
    except SessionNotFound:
        raise not_found("chat session") from None
    answer = asked.answer
    ctx.audit(
        "luna.ask",
        target=f"session/{asked.session_id}",
        mode=answer.mode,
        intent=asked.intent.name if asked.intent else None,
        hits=asked.hit_count,
    )
    return AskOut(
        answer=answer.text,
        answer_id=str(asked.answer_id),
        session_id=str(asked.session_id),
        mode=answer.mode,
        language=answer.language,
        citations=[CitationOut(**asdict(c)) for c in answer.citations],
        data=[DataItemOut(**asdict(d)) for d in answer.data],
        prompt_version=answer.prompt_version,
    )


@router.get("/rag/help", response_model=HelpOut)
def help_texts(ctx: Ctx, texts: Texts) -> HelpOut:
    """Help topics written for the caller's tenant: what each dashboard figure means and what it says
    for this tenant now (its key figures, tomorrow's prices in its zone, its rules and savings, its
    documents), in the reader's language (``?language=``, else ``Accept-Language``)."""
    topics = help_topics(ctx.db, ctx.tenant_id, texts, datetime.now(UTC))
    ctx.audit("luna.help", language=texts.language)
    return HelpOut(
        language=texts.language, topics=[HelpTopicOut(key=t.key, title=t.title, text=t.text) for t in topics]
    )


@router.get("/rag/sessions", response_model=Page[SessionSummaryOut])
def list_sessions(ctx: Ctx, limit: Limit = 50, offset: Offset = 0) -> Page[SessionSummaryOut]:
    """The caller's chat sessions, most recently used first."""
    found = memory.list_sessions(ctx.db, ctx.tenant_id, _user(ctx), limit, offset)
    ctx.audit("luna.sessions.list")
    items = [
        SessionSummaryOut(id=str(s.id), title=s.title, created_at=s.created_at, updated_at=s.updated_at) for s in found
    ]
    return page(items, limit, offset)


@router.get("/rag/sessions/{session_id}", response_model=SessionOut, responses=NOT_FOUND)
def get_session(session_id: SessionId, ctx: Ctx) -> SessionOut:
    """One of the caller's sessions with all its messages, oldest first."""
    found = memory.get_session(ctx.db, ctx.tenant_id, _user(ctx), session_id)
    if found is None:
        raise not_found("chat session")
    messages = memory.messages(ctx.db, ctx.tenant_id, session_id)
    ctx.audit("luna.session.read", target=f"session/{session_id}")
    return SessionOut(
        id=str(found.id),
        title=found.title,
        created_at=found.created_at,
        updated_at=found.updated_at,
        summary=found.summary,
        messages=[_message(m) for m in messages],
    )


def _message(m: memory.Message) -> MessageOut:
    return MessageOut(
        id=str(m.id),
        role=m.role,  # type: ignore[arg-type]
        content=m.content,
        mode=m.mode,
        language=m.language,
        prompt_version=m.prompt_version,
        citations=[CitationOut(**c) for c in m.citations],
        data=[DataItemOut(**d) for d in m.data],
        created_at=m.created_at,
    )


@router.post("/feedback", response_model=FeedbackOut, status_code=201, responses=NOT_FOUND)
def give_feedback(body: FeedbackIn, ctx: Ctx) -> FeedbackOut:
    """Rates one of the caller's answers; rating it again replaces the earlier rating."""
    feedback_id = feedback.submit(ctx.db, ctx.tenant_id, _user(ctx), body.answer_id, body.rating, body.comment)
    if feedback_id is None:
        raise not_found("answer")
    ctx.audit("luna.feedback", target=f"answer/{body.answer_id}", rating=body.rating)
    return FeedbackOut(id=feedback_id)


@router.get("/admin/feedback", response_model=AdminFeedbackOut)
def admin_feedback(
    ctx: AdminCtx, settings: Annotated[Settings, Depends(get_settings)], limit: Limit = 50
) -> AdminFeedbackOut:
    """Recent thumbs down and questions without a good passage, the signal count toward the next
    reindex request, and the reindex requests so far (queued by the luna_feedback sensor)."""
    window = timedelta(days=settings.feedback_window_days)
    signals = feedback.signals(ctx.db, ctx.tenant_id, datetime.now(UTC), window)
    negative = feedback.negative_feedback(ctx.db, ctx.tenant_id, limit)
    no_hits = feedback.no_hit_questions(ctx.db, ctx.tenant_id, limit)
    reindex = feedback.reindex_requests(ctx.db, ctx.tenant_id, limit)
    ctx.audit("luna.feedback.read")
    return AdminFeedbackOut(
        threshold=settings.feedback_negative_threshold,
        window_days=settings.feedback_window_days,
        signals=SignalsOut(
            since=signals.since, negative_feedback=signals.negative_feedback, no_hit_questions=signals.no_hit_questions
        ),
        negative_feedback=[NegativeFeedbackOut(**_with_str_id(r._asdict(), "answer_id")) for r in negative],
        no_hit_questions=[
            NoHitQuestionOut(
                id=r.id,
                user_id=r.user_id,
                question=r.question,
                language=r.language,
                hit_count=r.hit_count,
                top_score=r.top_score,
                created_at=r.created_at,
            )
            for r in no_hits
        ],
        reindex_requests=[TrainingRequestOut.of(r) for r in reindex],
    )


def _with_str_id(row: dict[str, Any], key: str) -> dict[str, Any]:
    return {**row, key: str(row[key])}
