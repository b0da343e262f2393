"""What the HTTP benchmarks share: a scratch database on the benchmark server, a free port, and
waiting for the API to answer /ready."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from luna_core.db.engine import dispose_all
from luna_core.settings import Settings

SERVER = os.environ.get("LUNA_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextmanager
def scratch_settings(prefix: str) -> Iterator[Settings]:
    """Settings on a new database ``<prefix>_<random>``, dropped afterwards whatever happens."""
    name = f"{prefix}_{uuid.uuid4().hex[:6]}"
    server = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(SERVER).set(database=name).render_as_string(hide_password=False)
    try:
        yield Settings(database_url=url, jwt_secret="bench-" + "k" * 40, _env_file=None)
    finally:
        dispose_all()
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(client: httpx.Client, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if client.get("/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the API did not become ready")
