"""What every command shares: settings with a database, and errors as one clear line."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy.exc import OperationalError, ProgrammingError

from luna_core.db.tenancy import InvalidTenantId
from luna_core.ingest import IngestError
from luna_core.settings import Settings, get_settings
from luna_core.tenants import TenantError

console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])
EXPECTED_ERRORS = (IngestError, TenantError, InvalidTenantId, ValueError, FileNotFoundError)


def settings_with_database() -> Settings:
    """Settings with a reachable database; an embedded server's URL is exported to the
    environment so child processes (Dagster, the MQTT subscriber) use the same one."""
    from luna_core.db.embedded import with_database

    settings = with_database(get_settings())
    if settings.database_url is None:  # the application role only (the API in production): no owner here
        return settings
    if not os.environ.get("LUNA_DATABASE_URL"):
        os.environ["LUNA_DATABASE_URL"] = settings.database_url
        get_settings.cache_clear()
    os.environ.setdefault("LUNA_DAGSTER_DATABASE_URL", settings.dagster_url().render_as_string(hide_password=False))
    return settings


def one_line_errors(command: F) -> F:
    """Known failures print ``error: ...`` and exit 1, without a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except EXPECTED_ERRORS as error:
            console.print(f"[red]error:[/red] {error}", highlight=False)
            raise typer.Exit(1) from None
        except OperationalError as error:
            console.print(f"[red]error:[/red] cannot reach the database: {error.orig}".splitlines()[0], highlight=False)
            raise typer.Exit(2) from None
        except ProgrammingError as error:
            message = str(error.orig).splitlines()[0]
            hint = " (run `luna db upgrade` first?)" if "does not exist" in message else ""
            console.print(f"[red]error:[/red] {message}{hint}", highlight=False)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
