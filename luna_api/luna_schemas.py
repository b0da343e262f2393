"""Request and response models of Luna, the assistant (/rag, /feedback, /admin/feedback)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from luna_api.model_schemas import TrainingRequestOut


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class AskIn(BaseModel):
    question: str = Field(min_length=1, max_length=2000, description="German or English; Luna answers in kind")
    session_id: uuid.UUID | None = Field(None, description="continue this chat session (yours); null starts one")

    @field_validator("question")
    @classmethod
    def _question(cls, value: str) -> str:
        value = _no_nul(value).strip()
        if not value:
            raise ValueError("must not be blank")
        return value


class CitationOut(BaseModel):
    n: int = Field(description="the number of the [n] marker in the answer")
    chunk_id: str
    document_id: str
    title: str
    page: int | None
    snippet: str


class DataItemOut(BaseModel):
    label: str
    value: float
    unit: str
    source: str = Field(description="where the figure comes from: table, definition, period")


class AskOut(BaseModel):
    answer: str
    answer_id: str = Field(description="rate it with POST /feedback")
    session_id: str
    mode: Literal["llm", "extractive", "data", "none"] = Field(
        description="llm: composed by the chat model from cited passages; extractive: quoted passages; "
        "data: figures from the tenant's live data; none: nothing relevant found, said so"
    )
    language: Literal["de", "en"]
    citations: list[CitationOut]
    data: list[DataItemOut]
    prompt_version: str


class MessageOut(BaseModel):
    id: str
    role: Literal["user", "assistant"]
    content: str
    mode: str | None
    language: str | None
    prompt_version: str | None
    citations: list[CitationOut]
    data: list[DataItemOut]
    created_at: datetime


class SessionSummaryOut(BaseModel):
    id: str
    title: str
    created_at: datetime
    updated_at: datetime


class SessionOut(SessionSummaryOut):
    summary: str | None = Field(description="extractive summary of the turns older than the model's window")
    messages: list[MessageOut]


class FeedbackIn(BaseModel):
    answer_id: uuid.UUID
    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=2000)

    @field_validator("comment")
    @classmethod
    def _comment(cls, value: str | None) -> str | None:
        return _no_nul(value) if value is not None else None


class FeedbackOut(BaseModel):
    id: int


class NegativeFeedbackOut(BaseModel):
    id: int
    answer_id: str
    user_id: str
    question: str | None
    answer: str
    mode: str | None
    comment: str | None
    created_at: datetime


class NoHitQuestionOut(BaseModel):
    id: int
    user_id: str
    question: str
    language: str
    hit_count: int
    top_score: float | None
    created_at: datetime


class SignalsOut(BaseModel):
    since: datetime
    negative_feedback: int
    no_hit_questions: int


class AdminFeedbackOut(BaseModel):
    threshold: int = Field(description="negative signals that queue a reindex (LUNA_FEEDBACK_NEGATIVE_THRESHOLD)")
    window_days: int
    signals: SignalsOut = Field(description="counted since the window start or the last reindex request")
    negative_feedback: list[NegativeFeedbackOut]
    no_hit_questions: list[NoHitQuestionOut]
    reindex_requests: list[TrainingRequestOut]


class HelpTopicOut(BaseModel):
    key: str = Field(description="kpis | prices | playbook | documents")
    title: str
    text: str = Field(description="what the figure means, then what it says for the caller's tenant now")


class HelpOut(BaseModel):
    language: str = Field(description="the language the topics are written in")
    topics: list[HelpTopicOut]
