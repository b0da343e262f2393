"""Storage keys: the current one encrypts, every known one decrypts.

``LUNA_STORAGE_KEY`` is a base64-encoded 32-byte key, optionally prefixed ``kid:``. Without a
prefix its id is the first 8 hex digits of the key's SHA-256, so operators need not name keys.
``LUNA_STORAGE_KEYS_OLD`` lists retired keys the same way, comma-separated: blobs written with
them stay readable until ``luna storage rotate-key`` has re-encrypted them with the current key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

KEY_BYTES = 32
_KID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class StorageKeyError(ValueError):
    pass


def derive_kid(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def parse_key(spec: str) -> tuple[str, bytes]:
    """``[kid:]base64`` -> (kid, 32 key bytes); the error never echoes the key material."""
    spec = spec.strip()
    kid, _, material = spec.rpartition(":") if ":" in spec else ("", "", spec)
    try:
        key = base64.b64decode(material, validate=True)
    except (binascii.Error, ValueError):
        raise StorageKeyError("a storage key is not valid base64 (expected [kid:]base64 of 32 bytes)") from None
    if len(key) != KEY_BYTES:
        raise StorageKeyError(f"a storage key decodes to {len(key)} bytes; AES-256 needs {KEY_BYTES}")
    kid = kid or derive_kid(key)
    if not _KID.fullmatch(kid):
        raise StorageKeyError(f"key id {kid!r}: use up to 32 letters, digits, '.', '_' or '-'")
    return kid, key


def new_key_spec() -> str:
    """A fresh key in the format ``LUNA_STORAGE_KEY`` takes (no kid prefix: derived)."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


@dataclass(frozen=True)
class KeyRing:
    current_kid: str
    keys: dict[str, bytes]

    @classmethod
    def from_specs(cls, current: str, old: str | None = None) -> KeyRing:
        kid, key = parse_key(current)
        keys = {kid: key}
        for spec in (old or "").split(","):
            if spec.strip():
                old_kid, old_key = parse_key(spec)
                if old_kid in keys and keys[old_kid] != old_key:
                    raise StorageKeyError(f"two different storage keys share the id {old_kid!r}")
                keys.setdefault(old_kid, old_key)
        return cls(kid, keys)

    @property
    def current(self) -> bytes:
        return self.keys[self.current_kid]

    def get(self, kid: str) -> bytes:
        try:
            return self.keys[kid]
        except KeyError:
            raise StorageKeyError(
                f"blob was encrypted with key {kid!r}, which is neither LUNA_STORAGE_KEY nor in LUNA_STORAGE_KEYS_OLD"
            ) from None


DEV_KEY_FILE = "storage_key"


def dev_key_path(data_dir: Path) -> Path:
    return data_dir / DEV_KEY_FILE


def dev_key_spec(data_dir: Path) -> str:
    """Outside prod without ``LUNA_STORAGE_KEY``: the key kept (mode 600) under the data directory.

    Never created here: a process that looks in the wrong folder (another working directory,
    another ``LUNA_DATA_DIR``) must fail loudly instead of encrypting with a key of its own that
    no other process knows, and reading nothing the others wrote."""
    path = dev_key_path(data_dir)
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        raise StorageKeyError(
            f"no storage key: LUNA_STORAGE_KEY is not set and there is no key file at {path}. Set "
            "LUNA_STORAGE_KEY (make one with `luna storage new-key`), or check that LUNA_DATA_DIR is the "
            "folder the other Luna processes use (`luna storage new-key --save` keeps a development key there)"
        ) from None


def create_dev_key(data_dir: Path) -> tuple[Path, bool]:
    """Keeps a new development key under the data directory unless one is there; (path, created).
    Only ``luna storage new-key --save`` and the demo's first set-up call this."""
    path = dev_key_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never replaces a key in use
    except FileExistsError:
        return path, False
    with os.fdopen(fd, "w") as handle:
        handle.write(new_key_spec())
    return path, True
