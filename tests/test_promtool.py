"""The scrape config and alert rules checked by Prometheus' own tool, and every alert unit-tested
(``promtool test rules`` on deploy/observability/prometheus/alerts_test.yml: input series -> the
alerts, labels and rendered annotations expected). Debian's ``prometheus`` package ships promtool;
.ci/run installs it, so CI never skips these."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.test_docs import anchors

ROOT = Path(__file__).resolve().parents[1]
PROM = ROOT / "deploy" / "observability" / "prometheus"
PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (Debian package `prometheus`; .ci/run installs it)"
)
SEVERITIES = {"critical", "warning"}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120)


def rules() -> list[dict]:
    doc = yaml.safe_load((PROM / "alerts.yml").read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def local_scrape_config(tmp_path: Path) -> Path:
    """prometheus.yml with its container paths (rule file, token secret) pointed at files here."""
    config = yaml.safe_load((PROM / "prometheus.yml").read_text())
    shutil.copy(PROM / "alerts.yml", tmp_path / "alerts.yml")
    (tmp_path / "token").write_text("scrape-token\n")
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    config["rule_files"] = [str(tmp_path / "alerts.yml")]
    for job in config["scrape_configs"]:
        if "authorization" in job:
            assert job["authorization"]["credentials_file"] == "/run/secrets/LUNA_METRICS_TOKEN"
            job["authorization"]["credentials_file"] = str(tmp_path / "token")
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_scrape_config_passes_promtool(tmp_path):
    result = promtool("check", "config", str(local_scrape_config(tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout and f"{len(rules())} rules found" in result.stdout


def test_alert_rules_pass_promtool():
    result = promtool("check", "rules", str(PROM / "alerts.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_unit_tests_pass():
    result = promtool("test", "rules", str(PROM / "alerts_test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_alert_unit_tests_can_fail(tmp_path):
    """The same tests with one expected label changed must fail: promtool really compares."""
    tests = yaml.safe_load((PROM / "alerts_test.yml").read_text())
    firing = next(c for t in tests["tests"] for c in t["alert_rule_test"] if c["exp_alerts"])
    firing["exp_alerts"][0]["exp_labels"]["severity"] = "info"
    tests["rule_files"] = [str(PROM / "alerts.yml")]
    (tmp_path / "broken_test.yml").write_text(yaml.safe_dump(tests))
    result = promtool("test", "rules", str(tmp_path / "broken_test.yml"))
    assert result.returncode != 0 and "FAILED" in result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_quiet():
    tests = yaml.safe_load((PROM / "alerts_test.yml").read_text())["tests"]
    checks = [check for test in tests for check in test["alert_rule_test"]]
    for rule in rules():
        mine = [c for c in checks if c["alertname"] == rule["alert"]]
        assert any(c["exp_alerts"] for c in mine), f"{rule['alert']}: no case where it fires"
        assert any(not c["exp_alerts"] for c in mine), f"{rule['alert']}: no case where it stays quiet"
    wanted = {
        "LunaApiHighErrorRate",
        "LunaApiSlowP95",
        "LunaDagsterRunFailed",
        "LunaIngestLag",
        "LunaDiskLow",
        "LunaDocumentsNeedAttention",
        "LunaMeterOverLimit",
        "LunaForecastDrift",
        "LunaAuditChainBroken",
    }
    assert wanted <= {r["alert"] for r in rules()}


def test_every_alert_has_severity_runbook_and_dashboard():
    dashboards = (ROOT / "deploy/observability/grafana/dashboards").glob("*.json")
    boards = {json.loads(path.read_text())["uid"] for path in dashboards}
    operate = anchors(ROOT / "docs" / "operate.md")
    for rule in rules():
        name = rule["alert"]
        assert rule["labels"]["severity"] in SEVERITIES, name
        notes = rule["annotations"]
        assert notes["summary"] and notes["description"], name
        page, _, anchor = notes["runbook"].partition("#")
        assert page == "docs/operate.md" and anchor == name.lower() and anchor in operate, name
        assert notes["dashboard"].rsplit("/d/", 1)[1] in boards, name
        # A tenant-scoped alert keeps the tenant label (when exported) so Alertmanager can route by it.
        if rule["labels"].get("scope") == "tenant":
            assert "by (tenant)" in rule["expr"], name
