"""The file-drop landing zone: ``storage/<tenant>/inbox`` -> ``processed`` or ``rejected``.

Paths are built from validated tenant ids only, so no input can leave its tenant's folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from luna_core.db.tenancy import validate_tenant_id
from luna_core.ingest.pipeline import SUPPORTED_SUFFIXES
from luna_core.settings import Settings


def tenant_dir(settings: Settings, tenant_id: str) -> Path:
    return settings.resolved_storage_dir / validate_tenant_id(tenant_id)


def inbox_dir(settings: Settings, tenant_id: str) -> Path:
    return tenant_dir(settings, tenant_id) / "inbox"


def pending_files(settings: Settings, tenant_id: str) -> list[Path]:
    inbox = inbox_dir(settings, tenant_id)
    if not inbox.is_dir():
        return []
    return sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith("."))


def archive(settings: Settings, tenant_id: str, path: Path, outcome: str) -> Path:
    """Moves a handled file to ``processed`` or ``rejected`` (with its reason beside it)."""
    target_dir = tenant_dir(settings, tenant_id) / outcome
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / path.name
    # A file re-dropped under the same name keeps both copies: nothing handled is overwritten.
    copy = 1
    while target.exists():
        target = target_dir / f"{path.stem}.{copy}{path.suffix}"
        copy += 1
    shutil.move(path, target)
    return target


def drop_file(settings: Settings, tenant_id: str, source: Path) -> Path:
    """Places a file in the tenant's inbox (atomically: copy to a hidden name, then rename)."""
    if source.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise ValueError(f"{source.name}: unsupported file type; use .csv or .parquet")
    inbox = inbox_dir(settings, tenant_id)
    inbox.mkdir(parents=True, exist_ok=True)
    partial = inbox / f".{source.name}.part"
    shutil.copyfile(source, partial)
    return partial.rename(inbox / source.name)
