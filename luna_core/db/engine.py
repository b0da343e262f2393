"""Engines: the owner (migrations only) and the application role (everything else, under RLS)."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL

from luna_core.settings import Settings

_engines: dict[str, Engine] = {}


def _engine(url: URL) -> Engine:
    key = url.render_as_string(hide_password=False)
    if key not in _engines:
        _engines[key] = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    return _engines[key]


def owner_engine(settings: Settings) -> Engine:
    return _engine(settings.owner_url())


def app_engine(settings: Settings) -> Engine:
    return _engine(settings.app_url())


def dispose_all() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
