"""The playbook: rules (admins write, everyone reads), built-in strategies, the day's
recommendations and schedule, the savings ledger, and what-if plans."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query, Response

from luna_api.deps import AdminCtx, Ctx
from luna_api.errors import ApiError, not_found
from luna_api.language import Texts
from luna_api.playbook_schemas import (
    RecommendationOut,
    RecommendationsOut,
    RuleIn,
    RuleOut,
    RulePatch,
    SavingsItem,
    SavingsOut,
    ScheduleOut,
    SimulationOut,
    SlotOut,
    StrategyOut,
)
from luna_api.schemas import BIGINT_MAX, Error, Limit, Offset, Page, page
from luna_core.energy.queries import meter_names
from luna_core.i18n import Translator
from luna_core.playbook import rules as store
from luna_core.playbook import savings as ledger
from luna_core.playbook.inputs import NoPrices
from luna_core.playbook.messages import named_params, recommendation_text
from luna_core.playbook.optimizer import Infeasible
from luna_core.playbook.simulate import Simulation, simulate
from luna_core.playbook.store import (
    current_day,
    plan_slots,
    read_recommendations,
    read_schedule,
)
from luna_core.playbook.strategies import STRATEGIES, StrategyError

router = APIRouter(prefix="/playbook", tags=["playbook"])
RuleId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]
Day = Annotated[date | None, Query(description="tenant-local day, YYYY-MM-DD")]
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)


def _day(value: date | None) -> date | None:
    # Dates far outside any market data would only overflow the day arithmetic.
    if value is not None and not FIRST_DAY <= value <= LAST_DAY:
        raise ApiError(422, f"date must lie between {FIRST_DAY} and {LAST_DAY}")
    return value


NOT_FOUND = {404: {"model": Error}}


def _out(rule: store.Rule) -> RuleOut:
    return RuleOut(
        id=rule.id,
        name=rule.name,
        strategy=rule.strategy,
        condition=rule.condition,
        action=rule.action,
        params=rule.params,
        enabled=rule.enabled,
        version=rule.version,
        updated_at=rule.updated_at,
    )


def _invalid(error: Exception) -> ApiError:
    return ApiError(422, str(error))


@router.get("/rules", response_model=Page[RuleOut])
def list_rules(ctx: Ctx, limit: Limit = 100, offset: Offset = 0) -> Page[RuleOut]:
    found = store.list_rules(ctx.db, ctx.tenant_id, limit=limit, offset=offset)
    ctx.audit("playbook.rules.read")
    return page([_out(r) for r in found], limit, offset)


@router.post("/rules", response_model=RuleOut, status_code=201)
def create_rule(body: RuleIn, ctx: AdminCtx) -> RuleOut:
    """Switches a built-in strategy on (its condition and action are filled in) or adds a custom rule."""
    try:
        rule = store.create_rule(
            ctx.db,
            ctx.tenant_id,
            name=body.name,
            strategy=body.strategy,
            condition=body.condition,
            action=body.action,
            params=body.params,
            enabled=body.enabled,
            actor=ctx.actor,
        )
    except StrategyError as error:
        raise _invalid(error) from None
    ctx.audit("playbook.rule.create", target=f"rule/{rule.id}", strategy=rule.strategy)
    return _out(rule)


@router.patch("/rules/{rule_id}", response_model=RuleOut, responses=NOT_FOUND)
def update_rule(rule_id: RuleId, body: RulePatch, ctx: AdminCtx) -> RuleOut:
    """Changes a rule; every change is a new version (the old one is kept)."""
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    try:
        rule = store.update_rule(ctx.db, ctx.tenant_id, rule_id, changes, actor=ctx.actor)
    except StrategyError as error:
        raise _invalid(error) from None
    if rule is None:
        raise not_found("rule")
    ctx.audit("playbook.rule.update", target=f"rule/{rule.id}", version=rule.version, fields=sorted(changes))
    return _out(rule)


@router.delete("/rules/{rule_id}", status_code=204, responses=NOT_FOUND)
def delete_rule(rule_id: RuleId, ctx: AdminCtx) -> Response:
    if not store.delete_rule(ctx.db, ctx.tenant_id, rule_id):
        raise not_found("rule")
    ctx.audit("playbook.rule.delete", target=f"rule/{rule_id}")
    return Response(status_code=204)


@router.get("/strategies", response_model=list[StrategyOut])
def strategies(ctx: Ctx, texts: Texts) -> list[StrategyOut]:
    """The built-in strategies, named and described in the reader's language."""
    ctx.audit("playbook.strategies.read")
    english, german = texts.catalogue.translator("en"), texts.catalogue.translator("de")
    return [
        StrategyOut(
            key=s.key,
            name=s.name(texts),
            description=s.description(texts),
            name_en=s.name(english),
            name_de=s.name(german),
            description_en=s.description(english),
            description_de=s.description(german),
            default_params=s.default_params(),
            condition=s.condition,
            action=s.action,
        )
        for s in STRATEGIES.values()
    ]


def _recommendation(row, texts: Translator, names: dict[str, str]) -> RecommendationOut:
    params = named_params(row.params, names)
    shown, english, german = (
        recommendation_text(row.message_key, params, t)
        for t in (texts, texts.catalogue.translator("en"), texts.catalogue.translator("de"))
    )
    return RecommendationOut(
        id=row.id,
        rule_id=row.rule_id,
        strategy=row.strategy,
        title=shown.title,
        reason=shown.reason,
        message_key=row.message_key,
        params=row.params,
        title_en=english.title,
        title_de=german.title,
        reason_en=english.reason,
        reason_de=german.reason,
        saving_eur=row.saving_eur,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
    )


@router.get("/recommendations", response_model=RecommendationsOut)
def recommendations(ctx: Ctx, texts: Texts, date: Day = None) -> RecommendationsOut:
    """The day's recommendations, each with its title and reason in the reader's language (``?language=``,
    else ``Accept-Language``), rendered now from the stored message and its figures. Default day
    (tenant-local): tomorrow once its recommendations exist (after the day-ahead prices are published),
    else today."""
    day = _day(date) or current_day(ctx.db, ctx.tenant_id, "recommendations")
    rows = read_recommendations(ctx.db, ctx.tenant_id, day)
    ctx.audit("playbook.recommendations.read", target=f"day/{day}")
    names = meter_names(ctx.db, ctx.tenant_id)
    items = [_recommendation(r, texts, names) for r in rows]
    return RecommendationsOut(date=day, language=texts.language, items=items)


@router.get("/schedule", response_model=ScheduleOut)
def schedule(ctx: Ctx, date: Day = None) -> ScheduleOut:
    """Every planned device's slots for the day; empty when none. Default day (tenant-local): tomorrow
    once its schedule exists, else today."""
    day = _day(date) or current_day(ctx.db, ctx.tenant_id, "schedule")
    rows = read_schedule(ctx.db, ctx.tenant_id, day)
    ctx.audit("playbook.schedule.read", target=f"day/{day}")
    naive = sum(r.naive_cost_eur for r in rows)
    optimised = sum(r.optimised_cost_eur for r in rows)
    return ScheduleOut(
        date=day,
        slots=[SlotOut(**{**slot, "device": r.device}) for r in rows for slot in r.slots],
        naive_cost_eur=round(naive, 4),
        optimised_cost_eur=round(optimised, 4),
        saving_eur=round(naive - optimised, 4),
    )


@router.get("/savings", response_model=SavingsOut)
def savings(
    ctx: Ctx,
    granularity: Literal["day", "month"] = "day",
    start: Day = None,
    end: Day = None,
) -> SavingsOut:
    """The savings ledger: naive vs optimised cost on the same prices, and realised savings from the
    device meters once a day is over."""
    items = ledger.savings(ctx.db, ctx.tenant_id, granularity, _day(start), _day(end))
    ctx.audit("playbook.savings.read", target=f"savings/{granularity}")
    realised = [i["realised_eur"] for i in items if i["realised_eur"] is not None]
    return SavingsOut(
        granularity=granularity,
        items=[SavingsItem(**i) for i in items],
        total_saving_eur=round(sum(i["saving_eur"] for i in items), 4),
        total_realised_eur=round(sum(realised), 4) if realised else None,
    )


@router.post("/simulate", response_model=SimulationOut)
def simulate_plan(body: Annotated[Simulation, Body()], ctx: Ctx, texts: Texts) -> SimulationOut:
    """What-if: this device, these limits, these prices (or a stored day) -> the plan and its saving.
    A request that cannot be met answers 422 with the reason (in the reader's language)."""
    try:
        plan = simulate(ctx.db, ctx.tenant_id, body)
    except Infeasible as error:
        ctx.audit("playbook.simulate", target=f"device/{body.device}", outcome="infeasible")
        raise ApiError(422, error.text(texts), code="infeasible") from None
    except NoPrices as error:
        raise ApiError(404, str(error)) from None
    ctx.audit("playbook.simulate", target=f"device/{body.device}")
    return SimulationOut(
        feasible=True,
        reason=" ".join(note.render(texts) for note in plan.notes) or None,
        device=body.device,
        plan=[SlotOut(**s) for s in plan_slots(plan)],
        naive_cost_eur=round(plan.naive_cost_eur, 4),
        optimised_cost_eur=round(plan.optimised_cost_eur, 4),
        saving_eur=round(plan.saving_eur, 4),
        naive_kwh=round(plan.naive_kwh, 4),
        optimised_kwh=round(plan.optimised_kwh, 4),
    )
