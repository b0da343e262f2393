"""Paths resolve once, to absolute ones, the same in every process whatever its working directory.

``luna demo`` starts ``dagster dev`` with its home as working directory; with the default relative
``LUNA_DATA_DIR=.luna`` every Dagster run looked for stored files under ``dagster_home/.luna`` and
made a storage key of its own there. Here: the settings make a relative path absolute when they
are read; the demo hands its absolute paths (and the ``.env`` it read) to every process it starts;
and the knowledge and landing assets run from another working directory find what the API stored."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dagster import instance_for_test, materialize
from sqlalchemy import text

from luna_assets.definitions import ASSETS
from luna_cli.demo import child_env
from luna_core.db.tenancy import tenant_scope
from luna_core.landing import drop_file, pending_files
from luna_core.settings import Settings, get_settings
from luna_core.storage.keys import create_dev_key
from resources import resources_for
from tests import documents as make

SHOW = (
    "from luna_core.settings import get_settings as g; s = g(); "
    "print(s.data_dir); print(s.resolved_storage_dir); print(s.dagster_home); print(s.seed)"
)


def test_relative_paths_become_absolute_once_when_read(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.chdir(repo)
    settings = Settings(data_dir=Path(".luna"), storage_dir=Path("files"), market_csv_path=Path("p.csv"),
                        _env_file=None)  # fmt: skip
    assert settings.data_dir == repo / ".luna" and settings.resolved_storage_dir == repo / "files"
    assert settings.market_csv_path == repo / "p.csv" and settings.dagster_home == repo / ".luna" / "dagster_home"
    monkeypatch.chdir(tmp_path)  # the process moves on: its settings do not
    assert settings.data_dir == repo / ".luna"
    assert Settings.model_validate(settings.model_dump()).resolved_storage_dir == repo / "files"


def test_the_demo_gives_the_processes_it_starts_its_own_paths_and_env_file(tmp_path, monkeypatch):
    repo, home = tmp_path / "repo", tmp_path / "repo" / ".luna" / "dagster_home"
    home.mkdir(parents=True)
    (repo / ".env").write_text("LUNA_DATA_DIR=.luna\nLUNA_SEED=7\n")
    monkeypatch.chdir(repo)
    for name in ("LUNA_DATA_DIR", "LUNA_STORAGE_DIR", "LUNA_ENV_FILE", "LUNA_SEED"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    try:
        env = child_env()
    finally:
        get_settings.cache_clear()
    # A real child process in Dagster's home, as `dagster dev` and its run workers are started.
    shown = subprocess.run([sys.executable, "-c", SHOW], cwd=home, env=env, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == [str(repo / ".luna"), str(repo / ".luna" / "storage"), str(home), "7"]


def test_knowledge_and_landing_assets_run_from_another_working_directory(
    engine, settings, tenant_factory, tmp_path, monkeypatch
):
    tenant = tenant_factory("cwd")
    repo, home = tmp_path / "repo", tmp_path / "repo" / ".luna" / "dagster_home"
    home.mkdir(parents=True)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("LUNA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LUNA_VECTOR_DATABASE_URL", settings.vector_database_url)
    monkeypatch.setenv("LUNA_DATA_DIR", ".luna")  # relative, as in .env.example
    for name in ("LUNA_STORAGE_DIR", "LUNA_ENV_FILE", "LUNA_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    try:
        # The API and the demo's set-up, started in the repository: a key, a document, a landing file.
        api_side = get_settings()
        create_dev_key(api_side.data_dir)
        document = make.add_document(engine, api_side, tenant, "tarife.docx", make.docx_bytes())
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
        rows = [f"main,{(start + timedelta(minutes=15 * i)).isoformat()},0.25" for i in range(8)]
        csv = tmp_path / "readings.csv"
        csv.write_text("meter_id,ts,kwh\n" + "\n".join(rows) + "\n")
        drop_file(api_side, tenant, csv)

        # Dagster's processes: the environment the demo gives them, working directory its home.
        for name, value in child_env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(home)
        get_settings.cache_clear()
        with instance_for_test() as instance:
            instance.add_dynamic_partitions("tenants", [tenant])
            result = materialize(
                ASSETS,
                selection=["meter_readings", "documents", "document_chunks", "knowledge_index"],
                partition_key=tenant,
                instance=instance,
                resources=resources_for(),  # what the code location builds from the environment
            )
    finally:
        get_settings.cache_clear()
    assert result.success
    assert make.status_of(engine, tenant, document).status == "indexed"
    assert pending_files(api_side, tenant) == []
    with tenant_scope(engine, tenant) as connection:
        assert connection.execute(text("SELECT count(*) FROM meter_readings")).scalar_one() == 8
    assert not (home / ".luna").exists()  # nothing (no key, no storage) made up beside Dagster's home
