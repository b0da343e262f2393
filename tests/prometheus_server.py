"""Debian's Prometheus and Alertmanager on free ports with temporary storage, running the repository's
configs with their targets rewritten to the test's ports, and small clients for their HTTP APIs."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.private_services import free_port

ROOT = Path(__file__).resolve().parents[1]
PROM_DIR = ROOT / "deploy" / "observability" / "prometheus"
AM_CONFIG = ROOT / "deploy" / "observability" / "alertmanager" / "alertmanager.yml"
PROMETHEUS = shutil.which("prometheus")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
NOT_INSTALLED = (
    "Debian's prometheus and prometheus-alertmanager binaries are not installed "
    "(apt-get install prometheus prometheus-alertmanager; .ci/run installs them)"
)


def scrape_config(folder: Path, api_port: int, token: str, prometheus_port: int, alertmanager_port: int) -> Path:
    """The repository's prometheus.yml, scraping every 2 seconds: the API job at ``api_port`` with the
    token from a file (as compose mounts the secret), Prometheus itself and Alertmanager at their
    ports, the rule file copied beside it. The qdrant, loki and fluent-bit jobs are left out: those
    servers do not run here."""
    config = yaml.safe_load((PROM_DIR / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="2s", scrape_timeout="2s", evaluation_interval="1s")
    shutil.copy(PROM_DIR / "alerts.yml", folder / "alerts.yml")
    config["rule_files"] = [str(folder / "alerts.yml")]
    (folder / "metrics_token").write_text(token)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    api = jobs["luna-api"]
    assert api["static_configs"] == [{"targets": ["api:8000"]}]
    api["static_configs"] = [{"targets": [f"127.0.0.1:{api_port}"]}]
    api["authorization"]["credentials_file"] = str(folder / "metrics_token")
    jobs["prometheus"]["static_configs"] = [{"targets": [f"127.0.0.1:{prometheus_port}"]}]
    jobs["alertmanager"]["static_configs"] = [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]
    config["scrape_configs"] = [api, jobs["prometheus"], jobs["alertmanager"]]
    (sender,) = config["alerting"]["alertmanagers"]
    assert sender["static_configs"] == [{"targets": ["alertmanager:9093"]}]
    sender["static_configs"] = [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


class _Process:
    """A server binary on a port of its own, its output in ``folder/name.log``."""

    name = "server"

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def __enter__(self):
        self.log = (self.folder / f"{self.name}.log").open("w")
        self.process = subprocess.Popen(self.command(), stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {(self.folder / f'{self.name}.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not become ready in 60 s")

    def __exit__(self, *exc) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


class AlertmanagerServer(_Process):
    """The repository's alertmanager.yml as it is (its receivers have no integration to call)."""

    name = "alertmanager"

    def command(self) -> list[str]:
        assert ALERTMANAGER is not None, NOT_INSTALLED
        return [
            ALERTMANAGER,
            f"--config.file={AM_CONFIG}",
            f"--storage.path={self.folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",  # a single instance: no gossip port
        ]

    def groups(self) -> list[dict]:
        response = httpx.get(f"{self.url}/api/v2/alerts/groups", timeout=10)
        response.raise_for_status()
        return response.json()


class PrometheusServer(_Process):
    name = "prometheus"

    def __init__(self, folder: Path, api_port: int, token: str, alertmanager_port: int) -> None:
        super().__init__(folder)
        self.config = scrape_config(folder, api_port, token, self.port, alertmanager_port)

    def command(self) -> list[str]:
        assert PROMETHEUS is not None, NOT_INSTALLED
        return [
            PROMETHEUS,
            f"--config.file={self.config}",
            f"--storage.tsdb.path={self.folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]

    def api(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        body = response.json()
        assert response.status_code == 200 and body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        return self.api("query", query=expr)["result"]

    def series(self, name: str) -> list[dict[str, str]]:
        return self.api("series", **{"match[]": name})

    def wait_for(self, expr: str, timeout: float = 60) -> list[dict]:
        """Polls an instant query until it returns something."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.query(expr)
            if found:
                return found
            time.sleep(0.5)
        raise AssertionError(f"{expr} still empty after {timeout} s; targets: {self.api('targets')['activeTargets']}")
