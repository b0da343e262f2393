"""MLflow registry on a real store: promote only if better on the same window, challenger keeps
the reason, rollback restores the previous champion."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from luna_core.forecasting.registry import CHALLENGER, CHAMPION, RegistryError, decide_promotion


@dataclass
class ConstantModel:
    value: float

    def predict_frame(self, frame):
        return [self.value] * len(frame)


def _register(registry, tenant, value, mae):
    version = registry.register(tenant, ConstantModel(value), metrics={"backtest_mae": mae}, params={"value": value})
    champion = registry.champion(tenant)
    promote, reason = decide_promotion(mae, champion.metrics["backtest_mae"] if champion else None)
    return registry.set_alias(tenant, version.version, CHAMPION if promote else CHALLENGER, reason), promote


def test_promote_only_if_better_and_rollback(registry):
    tenant = f"reg-{uuid.uuid4().hex[:6]}"
    first, promoted = _register(registry, tenant, 1.0, mae=0.50)
    assert promoted and registry.champion(tenant).version == first.version

    worse, promoted = _register(registry, tenant, 2.0, mae=0.80)
    assert not promoted and CHALLENGER in worse.aliases
    assert "does not beat" in worse.tags["luna.challenger_reason"]
    assert registry.champion(tenant).version == first.version
    assert registry.load(tenant).value == 1.0

    better, promoted = _register(registry, tenant, 3.0, mae=0.30)
    assert promoted and registry.load(tenant).value == 3.0

    registry.set_alias(tenant, first.version, CHAMPION, "rollback by test")
    assert registry.champion(tenant).version == first.version
    assert registry.load(tenant).value == 1.0
    assert [v.version for v in registry.versions(tenant)] == [better.version, worse.version, first.version]


def test_unknown_version_is_a_clear_error(registry):
    with pytest.raises(RegistryError, match="has no version 99"):
        registry.set_alias(f"reg-{uuid.uuid4().hex[:6]}", "99", CHAMPION, "x")


def test_decide_promotion():
    assert decide_promotion(1.0, None)[0]
    assert decide_promotion(0.9, 1.0)[0]
    assert not decide_promotion(1.0, 1.0)[0]
