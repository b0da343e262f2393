"""Help texts written for one tenant: what each figure on the dashboard means, followed by what it
says for this tenant right now (its KPIs, tomorrow's cheapest and dearest hour in its zone, its
rules and savings, its documents). Phrasing lives in the message catalogues (``help.<lang>.toml``,
``luna_core.i18n``), numbers in the reader's locale; every number comes from the same core tables
the dashboard reads. Run inside ``tenant_scope``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from luna_core.db.schema import documents, playbook_rules, playbook_savings, tenant_kpis
from luna_core.i18n import Translator
from luna_core.luna.data import TenantInfo, tenant_info
from luna_core.market import queries as market
from luna_core.playbook.inputs import day_bounds


@dataclass(frozen=True)
class HelpTopic:
    key: str
    title: str
    text: str


def help_topics(connection: Connection, tenant_id: str, t: Translator, now: datetime) -> list[HelpTopic]:
    tenant = tenant_info(connection, tenant_id)
    topics = [
        _figures(connection, tenant_id, t, tenant.tz),
        _prices(connection, tenant, t, now),
        _playbook(connection, tenant_id, t),
        _documents(connection, tenant_id, t),
    ]
    return [HelpTopic(key, t(f"help.{key}_title"), text) for key, text in topics]


def _figures(connection: Connection, tenant_id: str, t: Translator, tz: ZoneInfo) -> tuple[str, str]:
    general = t("help.kpis")
    row = connection.execute(
        select(tenant_kpis).where(tenant_kpis.c.tenant_id == tenant_id).order_by(tenant_kpis.c.as_of.desc()).limit(1)
    ).first()
    if row is None:
        return "kpis", f"{general} {t('help.kpis_none')}"
    yours = t(
        "help.kpis_yours",
        kwh=row.kwh_month,
        cost=row.cost_month_eur or 0.0,
        peak=row.peak_kw_month or 0.0,
        peak_at=row.peak_at.astimezone(tz) if row.peak_at else None,
    )
    return "kpis", f"{general} {yours}"


def _prices(connection: Connection, tenant: TenantInfo, t: Translator, now: datetime) -> tuple[str, str]:
    general = t("help.prices")
    zone, local_today = tenant.zone, now.astimezone(tenant.tz).date()
    for day, label in ((local_today + timedelta(days=1), "tomorrow"), (local_today, "today")):
        start, end = day_bounds(day, tenant.timezone)
        found = market.prices(connection, zone, start, end, 60)
        if found:
            low = min(found, key=lambda p: p.eur_per_mwh)
            high = max(found, key=lambda p: p.eur_per_mwh)
            yours = t(
                f"help.prices_{label}",
                zone=zone,
                low_at=low.ts.astimezone(tenant.tz),
                low=low.eur_per_mwh,
                high_at=high.ts.astimezone(tenant.tz),
                high=high.eur_per_mwh,
            )
            return "prices", f"{general} {yours}"
    return "prices", f"{general} {t('help.prices_none', zone=zone)}"


def _playbook(connection: Connection, tenant_id: str, t: Translator) -> tuple[str, str]:
    general = t("help.playbook")
    enabled = connection.execute(
        select(func.count()).where(playbook_rules.c.tenant_id == tenant_id, playbook_rules.c.enabled)
    ).scalar_one()
    saved = connection.execute(
        select(func.coalesce(func.sum(playbook_savings.c.naive_eur - playbook_savings.c.optimised_eur), 0.0)).where(
            playbook_savings.c.tenant_id == tenant_id
        )
    ).scalar_one()
    if not enabled:
        return "playbook", f"{general} {t('help.playbook_none')}"
    yours = t("help.playbook_yours", rules=enabled, saved=float(saved))
    return "playbook", f"{general} {yours}"


def _documents(connection: Connection, tenant_id: str, t: Translator) -> tuple[str, str]:
    general = t("help.documents")
    titles = (
        connection.execute(
            select(func.coalesce(documents.c.title, documents.c.filename))
            .where(documents.c.tenant_id == tenant_id, documents.c.status == "indexed")
            .order_by(documents.c.created_at)
        )
        .scalars()
        .all()
    )
    if not titles:
        return "documents", f"{general} {t('help.documents_none')}"
    listed = ", ".join(t("common.quoted", text=title) for title in titles[:5])
    more = len(titles) - 5
    yours = t("help.documents_yours", count=len(titles), titles=listed)
    if more > 0:
        yours += " " + t("help.documents_more", more=more)
    return "documents", f"{general} {yours}"
