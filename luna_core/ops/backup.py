"""``luna backup``: the database, tenant files, the model store and a manifest of SHA-256 checksums.

Full backup (the platform): ``pg_dump --format=custom`` of Luna's database (and of MLflow's store
when it lives in PostgreSQL), the whole storage folder and the MLflow artifact folder.
Tenant backup (``tenant=``): each tenant table's rows as CSV via ``COPY (SELECT ...)`` inside the
tenant's row-level-security scope, the tenant's registry row, and ``storage/<tenant>`` only.
Encrypted blobs are copied as they are: keep ``LUNA_STORAGE_KEY`` (and old keys) with the backup,
in a separate safe place. The vector index is derived from the chunks in the database; the backup
records that it is rebuilt after a restore rather than copying a server-specific snapshot.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from luna_core.db import migrate
from luna_core.db.engine import owner_engine
from luna_core.db.tenancy import tenant_scope, validate_tenant_id
from luna_core.ops import pgtools
from luna_core.ops.archive import (
    Manifest,
    Progress,
    checksum_all,
    copy_tree,
    copyable_columns,
    files_under,
    no_progress,
    primary_key,
    quote,
    tenant_tables,
)
from luna_core.settings import Settings

VECTOR_NOTE = (
    "not copied: the vector index is derived from the chunks stored in the database; after a restore, "
    "reindex (pgvector keeps its embeddings in the database dump and needs nothing)"
)


def backup(settings: Settings, out: Path, tenant: str | None = None, progress: Progress = no_progress) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = out / (f"luna-backup-{stamp}" + (f"-{validate_tenant_id(tenant)}" if tenant else ""))
    target.mkdir(parents=True, exist_ok=False)
    target.chmod(0o700)
    engine = owner_engine(settings)
    notes = {"vector_index": VECTOR_NOTE}
    tables: dict[str, dict] = {}
    dump_major = None
    if tenant:
        tables = _tenant_rows(settings, tenant, target / "tables", progress)
        notes["models"] = "not in a tenant backup: the tenant's models are retrained from its restored history"
        _copy(settings.resolved_storage_dir / tenant, target / "storage" / tenant, "tenant files", progress)
    else:
        dump_major = _dump(engine.url, target / "database.dump", settings, progress, "database")
        notes.update(_models(settings, target / "models", progress))
        _copy(settings.resolved_storage_dir, target / "storage", "tenant files", progress)
    advance = progress("checksums", len(files_under(target)))
    Manifest(
        kind="tenant" if tenant else "full",
        tenant=tenant,
        created_at=datetime.now(UTC).isoformat(),
        schema_revision=migrate.current_revision(engine),
        pg_dump_major=dump_major,
        files=checksum_all(target, advance),
        notes=notes,
        tables=tables,
    ).write(target)
    return target


def _dump(url, path: Path, settings: Settings, progress: Progress, label: str) -> int:
    from sqlalchemy import create_engine

    probe = create_engine(url.set(drivername="postgresql+psycopg"))
    try:
        major = pgtools.server_major(probe)
    finally:
        probe.dispose()
    tool, tool_major = pgtools.find_tool("pg_dump", major, settings.pg_bin_dir)
    uri, env = pgtools.libpq(url)
    advance = progress(f"{label} (pg_dump {tool_major})", 1)
    pgtools.run([tool, "--format=custom", "--no-owner", f"--file={path}", f"--dbname={uri}"], env)
    advance(1)
    return tool_major


def _models(settings: Settings, target: Path, progress: Progress) -> dict[str, str]:
    notes = {}
    tracking = settings.mlflow_url or _default_mlflow(settings)
    if tracking and tracking.startswith("postgresql"):
        url = make_url(tracking)
        if _database_exists(settings, url.database):
            target.mkdir(parents=True, exist_ok=True)
            _dump(url, target / "mlflow.dump", settings, progress, "model store")
        else:
            notes["mlflow_store"] = f"database {url.database!r} does not exist (no models trained yet)"
    elif _database_exists(settings, "mlflow"):
        # A tracking server (compose) keeping its store in the database "mlflow" beside Luna's.
        target.mkdir(parents=True, exist_ok=True)
        _dump(
            owner_engine(settings).url.set(database="mlflow"), target / "mlflow.dump", settings, progress, "model store"
        )
    else:
        notes["mlflow_store"] = f"not copied: tracking server {tracking!r} keeps its own store (back it up there)"
    copied = _copy(settings.mlflow_artifact_root, target / "artifacts", "model artifacts", progress)
    if not copied:
        notes["mlflow_artifacts"] = f"{settings.mlflow_artifact_root} is empty or absent"
    return notes


def _default_mlflow(settings: Settings) -> str | None:
    try:
        return settings.mlflow_tracking_uri()
    except RuntimeError:
        return None


def _database_exists(settings: Settings, name: str | None) -> bool:
    with owner_engine(settings).connect() as connection:
        return connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": name}).first() is not None


def _copy(source: Path, target: Path, label: str, progress: Progress) -> int:
    advance = progress(label, len(files_under(source)))
    return copy_tree(source, target, advance)


def _tenant_rows(settings: Settings, tenant: str, target: Path, progress: Progress) -> dict[str, dict]:
    target.mkdir(parents=True)
    engine = owner_engine(settings)
    info: dict[str, dict] = {}
    with tenant_scope(engine, tenant) as connection:
        exists = connection.execute(text("SELECT 1 FROM tenants WHERE id = :t"), {"t": tenant}).first()
        if not exists:
            raise ValueError(f"tenant {tenant!r} does not exist")
        tables = ["tenants", *tenant_tables(connection)]
        advance = progress(f"tables of {tenant}", len(tables))
        for table in tables:
            column = "id" if table == "tenants" else "tenant_id"
            columns = copyable_columns(connection, table)
            order = primary_key(connection, table) or columns
            select = (
                f"SELECT {', '.join(map(quote, columns))} FROM {quote(table)} WHERE {column} = %s "
                f"ORDER BY {', '.join(map(quote, order))}"
            )
            cursor = connection.connection.driver_connection.cursor()
            rows = 0
            with (target / f"{table}.csv").open("wb") as handle:
                with cursor.copy(f"COPY ({select}) TO STDOUT (FORMAT csv, HEADER)", (tenant,)) as copy:
                    for chunk in copy:
                        handle.write(chunk)
                rows = cursor.rowcount
            # The manifest is written with sorted keys: keep the insert order (parents first) explicitly.
            info[table] = {"rows": rows, "columns": columns, "order": len(info)}
            if table == "meter_readings" and rows:
                low, high = connection.execute(
                    text("SELECT min(ts), max(ts) FROM meter_readings WHERE tenant_id = :t"), {"t": tenant}
                ).one()
                info[table]["ts_range"] = [low.isoformat(), high.isoformat()]
            advance(1)
    return info
