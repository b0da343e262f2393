"""The chat model's messages: the persona system prompt with the caller's tenant context, figures
and numbered passages, then the recent turns, then the question.

Everything in here comes from the caller's tenant: its row, its meters, its passages (from a
retriever asked for this tenant only) and its figures. Nothing else is looked up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from luna_core.luna import formatting as fmt
from luna_core.luna.data import DataAnswer, TenantInfo
from luna_core.luna.language import Language
from luna_core.luna.memory import History
from luna_core.luna.prompts import PROMPT_VERSION, phrase, system_template
from luna_core.luna.retrieval import Passage

PASSAGE_CHARS = 1500


@dataclass(frozen=True)
class MeterInfo:
    meter_id: str
    kind: str
    max_kw: float


def system_prompt(
    tenant: TenantInfo,
    meters: list[MeterInfo],
    language: Language,
    today: date,
    passages: list[Passage],
    data: DataAnswer | None,
    summary: str | None,
    version: str = PROMPT_VERSION,
) -> str:
    return system_template(language, version).substitute(
        tenant_name=tenant.name,
        tenant_kind=tenant.kind,
        timezone=tenant.timezone,
        zone=tenant.zone,
        meters=", ".join(f"{m.meter_id} ({m.kind}, {fmt.number(m.max_kw, language)} kW)" for m in meters) or "-",
        today=fmt.day(today, language),
        summary=summary or phrase(language, "empty.summary", version),
        data=_figures(data, language) or phrase(language, "empty.data", version),
        sources=_sources(passages) or phrase(language, "empty.sources", version),
    )


def messages(system: str, history: History, question: str) -> list[dict[str, str]]:
    recent = [{"role": m.role, "content": m.content} for m in history.recent]
    return [{"role": "system", "content": system}, *recent, {"role": "user", "content": question}]


def _figures(data: DataAnswer | None, language: Language) -> str:
    if data is None or not data.found:
        return ""
    return "\n".join(
        f"- {item.label}: {fmt.number(item.value, language, 2)} {item.unit} ({item.source})" for item in data.items
    )


def _sources(passages: list[Passage]) -> str:
    blocks = []
    for n, passage in enumerate(passages, start=1):
        where = f", p. {passage.page}" if passage.page else ""
        heading = f" — {passage.heading}" if passage.heading else ""
        text = " ".join(passage.text.split())[:PASSAGE_CHARS]
        blocks.append(f"[{n}] {passage.title}{where}{heading}\n{text}")
    return "\n\n".join(blocks)
