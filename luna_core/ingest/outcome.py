"""One file's outcome, whatever it holds: stored (with its counts) or refused (with the reason).

Used by every caller that works through a list of files (the landing inbox, ``luna ingest``), so
no file can stop the ones after it: a file that cannot be read, or that trips an error nobody
foresaw, is refused with its reason and nothing of it is written (the batch is one
transaction). Only an unreachable database is raised: then no file can be ingested, and each
stays where it is for the next attempt.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from luna_core.ingest.errors import IngestError
from luna_core.ingest.pipeline import IngestResult, ingest_file
from luna_core.ingest.validate import IngestPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileOutcome:
    path: Path
    result: IngestResult | None = None
    error: str | None = None  # why the whole file was refused; nothing of it was written

    @property
    def refused(self) -> bool:
        return self.error is not None


def ingest_file_outcome(
    engine: Engine,
    tenant_id: str,
    path: Path,
    *,
    policy: IngestPolicy | None = None,
    default_meter: str | None = None,
) -> FileOutcome:
    try:
        return FileOutcome(
            path, result=ingest_file(engine, tenant_id, path, policy=policy, default_meter=default_meter)
        )
    except IngestError as error:
        message = str(error)
        return FileOutcome(path, error=message if path.name in message else f"{path.name}: {message}")
    except (OperationalError, InterfaceError):
        raise
    except DBAPIError as error:
        if error.connection_invalidated:
            raise
        log.warning("%s refused by the database: %s", path.name, error.orig)
        return FileOutcome(path, error=f"{path.name}: the database refused it ({_first_line(error.orig)})")
    except BaseException as error:  # polars panics are BaseException: they must not jam the inbox either
        if isinstance(error, KeyboardInterrupt | SystemExit):
            raise
        log.exception("%s could not be ingested", path.name)
        return FileOutcome(
            path,
            error=f"{path.name}: could not be ingested ({type(error).__name__}: {_first_line(error)}); "
            "nothing of it was written",
        )


def _first_line(error: object) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else "no details"
