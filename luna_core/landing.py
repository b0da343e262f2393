"""The file-drop landing zone: ``storage/<tenant>/inbox`` -> ``processed`` or ``rejected``.

Paths are built from validated tenant ids only, so no input can leave its tenant's folder.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from luna_core.db.tenancy import validate_tenant_id
from luna_core.ingest.outcome import FileOutcome, ingest_file_outcome
from luna_core.ingest.pipeline import SUPPORTED_SUFFIXES
from luna_core.ingest.validate import IngestPolicy
from luna_core.settings import Settings

INBOX_TOTALS = ("rows_received", "rows_stored", "rows_unchanged", "rows_duplicate", "rows_quarantined")


def tenant_dir(settings: Settings, tenant_id: str) -> Path:
    return settings.resolved_storage_dir / validate_tenant_id(tenant_id)


def inbox_dir(settings: Settings, tenant_id: str) -> Path:
    return tenant_dir(settings, tenant_id) / "inbox"


def pending_files(settings: Settings, tenant_id: str) -> list[Path]:
    inbox = inbox_dir(settings, tenant_id)
    if not inbox.is_dir():
        return []
    return sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith("."))


def archive(settings: Settings, tenant_id: str, path: Path, outcome: str, *, reason: str | None = None) -> Path:
    """Moves a handled file to ``processed`` or ``rejected`` (with its reason beside it, in
    ``<name>.reason.txt``, when one is given)."""
    target_dir = tenant_dir(settings, tenant_id) / outcome
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / path.name
    # A file re-dropped under the same name keeps both copies: nothing handled is overwritten.
    copy = 1
    while target.exists():
        target = target_dir / f"{path.stem}.{copy}{path.suffix}"
        copy += 1
    shutil.move(path, target)
    if reason is not None:
        target.with_name(target.name + ".reason.txt").write_text(f"{reason}\n")
    return target


@dataclass
class InboxReport:
    """What one pass over a tenant's inbox did: every file in ``outcomes``, in the order read."""

    outcomes: list[FileOutcome] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(INBOX_TOTALS, 0))

    @property
    def files_ingested(self) -> list[str]:
        return [o.path.name for o in self.outcomes if not o.refused]

    @property
    def files_rejected(self) -> list[str]:
        return [o.error for o in self.outcomes if o.error is not None]

    @property
    def notes(self) -> list[str]:
        return [f"{o.path.name}: {note}" for o in self.outcomes if o.result for note in o.result.notes]


def ingest_inbox(
    settings: Settings, engine: Engine, tenant_id: str, *, policy: IngestPolicy | None = None
) -> InboxReport:
    """Ingests every pending file of the tenant's inbox and archives it: ``processed``, or
    ``rejected`` with its reason. Whatever is wrong with one file, it leaves the inbox with its
    reason and the next is read (only an unreachable database is raised, see ``ingest.outcome``)."""
    report = InboxReport()
    for path in pending_files(settings, tenant_id):
        outcome = ingest_file_outcome(engine, tenant_id, path, policy=policy)
        report.outcomes.append(outcome)
        if outcome.refused:
            archive(settings, tenant_id, path, "rejected", reason=outcome.error)
            continue
        assert outcome.result is not None
        archive(settings, tenant_id, path, "processed")
        for key in INBOX_TOTALS:
            report.totals[key] += getattr(outcome.result, key)
    return report


def drop_file(settings: Settings, tenant_id: str, source: Path) -> Path:
    """Places a file in the tenant's inbox (atomically: copy to a hidden name, then rename)."""
    if source.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise ValueError(f"{source.name}: unsupported file type; use .csv or .parquet")
    inbox = inbox_dir(settings, tenant_id)
    inbox.mkdir(parents=True, exist_ok=True)
    partial = inbox / f".{source.name}.part"
    shutil.copyfile(source, partial)
    return partial.rename(inbox / source.name)
