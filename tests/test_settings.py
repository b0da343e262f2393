from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from luna_core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_env_example_documents_every_setting():
    documented = set(re.findall(r"^#?\s*(LUNA_[A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    expected = {f"LUNA_{name.upper()}" for name in Settings.model_fields}
    assert documented == expected


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.delenv("LUNA_DAGSTER_DATABASE_URL", raising=False)
    monkeypatch.setenv("LUNA_DATABASE_URL", "postgresql://owner@db:5432/luna")
    monkeypatch.setenv("LUNA_MQTT_PORT", "8883")
    settings = Settings(_env_file=None)
    assert settings.mqtt_port == 8883
    assert settings.app_url().render_as_string(hide_password=False) == "postgresql+psycopg://luna_app@db:5432/luna"
    assert settings.dagster_url().render_as_string(hide_password=False) == "postgresql+psycopg2://owner@db:5432/dagster"


def test_only_postgresql_is_accepted():
    with pytest.raises(ValidationError, match="PostgreSQL is the only supported database"):
        Settings(database_url="sqlite:///luna.db", _env_file=None)
