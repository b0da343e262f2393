"""Recommendations as catalogue messages: what is stored (a message key and its figures) and how a
reader gets it in their language (``recommendation_text``), with the device named as its tenant
calls it (``named_params``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from luna_core.i18n import Translator
from luna_core.i18n.message import Message
from luna_core.playbook.rules import Rule


@dataclass
class Recommendation:
    """What to do and why, as ``message_key`` (its ``.title`` and ``.reason`` in the catalogue) and
    JSON ``params``; stored like that, rendered per reader."""

    rule_id: int | None
    strategy: str
    message_key: str
    params: dict[str, Any]
    saving_eur: float | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@dataclass(frozen=True)
class RecommendationText:
    title: str
    reason: str


def recommendation_text(message_key: str, params: dict[str, Any], translator: Translator) -> RecommendationText:
    """A stored recommendation in the reader's language."""
    return RecommendationText(
        translator(f"{message_key}.title", **params), translator(f"{message_key}.reason", **params)
    )


def make_recommendation(
    rule: Rule,
    kind: str,
    saving_eur: float | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    /,
    **params: Any,
) -> Recommendation:
    message = Message(f"playbook.{kind}", **params)
    return Recommendation(rule.id, rule.strategy, message.key, message.params, saving_eur, starts_at, ends_at)


def named_params(params: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """A recommendation's figures with its device named as the tenant calls it ("Wallbox", not the
    meter id): what every reader's rendering uses; the stored figures keep the id."""
    device = params.get("device")
    if isinstance(device, str) and device in names:
        return {**params, "device": names[device]}
    return params
