"""Files at rest: AES-GCM blobs on real files, tenant-scoped paths, key rotation through the CLI,
and no token or password in the API's JSON logs."""

from __future__ import annotations

import base64
import json
import os
import stat

import pytest
from typer.testing import CliRunner

from luna_cli.main import app
from luna_core.settings import Settings, get_settings
from luna_core.storage import BlobError, BlobNotFound, BlobStore, KeyRing, StorageKeyError
from luna_core.storage.keys import new_key_spec

DOC = b"%PDF-1.7 Betriebsanleitung W\xc3\xa4rmepumpe, secret contents " * 50


def _store(tmp_path, current: str, old: str | None = None) -> BlobStore:
    return BlobStore(tmp_path / "storage", KeyRing.from_specs(current, old))


def test_put_get_delete_round_trip_encrypted_on_disk(tmp_path):
    store = _store(tmp_path, new_key_spec())
    path = store.put("acme", "documents/1/manual.pdf", DOC)
    raw = path.read_bytes()
    assert (
        raw.startswith(b"LUNB\x01") and b"Betriebsanleitung" not in raw and len(raw) == len(DOC) + 5 + 1 + 8 + 12 + 16
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.get("acme", "documents/1/manual.pdf") == DOC
    assert store.delete("acme", "documents/1/manual.pdf") is True
    assert not (tmp_path / "storage" / "acme" / "documents").exists()  # emptied folders pruned
    with pytest.raises(BlobNotFound):
        store.get("acme", "documents/1/manual.pdf")
    assert store.delete("acme", "documents/1/manual.pdf") is False


@pytest.mark.parametrize(
    "relpath", ["../other/x", "a/../../x", "/etc/passwd", "a//b", "./a", "a\\b", "", "a\x00b", "x/" * 300]
)
def test_paths_outside_the_tenant_are_refused(tmp_path, relpath):
    store = _store(tmp_path, new_key_spec())
    with pytest.raises(BlobError):
        store.put("acme", relpath, b"x")


def test_bad_tenant_and_symlink_escape_are_refused(tmp_path):
    store = _store(tmp_path, new_key_spec())
    with pytest.raises(ValueError, match="invalid tenant id"):
        store.put("../acme", "a", b"x")
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "storage" / "acme").mkdir(parents=True)
    (tmp_path / "storage" / "acme" / "link").symlink_to(outside)
    with pytest.raises(BlobError, match="leaves the tenant"):
        store.put("acme", "link/x", b"x")
    assert not any(outside.iterdir())


def test_a_blob_moved_to_another_tenant_or_tampered_does_not_decrypt(tmp_path):
    store = _store(tmp_path, new_key_spec())
    path = store.put("acme", "doc", DOC)
    (tmp_path / "storage" / "globex").mkdir()
    moved = tmp_path / "storage" / "globex" / "doc"
    moved.write_bytes(path.read_bytes())
    with pytest.raises(BlobError, match="failed authentication"):
        store.get("globex", "doc")
    damaged = bytearray(path.read_bytes())
    damaged[-1] ^= 1
    path.write_bytes(bytes(damaged))
    with pytest.raises(BlobError, match="failed authentication"):
        store.get("acme", "doc")


def test_keys_are_validated_without_echoing_them():
    with pytest.raises(StorageKeyError, match="16 bytes") as error:
        KeyRing.from_specs(base64.b64encode(b"k" * 16).decode())
    assert "a2tr" not in str(error.value)
    with pytest.raises(StorageKeyError, match="not valid base64"):
        KeyRing.from_specs("not base64!!")
    ring = KeyRing.from_specs("2026a:" + new_key_spec())
    assert ring.current_kid == "2026a"


def test_rotate_key_cli_reencrypts_every_blob(tmp_path, monkeypatch):
    old, new = new_key_spec(), "2026b:" + new_key_spec()
    store = _store(tmp_path, old)
    blobs = {("acme", f"documents/{i}/f.txt"): os.urandom(100 + i) for i in range(5)}
    blobs[("globex", "documents/9/g.pdf")] = DOC
    for (tenant, relpath), data in blobs.items():
        store.put(tenant, relpath, data)
    inbox = tmp_path / "storage" / "acme" / "inbox" / "readings.csv"
    inbox.parent.mkdir(parents=True)
    inbox.write_text("meter_id,ts,kwh\n")  # a plain landing file: not a blob, left alone

    monkeypatch.setenv("LUNA_STORAGE_DIR", str(tmp_path / "storage"))
    monkeypatch.setenv("LUNA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LUNA_STORAGE_KEY", new)
    monkeypatch.setenv("LUNA_STORAGE_KEYS_OLD", old)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["storage", "rotate-key"])
        assert result.exit_code == 0, result.output
        assert "6 blob(s) re-encrypted" in result.output
        again = CliRunner().invoke(app, ["storage", "rotate-key"])
        assert "0 blob(s) re-encrypted, 6 already under key 2026b" in again.output
    finally:
        get_settings.cache_clear()
    new_only = _store(tmp_path, new)  # the old key is no longer needed
    assert {ref.kid for ref in new_only.iter_blobs()} == {"2026b"}
    for (tenant, relpath), data in blobs.items():
        assert new_only.get(tenant, relpath) == data
    assert inbox.read_text() == "meter_id,ts,kwh\n"
    with pytest.raises(StorageKeyError, match="neither LUNA_STORAGE_KEY"):
        _store(tmp_path, new_key_spec()).get("acme", "documents/0/f.txt")


def test_no_process_makes_up_a_storage_key_it_cannot_find(tmp_path, monkeypatch):
    """A process that looks in the wrong folder (another working directory, another LUNA_DATA_DIR)
    used to create a key of its own there: files it wrote nobody else could read, files others wrote
    it could not read. Now it refuses, naming where it looked; only `luna storage new-key --save`
    (and the demo's first set-up) create a key."""
    from luna_core.storage import blob_store

    with pytest.raises(StorageKeyError, match="LUNA_STORAGE_KEY must be set in prod"):
        blob_store(Settings(environment="prod", data_dir=tmp_path, _env_file=None)).put("acme", "x", b"y")
    dev = Settings(environment="dev", data_dir=tmp_path, _env_file=None)
    with pytest.raises(StorageKeyError, match="no storage key") as refused:
        blob_store(dev).put("acme", "x", b"y")
    assert str(tmp_path / "storage_key") in str(refused.value) and "luna storage new-key" in str(refused.value)
    assert not (tmp_path / "storage_key").exists() and not (tmp_path / "storage" / "acme" / "x").exists()

    monkeypatch.setenv("LUNA_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        made = CliRunner().invoke(app, ["storage", "new-key", "--save"])
        assert made.exit_code == 0, made.output
        key = (tmp_path / "storage_key").read_text()
        assert stat.S_IMODE((tmp_path / "storage_key").stat().st_mode) == 0o600
        again = CliRunner().invoke(app, ["storage", "new-key", "--save"])
        assert again.exit_code == 1 and "exists already" in again.output
        assert (tmp_path / "storage_key").read_text() == key  # never replaced
    finally:
        get_settings.cache_clear()
    blob_store(dev).put("acme", "x", b"y")
    assert blob_store(Settings(environment="dev", data_dir=tmp_path, _env_file=None)).get("acme", "x") == b"y"
    printed = CliRunner().invoke(app, ["storage", "new-key"])
    assert len(base64.b64decode(printed.output.strip())) == 32


def test_tokens_and_passwords_never_reach_the_logs(api_settings, api_user, capsys):
    from fastapi.testclient import TestClient

    from luna_api.main import create_app

    user = api_user(role="admin")
    dev = api_settings.model_copy(update={"environment": "dev"})  # INFO lines, as in production
    try:
        with TestClient(create_app(dev)) as client:
            login = client.post("/auth/token", data={"username": user.email, "password": user.password})
            token = login.json()["access_token"]
            refresh = login.json()["refresh_token"]
            client.get("/meters", headers={"Authorization": f"Bearer {token}"})
            client.get("/meters", params={"token": token, "password": user.password})
            client.post("/auth/refresh", json={"refresh_token": refresh})
            client.post("/auth/token", data={"username": user.email, "password": "wrong " + user.password})
    finally:
        create_app(api_settings)
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert any(line.get("route") == "/auth/token" for line in lines), "no request was logged"
    for secret in (token, refresh, user.password, api_settings.jwt_secret):
        assert secret not in out
