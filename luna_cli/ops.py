"""``luna backup``, ``luna restore`` and ``luna storage rotate-key``, with progress bars."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from luna_cli.common import console, one_line_errors, settings_with_database
from luna_core.ops.archive import BackupError
from luna_core.ops.pgtools import PgToolError
from luna_core.storage import BlobError, StorageKeyError

storage_app = typer.Typer(help="Tenant files at rest.", no_args_is_help=True)
OPS_ERRORS = (BackupError, PgToolError, BlobError, StorageKeyError)


@contextmanager
def _bars() -> Iterator[Callable[[str, int | None], Callable[[int], None]]]:
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:

        def start(description: str, total: int | None) -> Callable[[int], None]:
            task = progress.add_task(description, total=total)
            return lambda n=1: progress.advance(task, n)

        yield start


def _fail(error: Exception) -> typer.Exit:
    console.print(f"[red]error:[/red] {error}", highlight=False)
    return typer.Exit(1)


def backup_command(
    tenant: str | None = typer.Option(None, "--tenant", "-t", help="Only this tenant's rows and files."),
    out: Path = typer.Option(Path("backups"), "--out", help="Folder the backup folder is created in."),
) -> None:
    """Back up the database (pg_dump, or one tenant's rows as CSV), files and models, with checksums."""
    from luna_core.ops.backup import backup

    settings = settings_with_database()
    try:
        with _bars() as bars:
            target = backup(settings, out, tenant=tenant, progress=bars)
    except OPS_ERRORS as error:
        raise _fail(error) from None
    typer.echo(str(target))


def restore_command(
    source: Path = typer.Argument(..., help="A folder written by `luna backup`."),
    into: str | None = typer.Option(None, "--into", help="Target database URL (default LUNA_DATABASE_URL)."),
    storage_dir: Path | None = typer.Option(None, "--storage-dir", help="Target storage folder."),
) -> None:
    """Verify every checksum, then restore the database, files and models."""
    from luna_core.ops.restore import restore

    settings = settings_with_database()
    try:
        with _bars() as bars:
            manifest = restore(settings, source, into=into, storage_dir=storage_dir, progress=bars)
    except OPS_ERRORS as error:
        raise _fail(error) from None
    what = f"tenant {manifest.tenant}" if manifest.tenant else "full backup"
    console.print(f"restored {what} from {manifest.created_at} (schema {manifest.schema_revision})")
    console.print("next: `luna db upgrade` if the code is newer than the backup, then reindex documents")


@storage_app.command("rotate-key")
@one_line_errors
def rotate_key() -> None:
    """Re-encrypt every stored blob with LUNA_STORAGE_KEY (old keys in LUNA_STORAGE_KEYS_OLD)."""
    from luna_core.settings import get_settings
    from luna_core.storage import blob_store

    try:
        store = blob_store(get_settings())
        blobs = list(store.iter_blobs())
        with _bars() as bars:
            advance = bars(f"re-encrypting with key {store.keys.current_kid}", len(blobs))
            rotated, current = store.rotate(lambda ref, changed: advance(1))
    except OPS_ERRORS as error:
        raise _fail(error) from None
    console.print(f"{rotated} blob(s) re-encrypted, {current} already under key {store.keys.current_kid}")
    console.print("every blob is under the current key: old keys may be removed from LUNA_STORAGE_KEYS_OLD")


@storage_app.command("new-key")
@one_line_errors
def new_key(
    save: bool = typer.Option(
        False, "--save", help="Keep it as the development key under LUNA_DATA_DIR (never replaces one there)."
    ),
) -> None:
    """Print a fresh random key for LUNA_STORAGE_KEY (or keep one for development with --save)."""
    from luna_core.settings import get_settings
    from luna_core.storage.keys import create_dev_key, new_key_spec

    if not save:
        typer.echo(new_key_spec())
        return
    path, created = create_dev_key(get_settings().data_dir)
    if not created:
        raise ValueError(f"{path} exists already; a second key would leave the files stored with it unreadable")
    console.print(f"development storage key kept in {path} (mode 600); LUNA_STORAGE_KEY, when set, takes precedence")
