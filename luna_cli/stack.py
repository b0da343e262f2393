"""Compose stacks: the secrets a stack needs, and a dedicated stack rendered for one customer.

``render_tenant_stack`` reads the root ``docker-compose.yml`` and writes ``<out>/luna-<name>/``:
a compose file with its own project name, its own ``luna-net`` network and volumes (all named
``luna-<name>-...``), secrets generated into ``secrets/`` (folder 700, files 600), host ports
taken from the tenant's own port block, paths made absolute (the stack is run from anywhere),
and a one-shot ``tenant-init`` job that registers the tenant. Only the API, the Dagster UI,
Grafana, the MQTT broker and the log receiver are published (on 127.0.0.1 unless LUNA_BIND says
otherwise); everything else stays on the stack's network.
"""

from __future__ import annotations

import copy
import re
import secrets
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from luna_core.db.tenancy import validate_tenant_id
from luna_core.storage.keys import new_key_spec

REPO_ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
# Published ports of a dedicated stack, as offsets in its port block; the rest are not published.
PUBLISHED = {
    "LUNA_API_PORT_PUBLISHED": 0,
    "LUNA_DAGSTER_PORT_PUBLISHED": 1,
    "LUNA_GRAFANA_PORT_PUBLISHED": 2,
    "LUNA_MQTT_PORT_PUBLISHED": 3,
    "LUNA_FLUENT_PORT_PUBLISHED": 4,
}
PUBLISHED_SERVICES = {"api", "dagster-webserver", "grafana", "mosquitto", "fluent-bit"}
_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


def generate_secrets(
    directory: Path, db_host: str = "db", db_user: str = "luna", app_role: str = "luna_app"
) -> dict[str, Path]:
    """Random secrets for one stack, one file each (mode 600); existing files are kept. The owner's
    URL (``LUNA_DATABASE_URL``) is for migrations and Dagster only; the application connects with
    ``LUNA_APP_DATABASE_URL`` (the app role), and Dagster's run storage has a role of its own that
    ``luna db upgrade`` creates from ``LUNA_DAGSTER_DATABASE_URL``."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)

    def value(name: str, make) -> str:
        path = directory / name
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(make())
        path.chmod(0o600)
        return path.read_text().strip()

    password = value("postgres_password", lambda: secrets.token_urlsafe(32))
    server = f"{db_user}:{password}@{db_host}:5432"
    app_password = value("LUNA_APP_DB_PASSWORD", lambda: secrets.token_urlsafe(32))
    value("LUNA_DATABASE_URL", lambda: f"postgresql://{server}/luna")
    value("LUNA_APP_DATABASE_URL", lambda: f"postgresql://{app_role}:{app_password}@{db_host}:5432/luna")
    dagster = f"luna_dagster:{secrets.token_urlsafe(32)}@{db_host}:5432"
    value("LUNA_DAGSTER_DATABASE_URL", lambda: f"postgresql+psycopg2://{dagster}/dagster")
    value("mlflow_backend_uri", lambda: f"postgresql://{server}/mlflow")
    value("LUNA_JWT_SECRET", lambda: secrets.token_urlsafe(48))
    value("LUNA_STORAGE_KEY", new_key_spec)
    value("LUNA_METRICS_TOKEN", lambda: secrets.token_urlsafe(32))
    value("grafana_admin_password", lambda: secrets.token_urlsafe(24))
    return {path.name: path for path in sorted(directory.iterdir())}


def default_port_base(name: str) -> int:
    """A stable block of ports per tenant name (20000-59990, steps of 10); override on collision."""
    return 20000 + (zlib.crc32(name.encode()) % 4000) * 10


@dataclass(frozen=True)
class TenantStack:
    name: str
    project: str
    directory: Path
    compose_file: Path
    secrets_dir: Path
    ports: dict[str, int]

    def command(self, profile: str = "prod", action: tuple[str, ...] = ("up", "-d")) -> list[str]:
        return ["docker", "compose", "-p", self.project, "-f", str(self.compose_file), "--profile", profile, *action]


def _interpolate(node: Any, values: dict[str, str]) -> Any:
    """Fills in ``${NAME:-default}`` for the names this stack decides; leaves every other one to compose."""
    if isinstance(node, dict):
        return {key: _interpolate(item, values) for key, item in node.items()}
    if isinstance(node, list):
        return [_interpolate(item, values) for item in node]
    if isinstance(node, str):
        return _VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), node)
    return node


def _absolute(path: str) -> str:
    return str((REPO_ROOT / path).resolve()) if path.startswith("./") or path == "." else path


def render_tenant_stack(name: str, out: Path, port_base: int | None = None) -> TenantStack:
    validate_tenant_id(name)
    project = f"luna-{name}"
    directory = (out / project).resolve()
    secrets_dir = directory / "secrets"
    generate_secrets(secrets_dir)
    base = port_base if port_base is not None else default_port_base(name)
    ports = {variable: base + offset for variable, offset in PUBLISHED.items()}
    values = {"LUNA_SECRETS_DIR": str(secrets_dir), **{k: str(v) for k, v in ports.items()}}

    doc = _interpolate(yaml.safe_load(COMPOSE_FILE.read_text()), values)
    doc = {key: item for key, item in doc.items() if not key.startswith("x-")}  # anchors already merged
    doc["name"] = project
    doc["networks"] = {"luna-net": {"driver": "bridge", "name": f"{project}-net"}}
    doc["volumes"] = {volume: {"name": f"{project}-{volume}"} for volume in doc["volumes"]}
    doc["secrets"] = {secret: {"file": str(secrets_dir / secret)} for secret in doc["secrets"]}
    services = doc["services"]
    # One public entry point per host belongs to the operator's edge proxy, not to each stack.
    services.pop("proxy", None)
    for service_name, service in services.items():
        if service_name not in PUBLISHED_SERVICES:
            service.pop("ports", None)
        if isinstance(service.get("build"), dict):
            service["build"]["context"] = _absolute(service["build"]["context"])
        service["volumes"] = [_absolute_mount(v) for v in service.get("volumes", [])]
        if not service["volumes"]:
            service.pop("volumes")
        for env_file in service.get("env_file", []):
            env_file["path"] = str(directory / "luna.env")
    services["tenant-init"] = _tenant_init(services["migrate"], name)

    compose_file = directory / "docker-compose.yml"
    header = (
        f"# Dedicated Luna IEMS stack for tenant {name!r}, rendered by `luna deploy tenant {name}`.\n"
        f"# Secrets are files in {secrets_dir} (mode 600), never in this file.\n"
    )
    compose_file.write_text(header + yaml.dump(doc, Dumper=_PlainDumper, sort_keys=False, width=120))
    env_file = directory / "luna.env"
    if not env_file.exists():
        env_file.write_text(f"# LUNA_* settings for tenant {name}'s stack (see .env.example); no secrets here.\n")
    return TenantStack(name, project, directory, compose_file, secrets_dir, ports)


class _PlainDumper(yaml.SafeDumper):
    """Writes repeated blocks out in full: no anchors, so the file reads like the one it came from."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _absolute_mount(mount: Any) -> Any:
    if isinstance(mount, str) and mount.startswith("./"):
        source, _, rest = mount.partition(":")
        return f"{_absolute(source)}:{rest}" if rest else _absolute(source)
    return mount


def _tenant_init(migrate: dict, name: str) -> dict:
    job = {key: copy.deepcopy(value) for key, value in migrate.items() if key not in ("command", "depends_on")}
    job["command"] = [
        "/bin/sh",
        "-c",
        f"luna tenants add {name} --name {name} || luna tenants list | grep -q '{name}'",
    ]
    job["depends_on"] = {"migrate": {"condition": "service_completed_successfully"}}
    return job
