"""docker-compose.yml and the per-customer stacks, checked without a Docker engine: the compose-spec
JSON schema (vendored in tests/data, see its README), plus the rules the schema cannot express —
every service has a health check, every named volume and secret is declared, no secret value is
written in the file, and every file the stack mounts or builds from exists. Where a
`docker compose` binary is present, its own `config` check runs as well."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from luna_cli.main import app
from luna_cli.stack import generate_secrets
from luna_core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((Path(__file__).parent / "data" / "compose-spec.json").read_text())
EXPECTED_SERVICES = {
    "api", "dagster-webserver", "dagster-daemon", "code-location", "db", "qdrant", "ollama", "ollama-init",
    "tika", "mlflow", "redis", "mosquitto", "prometheus", "alertmanager", "grafana", "loki", "fluent-bit",
}  # fmt: skip
SECRETISH = re.compile(r"(?i)(password|secret|token|key)\s*[:=]\s*['\"]?(?!/run/secrets)[A-Za-z0-9+/_-]{12,}")


# Settings that name a server, and those the stack does not run (an identity provider outside it).
# Database URLs reach the processes as secrets and are checked through the generated values.
SERVER_SETTINGS = sorted(
    name for name in Settings.model_fields if (name.endswith("_url") and "database" not in name) or name == "mqtt_host"
)
# public_url is the stack's own address as users reach it (through the proxy), not a server it talks to.
# A public API (ENTSO-E) and the identity provider are reached outside the stack.
OUTSIDE_THE_STACK = {"entsoe_url", "oidc_jwks_url", "public_url"}
# These watch the application or stand in front of it; nothing in it talks to them.
WATCHERS = {"prometheus", "alertmanager", "grafana", "loki", "fluent-bit", "proxy"}
OWNER_SIDE = {"migrate", "code-location", "tenant-init"}  # migrations; Dagster runs (the index rebuild)
_DEFAULTS = re.compile(r"\$\{[A-Z0-9_]+:-([^}]*)\}")


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _resolved(value: object) -> str:
    """A compose value with ``${NAME:-default}`` read as its default."""
    return _DEFAULTS.sub(lambda m: m.group(1), str(value))


def _app_services(doc: dict) -> dict[str, dict]:
    """Luna's own processes: the services built on x-luna (their environment is its environment)."""
    return {name: s for name, s in doc["services"].items() if "LUNA_ENVIRONMENT" in (s.get("environment") or {})}


def _secret_values(doc: dict, service: dict, secrets_dir: Path) -> list[str]:
    names = [secret if isinstance(secret, str) else secret["source"] for secret in service.get("secrets", [])]
    return [(secrets_dir / Path(doc["secrets"][name]["file"]).name).read_text() for name in names]


def _host(value: str) -> str | None:
    return urlsplit(value).hostname if "://" in value else value


def _wiring(doc: dict, secrets_dir: Path) -> tuple[dict[str, str], set[str]]:
    """The application's environment (the same in every Luna process) and the hosts it names,
    in its variables and in the secrets its processes mount."""
    apps = _app_services(doc)
    environments = {name: {k: _resolved(v) for k, v in s["environment"].items()} for name, s in apps.items()}
    env = environments["api"]
    assert all(e == env for e in environments.values()), "the Luna processes are configured differently"
    hosts = {_host(value) for value in env.values()}
    for service in apps.values():
        hosts |= {_host(value.strip()) for value in _secret_values(doc, service, secrets_dir)}
    return env, {h for h in hosts if h}


def _check_wiring(doc: dict, secrets_dir: Path) -> None:
    services, apps = doc["services"], _app_services(doc)
    env, referenced = _wiring(doc, secrets_dir)
    # Every server setting points at a service the stack starts in every profile, on its port.
    for name in SERVER_SETTINGS:
        if name in OUTSIDE_THE_STACK:
            continue
        variable = f"LUNA_{name.upper()}"
        assert variable in env, f"{variable} is not set: the processes would fall back to an embedded {name}"
        host = _host(env[variable])
        assert host in services, f"{variable}={env[variable]} names no service of the stack"
        assert not services[host].get("profiles"), f"{variable} names {host}, which runs only in some profiles"
        port = urlsplit(env[variable]).port if "://" in env[variable] else None
        published = {int(str(p).rsplit(":", 1)[1]) for p in services[host].get("ports", [])}
        assert port is None or not published or port in published, f"{variable}: {host} listens on {published}"
    assert env["LUNA_VECTOR_BACKEND"] == ("qdrant" if "qdrant" in services else "pgvector")
    # Every server the stack starts for the application is used by it (Redis only when referenced).
    for name, service in services.items():
        if name in apps or name in WATCHERS or service.get("labels", {}).get("luna.role") == "job":
            continue
        assert name in referenced, f"the stack starts {name} but no Luna process is configured to use it"
    # ollama-init pulls exactly the models the application asks for.
    pulled = {_resolved(v) for k, v in services["ollama-init"]["environment"].items() if k.startswith("LUNA_")}
    wanted = {env["LUNA_OLLAMA_EMBED_MODEL"], env["LUNA_CHAT_MODEL"]}
    assert pulled == wanted, f"ollama-init pulled {pulled}, the application asks for {wanted}"
    # No service waits on one it does not use.
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            if name in apps:
                assert dependency in referenced | set(apps), f"{name} waits on {dependency}, which Luna does not use"
            else:
                assert dependency in _configuration_text(doc, service, secrets_dir), f"{name} waits on {dependency}"
    # The application's processes never hold the owner's URL; only migrations and Dagster do.
    for name, service in apps.items():
        mounted = set(service.get("secrets", []))
        assert "LUNA_APP_DATABASE_URL" in mounted, name
        assert ("LUNA_DATABASE_URL" in mounted) == (name in OWNER_SIDE), f"{name}: owner URL {mounted}"


def _configuration_text(doc: dict, service: dict, secrets_dir: Path) -> str:
    """Everything a non-Luna service is told: its definition, the files it mounts, its secrets."""
    definition = {key: value for key, value in service.items() if key != "depends_on"}
    parts = [yaml.safe_dump(definition), *_secret_values(doc, service, secrets_dir)]
    for mount in service.get("volumes", []):
        source = Path(mount.split(":")[0]) if isinstance(mount, str) else Path(mount["source"])
        source = source if source.is_absolute() else ROOT / source
        files = [source] if source.is_file() else sorted(source.rglob("*")) if source.is_dir() else []
        parts += [f.read_text(errors="replace") for f in files if f.is_file()]
    return "\n".join(parts)


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


def test_the_stack_wires_every_luna_process_to_its_own_servers(tmp_path):
    generate_secrets(tmp_path / "secrets")
    _check_wiring(_load(ROOT / "docker-compose.yml"), tmp_path / "secrets")


def _set_env(doc: dict, key: str, value: str | None) -> None:
    for service in _app_services(doc).values():
        service["environment"] = {k: v for k, v in service["environment"].items() if k != key}
        if value is not None:
            service["environment"][key] = value


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda d: _set_env(d, "LUNA_TIKA_URL", None), "LUNA_TIKA_URL is not set"),
        (lambda d: _set_env(d, "LUNA_REDIS_URL", None), "LUNA_REDIS_URL is not set"),
        (lambda d: _set_env(d, "LUNA_QDRANT_URL", "http://vectors:6333"), "names no service"),
        (lambda d: _set_env(d, "LUNA_OLLAMA_URL", "http://ollama:11435"), "ollama listens on"),
        (lambda d: _set_env(d, "LUNA_MQTT_HOST", "meter-sim"), "only in some profiles"),
        (lambda d: _set_env(d, "LUNA_VECTOR_BACKEND", "pgvector"), "qdrant"),
        (lambda d: _set_env(d, "LUNA_CHAT_MODEL", "llama3.1:8b"), "pulled"),
        (lambda d: d["services"].update(search={"image": "opensearch:3"}), "starts search but no Luna process"),
        (lambda d: d["services"]["api"]["depends_on"].update(grafana={}), "api waits on grafana"),
        (lambda d: d["services"]["grafana"]["depends_on"].update(redis={}), "grafana waits on redis"),
        (lambda d: d["services"]["api"].update(secrets=["LUNA_DATABASE_URL", "LUNA_APP_DATABASE_URL"]), "owner URL"),
        (lambda d: d["services"]["api"].update(environment={"LUNA_ENVIRONMENT": "prod"}), "configured differently"),
    ],
)
def test_the_wiring_check_names_what_is_wrong(tmp_path, change, complaint):
    generate_secrets(tmp_path / "secrets")
    doc = copy.deepcopy(_load(ROOT / "docker-compose.yml"))
    change(doc)
    with pytest.raises(AssertionError, match=re.escape(complaint)):
        _check_wiring(doc, tmp_path / "secrets")


def test_env_example_lists_the_production_wiring():
    """.env.example's production block is exactly what docker-compose.yml gives every Luna process."""
    text = (ROOT / ".env.example").read_text()
    block = text.split("# --- Production (docker-compose.yml)", 1)[1].split("\n# ---", 1)[0]
    documented = dict(
        line.removeprefix("# ").split("=", 1) for line in block.splitlines() if line.startswith("# LUNA_")
    )
    env = {k: _resolved(v) for k, v in _load(ROOT / "docker-compose.yml")["services"]["api"]["environment"].items()}
    wired = {f"LUNA_{name.upper()}" for name in SERVER_SETTINGS if name not in OUTSIDE_THE_STACK}
    wired |= {"LUNA_VECTOR_BACKEND", "LUNA_OLLAMA_EMBED_MODEL", "LUNA_CHAT_MODEL", "LUNA_MQTT_PORT"}
    assert documented == {key: env[key] for key in sorted(wired)}


def test_the_api_container_has_no_owner_to_reach(tmp_path, monkeypatch):
    """The API's settings, from its compose environment and the secrets its entrypoint exports."""
    from luna_core.db.embedded import with_database
    from luna_core.knowledge.service import build_index

    secrets_dir = tmp_path / "secrets"
    generate_secrets(secrets_dir)
    doc = _load(ROOT / "docker-compose.yml")
    api = doc["services"]["api"]
    for key in [k for k in os.environ if k.startswith("LUNA_")]:
        monkeypatch.delenv(key)
    for key, value in api["environment"].items():
        monkeypatch.setenv(key, _resolved(value))
    for name in api["secrets"]:
        monkeypatch.setenv(name, (secrets_dir / name).read_text().strip())
    settings = Settings(_env_file=None)
    with pytest.raises(RuntimeError):
        settings.owner_url()
    assert with_database(settings) is settings  # no embedded server started in the container either
    app_password = (secrets_dir / "LUNA_APP_DB_PASSWORD").read_text()
    assert settings.app_url().render_as_string(hide_password=False).endswith(f"luna_app:{app_password}@db:5432/luna")
    assert settings.vector_owner_url() is None and settings.vector_backend == "qdrant"
    assert build_index(settings).url == "http://qdrant:6333"
    assert settings.mlflow_tracking_uri() == "http://mlflow:5000"
    owner_password = (secrets_dir / "postgres_password").read_text()
    assert settings.dagster_url().username == "luna_dagster" and owner_password not in str(settings.model_dump())


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
        _check_wiring(doc, tmp_path / f"luna-{tenant}" / "secrets")
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
