"""Engines: the owner (migrations only) and the application role (everything else, under RLS)."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL

from luna_core.settings import Settings

_engines: dict[tuple[str, int], Engine] = {}


def _engine(url: URL, connect_timeout: int) -> Engine:
    key = (url.render_as_string(hide_password=False), connect_timeout)
    if key not in _engines:
        # A short connect timeout: with the database unreachable a request fails fast (503), not hangs.
        _engines[key] = create_engine(
            url, pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args={"connect_timeout": connect_timeout}
        )
    return _engines[key]


def owner_engine(settings: Settings) -> Engine:
    return _engine(settings.owner_url(), settings.db_connect_timeout_seconds)


def app_engine(settings: Settings) -> Engine:
    return _engine(settings.app_url(), settings.db_connect_timeout_seconds)


def dispose_all() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
