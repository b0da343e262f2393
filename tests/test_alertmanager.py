"""Alertmanager's routes, checked with its own tool (Debian's ``prometheus-alertmanager`` ships amtool;
.ci/run installs it): the config loads, and every alert of alerts.yml, with the labels it really
carries, reaches the receivers the on-call rota expects — by severity, and per tenant for
tenant-scoped alerts that name their tenant."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "deploy" / "observability" / "alertmanager" / "alertmanager.yml"
AMTOOL = shutil.which("amtool")
pytestmark = pytest.mark.skipif(
    AMTOOL is None, reason="amtool not installed (Debian package `prometheus-alertmanager`; .ci/run installs it)"
)


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert AMTOOL is not None
    return subprocess.run([AMTOOL, *args], capture_output=True, text=True, timeout=60)


def receivers_for(labels: dict[str, str]) -> list[str]:
    result = amtool("config", "routes", "test", f"--config.file={CONFIG}", *(f"{k}={v}" for k, v in labels.items()))
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip().split(",")


def alert_labels() -> list[dict[str, str]]:
    doc = yaml.safe_load((ROOT / "deploy/observability/prometheus/alerts.yml").read_text())
    return [{"alertname": r["alert"], **r["labels"]} for g in doc["groups"] for r in g["rules"]]


def expected(labels: dict[str, str]) -> list[str]:
    """The rota: critical pages; tenant-scoped alerts that name a tenant go to tenant operations
    (critical ones page as well); everything else to the operators' queue."""
    if labels.get("scope") == "tenant" and labels.get("tenant"):
        return ["oncall-pager", "tenant-operations"] if labels["severity"] == "critical" else ["tenant-operations"]
    return ["oncall-pager"] if labels["severity"] == "critical" else ["operators"]


def test_config_passes_amtool():
    result = amtool("check-config", str(CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("labels", alert_labels(), ids=lambda labels: labels["alertname"])
def test_every_alert_reaches_its_receivers(labels):
    assert receivers_for(labels) == expected(labels)
    if labels.get("scope") == "tenant":
        # With LUNA_METRICS_TENANT_LABELS=true the same alert names its tenant.
        named = {**labels, "tenant": "acme"}
        assert receivers_for(named) == expected(named)


def test_tenant_alerts_are_grouped_per_tenant():
    config = yaml.safe_load(CONFIG.read_text())
    tenant_route = next(r for r in config["route"]["routes"] if 'scope="tenant"' in r.get("matchers", []))
    assert set(tenant_route["group_by"]) == {"tenant", "alertname"}


def test_the_routing_check_can_fail():
    result = amtool(
        "config",
        "routes",
        "test",
        f"--config.file={CONFIG}",
        "--verify.receivers=operators",
        "severity=critical",
        "alertname=LunaDiskLow",
    )
    assert result.returncode != 0
    assert receivers_for({"severity": "critical", "alertname": "LunaDiskLow"}) == ["oncall-pager"]
