"""The log path of the compose stack, end to end as far as it runs here: the API's real JSON lines
(captured from real requests) carry request id, tenant and route; they pass the Fluent Bit parser of
deploy/observability/fluent-bit as configured (no Fluent Bit binary exists in this machine's
registries, so its parser, filters and Loki output are applied as the config states them, and
`fluent-bit --dry-run` runs where a binary exists); and the admin console's log view reads them back
through Loki's query API when LUNA_LOKI_URL is set — Luna's real client over real HTTP against a
protocol-faithful Loki stand-in (tests/loki_standin.py; no Loki binary either), tenant-scoped."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import time_machine
from fastapi.testclient import TestClient

from luna_api.main import create_app
from luna_api.observability import configure_logging
from tests.conftest import Meter
from tests.loki_standin import LokiStandIn
from tests.private_services import free_port
from tests.test_admin_errors import BrokenRetriever

ROOT = Path(__file__).resolve().parents[1]
FLUENT = ROOT / "deploy" / "observability" / "fluent-bit"


def sections(path: Path) -> list[tuple[str, dict[str, str]]]:
    """A Fluent Bit classic-mode config: [SECTION] headers, then `Key value` lines."""
    out: list[tuple[str, dict[str, str]]] = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if header := re.fullmatch(r"\[(\w+)\]", line):
            out.append((header.group(1), {}))
        else:
            key, _, value = line.partition(" ")
            out[-1][1][key.lower()] = value.strip()
    return out


def ship(line: str, container: str = "/luna-api-1") -> tuple[dict[str, str], int, str]:
    """What Fluent Bit makes of one stdout line from Docker's fluentd log driver, step by step as
    fluent-bit.conf and parsers.conf say: (Loki stream labels, timestamp in ns, the line Loki stores)."""
    config = sections(FLUENT / "fluent-bit.conf")
    parsers = {p["name"]: p for kind, p in sections(FLUENT / "parsers.conf") if kind == "PARSER"}
    record: dict = {"log": line, "container_name": container, "container_id": "c0ffee", "source": "stdout"}
    timestamp = datetime.now(UTC)
    for kind, options in config:
        if kind == "FILTER" and options["name"] == "parser":
            parser = parsers[options["parser"]]
            assert parser["format"] == "json"
            parsed = json.loads(record[options["key_name"]])  # a line that is not JSON fails here
            assert isinstance(parsed, dict)
            time_text = parsed[parser["time_key"]] if parser.get("time_key") else None
            if time_text is not None:
                # Fluent Bit's %L is the fractional second; Python's %f reads the same digits.
                timestamp = datetime.strptime(time_text, parser["time_format"].replace("%L", "%f")).replace(tzinfo=UTC)
                if parser.get("time_keep", "Off").lower() != "on":
                    del parsed[parser["time_key"]]
            kept = (
                {k: v for k, v in record.items() if k != options["key_name"]} if options["reserve_data"] == "On" else {}
            )
            record = {**kept, **parsed}
        elif kind == "FILTER" and options["name"] == "modify":
            old, new = options["rename"].split()
            record[new] = record.pop(old)
        elif kind == "OUTPUT" and options["name"] == "loki":
            labels = dict(pair.split("=", 1) for pair in options["labels"].split(","))
            for key in options["label_keys"].split(","):
                labels[key.strip().lstrip("$")] = str(record[key.strip().lstrip("$")])
            for key in options["remove_keys"].split(","):
                record.pop(key.strip(), None)
            assert options["line_format"] == "json"
            return labels, int(timestamp.timestamp() * 1e9), json.dumps(record)
    raise AssertionError("fluent-bit.conf has no loki output")


@pytest.fixture
def real_lines(api, api_user, tenant_factory, capsys):
    """JSON lines the API wrote to stdout for real requests of two tenants: an info line per request
    and an error (the document search failing) in each tenant's request."""
    tenants = [tenant_factory("logs-a", meters=(Meter("main"),)), tenant_factory("logs-b", meters=(Meter("main"),))]
    users = [api_user(t) for t in tenants]
    real = api.app.state.retriever
    api.app.state.retriever = BrokenRetriever("index down")
    configure_logging("INFO")  # the production level (tests run at WARNING); printing to the captured stdout
    try:
        capsys.readouterr()
        for n, user in enumerate(users):
            api.get("/meters", headers={**user.headers, "X-Request-ID": f"req-meters-{n}"})
            api.post("/rag/ask", headers={**user.headers, "X-Request-ID": f"req-ask-{n}"}, json={"question": "Heat?"})
        out = capsys.readouterr().out
    finally:
        api.app.state.retriever = real
        configure_logging("WARNING")
    lines = [line for line in out.splitlines() if line.startswith("{")]
    return tenants, lines


def test_json_lines_carry_request_id_tenant_and_route(real_lines):
    (tenant_a, _), lines = real_lines
    records = [json.loads(line) for line in lines]
    request = next(r for r in records if r["event"] == "request" and r["request_id"] == "req-meters-0")
    assert (request["tenant"], request["route"], request["status"], request["level"]) == (
        tenant_a,
        "/meters",
        200,
        "info",
    )
    failed = next(r for r in records if r["event"] == "luna.retriever_failed" and r["request_id"] == "req-ask-0")
    assert (failed["tenant"], failed["route"], failed["level"]) == (tenant_a, "/rag/ask", "error")
    assert "RuntimeError: index down" in failed["exception"]


def test_fluent_bit_parser_reads_the_real_lines(real_lines):
    _, lines = real_lines
    assert lines
    for line in lines:
        labels, ts, stored = ship(line)
        record = json.loads(line)
        assert labels == {"job": "luna", "service": "/luna-api-1", "level": record["level"]}
        assert json.loads(stored)["request_id"] == record["request_id"]
        assert ts == int(
            datetime.strptime(record["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp() * 1e9
        )


def test_a_line_on_a_whole_second_still_parses(api, api_user, capsys):
    """isoformat() drops the fraction on a whole second; the parser's Time_Format wants it."""
    user = api_user()
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC), tick=False):
        configure_logging("INFO")
        try:
            capsys.readouterr()
            api.get("/meters", headers=user.headers)
            out = capsys.readouterr().out
        finally:
            configure_logging("WARNING")
    line = next(line for line in out.splitlines() if '"event": "request"' in line)
    assert json.loads(line)["timestamp"] == "2026-03-02T09:00:00.000000Z"
    assert ship(line)[1] == int(datetime(2026, 3, 2, 9, tzinfo=UTC).timestamp() * 1e9)
    with pytest.raises(ValueError):  # what the old format wrote: the check can fail
        ship(line.replace("09:00:00.000000Z", "09:00:00Z"))


@pytest.mark.skipif(shutil.which("fluent-bit") is None, reason="no fluent-bit binary (not in Debian 12's registry)")
def test_fluent_bit_dry_run(tmp_path):
    config = (
        (FLUENT / "fluent-bit.conf").read_text().replace("/fluent-bit/etc/parsers.conf", str(FLUENT / "parsers.conf"))
    )
    (tmp_path / "fluent-bit.conf").write_text(config)
    result = subprocess.run(
        ["fluent-bit", "--dry-run", "-c", str(tmp_path / "fluent-bit.conf")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def console_on_loki(api_settings):
    with LokiStandIn() as loki:
        settings = api_settings.model_copy(update={"loki_url": loki.url})
        try:
            with TestClient(create_app(settings), raise_server_exceptions=False) as client:
                yield loki, client
        finally:
            create_app(api_settings)


def test_the_console_reads_logs_from_loki_scoped_to_the_tenant(real_lines, console_on_loki, api_user):
    (tenant_a, tenant_b), lines = real_lines
    loki, client = console_on_loki
    marker = uuid.uuid4().hex
    outside = json.dumps({"event": f"backup finished late {marker}", "level": "warning", "logger": "luna_cli",
                          "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")})  # fmt: skip
    shipped = [ship(line) for line in [*lines, outside]]
    streams = [{"stream": labels, "values": [[str(ts), stored]]} for labels, ts, stored in shipped]
    pushed = httpx.post(f"{loki.url}/loki/api/v1/push", json={"streams": streams})  # as Fluent Bit does
    assert pushed.status_code == 204

    def console(user) -> dict:
        response = client.get("/admin/status", headers=user.headers)
        assert response.status_code == 200, response.text
        return response.json()

    admin_a = console(api_user(tenant_a, role="admin"))
    assert admin_a["errors_source"] == "loki" and admin_a["errors_problem"] is None
    seen = [json.loads(line) for line in admin_a["errors"]]
    assert {r.get("tenant") for r in seen} <= {tenant_a, None}
    assert any(r["event"] == "luna.retriever_failed" and r["tenant"] == tenant_a for r in seen)
    assert any(marker in r["event"] for r in seen)  # logged outside any tenant: every admin sees it
    assert all(r["level"] in ("warning", "error", "critical") for r in seen)
    stamps = [r["timestamp"] for r in seen]
    assert stamps == sorted(stamps, reverse=True)

    platform = console(api_user(role="admin", platform_admin=True))
    assert {tenant_a, tenant_b} <= {json.loads(line).get("tenant") for line in platform["errors"]}
    assert len(loki.queries) == 2 and all(q.startswith('{job="luna"') for q in loki.queries)


def test_the_console_says_when_loki_does_not_answer(api_settings, api_user):
    settings = api_settings.model_copy(update={"loki_url": f"http://127.0.0.1:{free_port()}"})
    try:
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            status = client.get("/admin/status", headers=api_user(role="admin").headers).json()
    finally:
        create_app(api_settings)
    assert status["errors_source"] == "process"
    assert "did not answer" in status["errors_problem"] and "own lines" in status["errors_problem"]


def test_without_loki_the_console_reads_the_process_ring(api, api_user):
    status = api.get("/admin/status", headers=api_user(role="admin").headers).json()
    assert (status["errors_source"], status["errors_problem"]) == ("process", None)
