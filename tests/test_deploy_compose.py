"""docker-compose.yml and the per-customer stacks, checked without a Docker engine: the compose-spec
JSON schema (vendored in tests/data, see its README), plus the rules the schema cannot express —
every service has a health check, every named volume and secret is declared, no secret value is
written in the file, and every file the stack mounts or builds from exists. Where a
`docker compose` binary is present, its own `config` check runs as well."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from luna_cli.main import app
from luna_cli.stack import generate_secrets

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((Path(__file__).parent / "data" / "compose-spec.json").read_text())
EXPECTED_SERVICES = {
    "api", "dagster-webserver", "dagster-daemon", "code-location", "db", "qdrant", "ollama", "ollama-init",
    "tika", "mlflow", "redis", "mosquitto", "prometheus", "grafana", "loki", "fluent-bit",
}  # fmt: skip
SECRETISH = re.compile(r"(?i)(password|secret|token|key)\s*[:=]\s*['\"]?(?!/run/secrets)[A-Za-z0-9+/_-]{12,}")


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _check(doc: dict, text: str, base: Path) -> None:
    jsonschema.validate(doc, SCHEMA)
    services = doc["services"]
    for name, service in services.items():
        check = service.get("healthcheck") or {}
        if service.get("labels", {}).get("luna.role") == "job":
            # One-shot jobs are awaited with service_completed_successfully, not health.
            assert service.get("restart") == "no", name
        else:
            assert check.get("test") and not check.get("disable"), f"{name} has no health check"
            assert check.get("start_period"), f"{name}'s health check has no start period"
            assert service.get("restart") == "unless-stopped", f"{name} does not restart"
            limits = service.get("deploy", {}).get("resources", {}).get("limits", {})
            assert limits.get("memory") and limits.get("cpus"), f"{name} has no resource limits"
        for mount in service.get("volumes", []):
            source = mount.split(":")[0] if isinstance(mount, str) else mount["source"]
            if source.startswith(("/", ".")):
                assert (base / source).resolve().exists(), f"{name} mounts missing {source}"
            else:
                assert source in doc["volumes"], f"{name} uses undeclared volume {source}"
        for secret in service.get("secrets", []):
            assert (secret if isinstance(secret, str) else secret["source"]) in doc["secrets"]
        if "build" in service:
            context = base / service["build"]["context"]
            assert (context / service["build"]["dockerfile"]).is_file()
    for match in SECRETISH.finditer(text):
        raise AssertionError(f"secret-looking literal in the compose file: {match.group(0)[:20]}...")


def test_compose_file_is_valid_and_complete():
    path = ROOT / "docker-compose.yml"
    doc = _load(path)
    _check(doc, path.read_text(), ROOT)
    assert set(doc["services"]) >= EXPECTED_SERVICES
    assert doc["services"]["api"]["ports"][0].endswith(":8000")
    assert doc["services"]["db"]["ports"][0].endswith(":5432")
    assert doc["services"]["db"]["image"].startswith("timescale/timescaledb-ha")
    profiles = {p for s in doc["services"].values() for p in s.get("profiles", [])}
    assert profiles == {"local", "prod"}
    mlflow = doc["services"]["mlflow"]
    assert "--workers 1" in mlflow["command"][0]
    assert mlflow["environment"]["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    # Every file the Luna image copies exists (the UI comes from luna_ui when that is merged).
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (?!--from)(\S+)", dockerfile, re.MULTILINE):
        if not source.startswith("luna_ui"):
            assert (ROOT / source).exists(), source
    assert "USER luna" in dockerfile and "npm ci" in dockerfile and "npm run build" in dockerfile
    # The secrets the file refers to are exactly the ones `luna deploy secrets` generates.
    assert {Path(s["file"]).name for s in doc["secrets"].values()} == set(_generated())


def _generated() -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        return list(generate_secrets(Path(directory) / "s"))


@pytest.mark.skipif(
    not shutil.which("docker-compose") and not os.environ.get("LUNA_TEST_DOCKER_COMPOSE"),
    reason="no docker compose binary here; the schema check above stands in for it",
)
def test_docker_compose_config_accepts_it(tmp_path):  # pragma: no cover - only where compose exists
    secrets_dir = tmp_path / "secrets"
    generate_secrets(secrets_dir)
    env = {**os.environ, "LUNA_SECRETS_DIR": str(secrets_dir)}
    for profile in ("local", "prod"):
        subprocess.run(["docker-compose", "--profile", profile, "config", "-q"], cwd=ROOT, env=env, check=True)


def test_secrets_are_generated_private_and_kept(tmp_path):
    files = generate_secrets(tmp_path / "secrets")
    assert stat.S_IMODE((tmp_path / "secrets").stat().st_mode) == 0o700
    before = {name: path.read_text() for name, path in files.items()}
    for path in files.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert before == {name: path.read_text() for name, path in generate_secrets(tmp_path / "secrets").items()}
    password = before["postgres_password"]
    assert f":{password}@db:5432/luna" in before["LUNA_DATABASE_URL"]


def test_tenant_stack_dry_run_renders_an_isolated_valid_stack(tmp_path):
    runner = CliRunner()
    rendered = {}
    for tenant in ("acme", "globex"):
        result = runner.invoke(app, ["deploy", "tenant", tenant, "--out", str(tmp_path), "--dry-run"])
        assert result.exit_code == 0, result.output
        compose_file = tmp_path / f"luna-{tenant}" / "docker-compose.yml"
        assert f"docker compose -p luna-{tenant} -f {compose_file} --profile prod up -d" in result.output
        doc = _load(compose_file)
        text = compose_file.read_text()
        _check(doc, text, ROOT)
        assert doc["name"] == f"luna-{tenant}"
        assert doc["networks"] == {"luna-net": {"driver": "bridge", "name": f"luna-{tenant}-net"}}
        assert all(v["name"].startswith(f"luna-{tenant}-") for v in doc["volumes"].values())
        secrets_dir = tmp_path / f"luna-{tenant}" / "secrets"
        assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700
        for secret in doc["secrets"].values():
            path = Path(secret["file"])
            assert path.parent == secrets_dir and stat.S_IMODE(path.stat().st_mode) == 0o600
            assert path.read_text().strip() not in text  # the value never lands in the compose file
        assert "tenant-init" in doc["services"] and "proxy" not in doc["services"]
        assert tenant in " ".join(doc["services"]["tenant-init"]["command"])
        ports = [p for s in doc["services"].values() for p in s.get("ports", [])]
        loopback = ("127.0.0.1:", "${LUNA_BIND:-127.0.0.1}:", "${LUNA_MQTT_BIND:-127.0.0.1}:")
        assert ports and all(port.startswith(loopback) for port in ports), ports
        rendered[tenant] = (doc, ports, {p.read_text() for p in secrets_dir.iterdir()})
    (acme, acme_ports, acme_secrets), (globex, globex_ports, globex_secrets) = rendered["acme"], rendered["globex"]
    assert not {v["name"] for v in acme["volumes"].values()} & {v["name"] for v in globex["volumes"].values()}
    assert not set(acme_ports) & set(globex_ports)
    assert not acme_secrets & globex_secrets


def test_tenant_stack_refuses_a_bad_name(tmp_path):
    result = CliRunner().invoke(app, ["deploy", "tenant", "../evil", "--out", str(tmp_path), "--dry-run"])
    assert result.exit_code == 1 and "invalid tenant id" in result.output
    assert not any(tmp_path.iterdir())
