"""What backup and restore share: the manifest with checksums, file copying, tenant tables, progress."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, text

MANIFEST = "manifest.json"
FORMAT_VERSION = 1

# (description, total or None) -> advance(n); the CLI turns it into a rich progress bar.
Progress = Callable[[str, int | None], Callable[[int], None]]


def no_progress(description: str, total: int | None) -> Callable[[int], None]:
    return lambda n=1: None


class BackupError(RuntimeError):
    pass


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []


def copy_tree(source: Path, target: Path, advance: Callable[[int], None]) -> int:
    """Copies every file (keeping relative paths and modes); returns the number copied."""
    count = 0
    for path in files_under(source):
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
        advance(1)
        count += 1
    return count


@dataclass
class Manifest:
    kind: str  # "full" | "tenant"
    tenant: str | None
    created_at: str
    schema_revision: str | None
    pg_dump_major: int | None
    files: dict[str, dict]
    notes: dict[str, str]
    tables: dict[str, dict]

    def write(self, directory: Path) -> None:
        body = {"format": FORMAT_VERSION, **self.__dict__}
        (directory / MANIFEST).write_text(json.dumps(body, indent=2, sort_keys=True))

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST
        if not path.is_file():
            raise BackupError(f"{directory} has no {MANIFEST}: not a Luna backup")
        body = json.loads(path.read_text())
        if body.pop("format", None) != FORMAT_VERSION:
            raise BackupError(f"{path}: unsupported backup format")
        return cls(**body)


def checksum_all(directory: Path, advance: Callable[[int], None]) -> dict[str, dict]:
    files = {}
    for path in files_under(directory):
        relative = path.relative_to(directory).as_posix()
        if relative == MANIFEST:
            continue
        files[relative] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
        advance(1)
    return files


def verify(directory: Path, manifest: Manifest, advance: Callable[[int], None]) -> None:
    """Every listed file present with its checksum, and nothing unlisted: before anything is written."""
    present = {p.relative_to(directory).as_posix() for p in files_under(directory)} - {MANIFEST}
    if missing := sorted(set(manifest.files) - present):
        raise BackupError(f"backup incomplete: {len(missing)} file(s) missing, e.g. {missing[0]}")
    if extra := sorted(present - set(manifest.files)):
        raise BackupError(f"backup has {len(extra)} file(s) not in its manifest, e.g. {extra[0]}")
    for relative, expected in sorted(manifest.files.items()):
        if sha256_file(directory / relative) != expected["sha256"]:
            raise BackupError(f"checksum mismatch: {relative} was changed or damaged")
        advance(1)


def tenant_tables(connection: Connection) -> list[str]:
    """Tables with a tenant_id column (partitions excluded), parents before children by foreign keys."""
    rows = connection.execute(
        text(
            """
            SELECT c.relname FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
            WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
            ORDER BY c.relname
            """
        )
    ).scalars()
    tables = list(rows)
    edges = connection.execute(
        text(
            """
            SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k
            JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
            WHERE k.contype = 'f'
            """
        )
    ).all()
    return _topological(tables, [(e.child, e.parent) for e in edges])


def _topological(tables: list[str], edges: Iterable[tuple[str, str]]) -> list[str]:
    parents = {t: {p for c, p in edges if c == t and p in tables and p != t} for t in tables}
    ordered: list[str] = []
    while len(ordered) < len(tables):
        ready = [t for t in tables if t not in ordered and parents[t] <= set(ordered)]
        if not ready:  # a cycle: keep the remaining order, COPY will say what fails
            ready = [t for t in tables if t not in ordered]
        ordered += ready
    return ordered


def copyable_columns(connection: Connection, table: str) -> list[str]:
    """Columns COPY can write back: generated columns are computed again on restore."""
    return list(
        connection.execute(
            text(
                """
                SELECT attname FROM pg_attribute
                WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
                ORDER BY attnum
                """
            ),
            {"t": table},
        ).scalars()
    )


def primary_key(connection: Connection, table: str) -> list[str]:
    return list(
        connection.execute(
            text(
                """
                SELECT a.attname FROM pg_index i
                JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
                WHERE i.indrelid = CAST(:t AS regclass) AND i.indisprimary
                ORDER BY array_position(i.indkey, a.attnum)
                """
            ),
            {"t": table},
        ).scalars()
    )


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
