"""The rules store: a tenant's playbook rules, each change a new version kept in
``playbook_rule_versions``. Every function runs inside ``tenant_scope`` and filters on the tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from luna_core.db.schema import playbook_rule_versions, playbook_rules
from luna_core.playbook.strategies import StrategyError, validate_rule

MAX_RULES_PER_TENANT = 200


@dataclass(frozen=True)
class Rule:
    id: int
    tenant_id: str
    name: str
    strategy: str
    condition: dict[str, Any]
    action: dict[str, Any]
    params: dict[str, Any]
    enabled: bool
    version: int
    updated_at: datetime


def _rule(row: Any) -> Rule:
    return Rule(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        strategy=row.strategy,
        condition=dict(row.condition),
        action=dict(row.action),
        params=dict(row.params),
        enabled=row.enabled,
        version=row.version,
        updated_at=row.updated_at,
    )


def _snapshot(rule: Rule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "strategy": rule.strategy,
        "condition": rule.condition,
        "action": rule.action,
        "params": rule.params,
        "enabled": rule.enabled,
    }


def _keep_version(connection: Connection, rule: Rule, actor: str | None) -> None:
    connection.execute(
        insert(playbook_rule_versions).values(
            tenant_id=rule.tenant_id, rule_id=rule.id, version=rule.version, snapshot=_snapshot(rule), changed_by=actor
        )
    )


def list_rules(
    connection: Connection, tenant_id: str, *, enabled_only: bool = False, limit: int = 1000, offset: int = 0
) -> list[Rule]:
    query = select(playbook_rules).where(playbook_rules.c.tenant_id == tenant_id)
    if enabled_only:
        query = query.where(playbook_rules.c.enabled.is_(True))
    rows = connection.execute(query.order_by(playbook_rules.c.id).limit(limit).offset(offset))
    return [_rule(r) for r in rows]


def get_rule(connection: Connection, tenant_id: str, rule_id: int) -> Rule | None:
    row = connection.execute(
        select(playbook_rules).where(playbook_rules.c.tenant_id == tenant_id, playbook_rules.c.id == rule_id)
    ).first()
    return _rule(row) if row else None


def create_rule(
    connection: Connection,
    tenant_id: str,
    *,
    name: str,
    strategy: str,
    condition: dict[str, Any] | None = None,
    action: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    enabled: bool = True,
    actor: str | None = None,
) -> Rule:
    """Validates against the strategy (raises ``StrategyError``) and stores version 1."""
    name = name.strip()
    if not name:
        raise StrategyError("a rule needs a name")
    count = connection.execute(
        select(func.count()).select_from(playbook_rules).where(playbook_rules.c.tenant_id == tenant_id)
    ).scalar_one()
    if count >= MAX_RULES_PER_TENANT:
        raise StrategyError(f"a tenant has at most {MAX_RULES_PER_TENANT} rules; delete one first")
    checked_condition, checked_action, checked_params = validate_rule(strategy, condition, action, params)
    row = connection.execute(
        insert(playbook_rules)
        .values(
            tenant_id=tenant_id,
            name=name,
            strategy=strategy,
            condition=checked_condition,
            action=checked_action,
            params=checked_params,
            enabled=enabled,
            updated_by=actor,
        )
        .returning(playbook_rules)
    ).one()
    rule = _rule(row)
    _keep_version(connection, rule, actor)
    return rule


def update_rule(
    connection: Connection, tenant_id: str, rule_id: int, changes: dict[str, Any], actor: str | None = None
) -> Rule | None:
    """Applies the given fields (name, condition, action, params, enabled) as a new version; params
    are merged into the current ones. None when the tenant has no such rule."""
    current = get_rule(connection, tenant_id, rule_id)
    if current is None:
        return None
    unknown = set(changes) - {"name", "condition", "action", "params", "enabled"}
    if unknown:
        raise StrategyError(f"cannot change {sorted(unknown)}")
    name = changes.get("name", current.name)
    if not isinstance(name, str) or not name.strip():
        raise StrategyError("a rule needs a name")
    params = {**current.params, **(changes.get("params") or {})}
    checked_condition, checked_action, checked_params = validate_rule(
        current.strategy, changes.get("condition", current.condition), changes.get("action", current.action), params
    )
    row = connection.execute(
        update(playbook_rules)
        .where(playbook_rules.c.tenant_id == tenant_id, playbook_rules.c.id == rule_id)
        .values(
            name=name.strip(),
            condition=checked_condition,
            action=checked_action,
            params=checked_params,
            enabled=bool(changes.get("enabled", current.enabled)),
            version=playbook_rules.c.version + 1,
            updated_by=actor,
            updated_at=func.now(),
        )
        .returning(playbook_rules)
    ).one()
    rule = _rule(row)
    _keep_version(connection, rule, actor)
    return rule


def delete_rule(connection: Connection, tenant_id: str, rule_id: int) -> bool:
    result = connection.execute(
        delete(playbook_rules).where(playbook_rules.c.tenant_id == tenant_id, playbook_rules.c.id == rule_id)
    )
    return result.rowcount > 0


def rule_versions(connection: Connection, tenant_id: str, rule_id: int) -> list[dict[str, Any]]:
    rows = connection.execute(
        select(playbook_rule_versions)
        .where(playbook_rule_versions.c.tenant_id == tenant_id, playbook_rule_versions.c.rule_id == rule_id)
        .order_by(playbook_rule_versions.c.version)
    )
    return [{"version": r.version, "changed_at": r.changed_at, "changed_by": r.changed_by, **r.snapshot} for r in rows]
