"""``luna restore``: checksums first, then the database, the files and the model store.

Nothing is written until every file of the backup matches its manifest. A full backup is restored
with ``pg_restore`` in one transaction into an empty database (the application roles are created
first when the target server lacks them); a tenant backup is inserted table by table into a
migrated database that does not hold that tenant yet, inside the tenant's row-level-security scope.
Files are copied into the storage folder; a file already there with other content stops the restore
before anything is copied.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from luna_core.db import migrate
from luna_core.ops import pgtools
from luna_core.ops.archive import (
    BackupError,
    Manifest,
    Progress,
    copyable_columns,
    files_under,
    no_progress,
    quote,
    sha256_file,
    verify,
)
from luna_core.settings import Settings

APP_ROLES_SQL = """
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
        CREATE ROLE "{role}" LOGIN NOINHERIT;
    END IF;
END $$;
"""


def restore(
    settings: Settings,
    source: Path,
    into: str | None = None,
    storage_dir: Path | None = None,
    progress: Progress = no_progress,
) -> Manifest:
    manifest = Manifest.read(source)
    verify(source, manifest, progress("verifying checksums", len(manifest.files)))
    url = _with_psycopg(make_url(into) if into else settings.owner_url())
    storage = storage_dir or settings.resolved_storage_dir
    _check_files(source / "storage", storage)
    if manifest.kind == "full":
        _restore_dump(settings, url, source / "database.dump", progress, "database")
        models = source / "models"
        if (models / "mlflow.dump").is_file():
            _restore_dump(
                settings,
                url.set(database=_mlflow_database(settings)),
                models / "mlflow.dump",
                progress,
                "model store",
                create=True,
            )
        _copy_checked(models / "artifacts", settings.mlflow_artifact_root, progress, "model artifacts")
    else:
        assert manifest.tenant is not None
        _restore_tenant(settings, url, source / "tables", manifest, progress)
    _copy_checked(source / "storage", storage, progress, "tenant files")
    return manifest


def _with_psycopg(url: URL) -> URL:
    if not url.drivername.startswith("postgresql"):
        raise ValueError("--into must be a PostgreSQL URL (postgresql://...)")
    return url.set(drivername="postgresql+psycopg")


def _mlflow_database(settings: Settings) -> str:
    tracking = settings.mlflow_url or settings.mlflow_tracking_uri()
    return make_url(tracking).database if tracking.startswith("postgresql") else "mlflow"


def _ensure_database(url: URL, create: bool) -> None:
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": url.database}
            ).first()
            if not exists:
                if not create:
                    raise BackupError(f"database {url.database!r} does not exist: create it empty first")
                connection.execute(text(f"CREATE DATABASE {quote(url.database or '')}"))
    finally:
        server.dispose()


def _restore_dump(
    settings: Settings, url: URL, dump: Path, progress: Progress, label: str, create: bool = True
) -> None:
    _ensure_database(url, create)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            used = connection.execute(
                text(
                    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
                )
            ).scalar_one()
            if used:
                raise BackupError(
                    f"target database {url.database!r} is not empty ({used} tables): restore into a new one"
                )
            for role in (settings.app_db_role, "luna_analyst"):
                connection.execute(text(APP_ROLES_SQL.format(role=role)))
        major = pgtools.server_major(engine)
    finally:
        engine.dispose()
    tool, tool_major = pgtools.find_tool("pg_restore", major, settings.pg_bin_dir)
    uri, env = pgtools.libpq(url)
    advance = progress(f"{label} (pg_restore {tool_major})", 1)
    pgtools.run([tool, "--no-owner", "--exit-on-error", "--single-transaction", f"--dbname={uri}", str(dump)], env)
    advance(1)


def _restore_tenant(settings: Settings, url: URL, tables_dir: Path, manifest: Manifest, progress: Progress) -> None:
    tenant = manifest.tenant
    engine = create_engine(url)
    try:
        if migrate.current_revision(engine) is None:
            migrate.upgrade(engine, settings.app_db_role)
        with engine.begin() as connection:
            connection.execute(text("SELECT set_config('luna.tenant_id', :t, true)"), {"t": tenant})
            if connection.execute(text("SELECT 1 FROM tenants WHERE id = :t"), {"t": tenant}).first():
                raise BackupError(f"tenant {tenant!r} already exists in the target database")
            advance = progress(f"tables of {tenant}", len(manifest.tables))
            for table, info in sorted(manifest.tables.items(), key=lambda item: item[1]["order"]):
                _insert_csv(connection, table, info, tables_dir / f"{table}.csv")
                advance(1)
    finally:
        engine.dispose()


def _insert_csv(connection, table: str, info: dict, path: Path) -> None:
    """COPY cannot write into a table under row-level security: COPY into a stage, then INSERT."""
    columns = info["columns"]
    missing = set(columns) - set(copyable_columns(connection, table))
    if missing:
        raise BackupError(f"table {table} in the target lacks column(s) {sorted(missing)}: upgrade it first")
    if table == "meter_readings" and info.get("ts_range"):
        connection.execute(
            text("SELECT luna_ensure_reading_partitions(:a, :b)"), {"a": info["ts_range"][0], "b": info["ts_range"][1]}
        )
    names = ", ".join(map(quote, columns))
    stage = f"restore_{table}"[:60]
    connection.execute(text(f"CREATE TEMP TABLE {quote(stage)} (LIKE {quote(table)}) ON COMMIT DROP"))
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {quote(stage)} ({names}) FROM STDIN (FORMAT csv, HEADER)") as copy, path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            copy.write(block)
    order = "id" if "id" in columns else columns[0]
    # The audit rows come back exactly as they were (hash, link, chain place; rows from before
    # migration 0013 cannot be re-hashed by today's rule), and their chain head with them: the
    # chain trigger stays off for this insert, inside the restore's transaction (owner only).
    keep_chain = table == "audit_log"
    if keep_chain:
        connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_chain"))
    # OVERRIDING SYSTEM VALUE keeps the original ids.
    connection.execute(
        text(
            f"INSERT INTO {quote(table)} ({names}) OVERRIDING SYSTEM VALUE "
            f"SELECT {names} FROM {quote(stage)} ORDER BY {quote(order)}"
        )
    )
    if keep_chain:
        connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_chain"))
    for sequence_column in connection.execute(
        text("SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) AND attidentity <> ''"),
        {"t": table},
    ).scalars():
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence(:t, :c), GREATEST("
                f"(SELECT coalesce(max({quote(sequence_column)}), 1) FROM {quote(table)}), "
                f"nextval(pg_get_serial_sequence(:t, :c))))"
            ),
            {"t": table, "c": sequence_column},
        )


def _check_files(source: Path, target: Path) -> None:
    for path in files_under(source):
        existing = target / path.relative_to(source)
        if existing.exists() and sha256_file(existing) != sha256_file(path):
            raise BackupError(f"{existing} exists with other content; restore into an empty storage folder")


def _copy_checked(source: Path, target: Path, progress: Progress, label: str) -> None:
    files = files_under(source)
    advance = progress(label, len(files))
    for path in files:
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
        advance(1)


def describe(manifest: Manifest) -> str:
    return json.dumps({"kind": manifest.kind, "tenant": manifest.tenant, "schema": manifest.schema_revision})
