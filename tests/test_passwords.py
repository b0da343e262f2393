"""The password policy (zxcvbn strength, not the user's own e-mail) wherever a password is set: the core,
the users API (422 that says what to change), the CLI (one clear line), and the demo's generated accounts."""

from __future__ import annotations

import uuid

import pytest
from typer.testing import CliRunner

from luna_cli.main import app as cli
from luna_core.auth.passwords import WeakPassword, check_password, generate_password
from luna_core.settings import get_settings

EMAIL = "max.mustermann@stadtwerke-beispiel.de"


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("aaaaaaaaaa", "at least 12 characters"),
        ("aaaaaaaaaaaaaaaa", "too easy to guess"),
        (" " * 10, "only spaces"),
        ("Kx9#vLq2!", "at least 12 characters"),
        ("Kx9#vLq2!" * 15, "at most 128 characters"),
        (EMAIL, "e-mail address"),
        ("Max.Mustermann!", "e-mail address"),  # the local part, in other case and with a mark
        ("maxmustermann2026", "e-mail address"),
        ("password1234", "too easy to guess"),
        ("qwertzuiopasdf", "too easy to guess"),
        ("123456789012", "too easy to guess"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password, why):
    with pytest.raises(WeakPassword, match=why):
        check_password(password, EMAIL)


@pytest.mark.parametrize("password", ["correct horse battery", "Zählerstand im Keller 7", "tq8#Lw2!vR9z"])
def test_strong_passwords_pass(password):
    check_password(password, EMAIL)


def test_generated_passwords_pass_the_policy():
    for _ in range(50):
        check_password(generate_password(), EMAIL)


def test_the_users_api_refuses_weak_passwords_with_422(api, api_user):
    admin = api_user(role="admin")
    email = f"new-{uuid.uuid4().hex[:6]}@{admin.tenant_id}.example.com"
    for password, why in (
        ("aaaaaaaaaaaaaa", "too easy to guess"),
        (email, "e-mail address"),
        (" " * 12, "only spaces"),
    ):
        response = api.post("/users", headers=admin.headers, json={"email": email, "password": password})
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "invalid_request" and why in response.json()["detail"]
    created = api.post("/users", headers=admin.headers, json={"email": email, "password": "correct horse battery"})
    assert created.status_code == 201


def test_the_cli_refuses_weak_passwords(settings, tenant_factory, monkeypatch):
    monkeypatch.setenv("LUNA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LUNA_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    tenant = tenant_factory("pwcli")
    email = f"ops@{tenant}.example.com"
    try:
        runner = CliRunner()
        weak = runner.invoke(cli, ["users", "add", email, "--tenant", tenant], input="aaaaaaaaaaaaaa\naaaaaaaaaaaaaa\n")
        assert weak.exit_code == 1 and "too easy to guess" in weak.output and "Traceback" not in weak.output
        strong = runner.invoke(
            cli, ["users", "add", email, "--tenant", tenant], input="correct horse battery\ncorrect horse battery\n"
        )
        assert strong.exit_code == 0, strong.output
    finally:
        get_settings.cache_clear()
