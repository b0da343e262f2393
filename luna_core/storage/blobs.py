"""Encrypted tenant blobs: AES-256-GCM at rest, one file per blob under ``<root>/<tenant>/<relpath>``.

The API is small on purpose (the knowledge module's document files go through it):

    store = blob_store(settings)
    store.put("acme", "documents/42/manual.pdf", data)   # encrypt + atomic write (mode 600)
    store.get("acme", "documents/42/manual.pdf")         # -> bytes; BlobNotFound if absent
    store.delete("acme", "documents/42/manual.pdf")      # -> True if it existed

File layout: ``LUNB`` + version byte, key-id length byte, key id, 12-byte nonce, ciphertext with
the 16-byte GCM tag. The header, tenant and relative path are authenticated data, so a blob copied
to another tenant's folder (or renamed) fails to decrypt instead of leaking into the wrong tenant.
Paths are built from a validated tenant id and a relative path without ``..``, absolute parts or
symlinks out of the tenant folder. Plain files in the same tree (the landing inbox) are left alone.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from luna_core.db.tenancy import validate_tenant_id
from luna_core.settings import Settings
from luna_core.storage.keys import KeyRing, StorageKeyError, dev_key_spec

MAGIC = b"LUNB\x01"
NONCE_BYTES = 12
MAX_RELPATH = 512


class BlobError(ValueError):
    """A bad path, a damaged blob, or a blob this key ring cannot open."""


class BlobNotFound(BlobError, FileNotFoundError):
    pass


@dataclass(frozen=True)
class BlobRef:
    tenant_id: str
    relpath: str
    path: Path
    kid: str


def _relpath(relpath: str) -> str:
    if not isinstance(relpath, str) or not relpath or len(relpath) > MAX_RELPATH:
        raise BlobError(f"blob path must be 1-{MAX_RELPATH} characters")
    if "\\" in relpath or "\x00" in relpath or relpath.startswith("/"):
        raise BlobError(f"blob path {relpath!r} must be relative, with '/' separators")
    parts = relpath.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise BlobError(f"blob path {relpath!r} may not contain empty, '.' or '..' parts")
    return str(PurePosixPath(*parts))


def _header(kid: str, nonce: bytes) -> bytes:
    encoded = kid.encode("ascii")
    return MAGIC + bytes([len(encoded)]) + encoded + nonce


def _aad(header: bytes, tenant_id: str, relpath: str) -> bytes:
    return header + b"\x00" + tenant_id.encode() + b"\x00" + relpath.encode()


def _split(blob: bytes) -> tuple[str, bytes, bytes, bytes]:
    """(kid, nonce, header, ciphertext) of a stored blob."""
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 1:
        raise BlobError("not an encrypted Luna blob")
    kid_len = blob[len(MAGIC)]
    kid_end = len(MAGIC) + 1 + kid_len
    header_end = kid_end + NONCE_BYTES
    if len(blob) < header_end + 16:
        raise BlobError("blob is truncated")
    kid = blob[len(MAGIC) + 1 : kid_end].decode("ascii", errors="replace")
    return kid, blob[kid_end:header_end], blob[:header_end], blob[header_end:]


class BlobStore:
    def __init__(self, root: Path, keys: KeyRing | Callable[[], KeyRing]) -> None:
        self.root = Path(root)
        self._keys = keys

    @property
    def keys(self) -> KeyRing:
        """The key ring, read on first use: finding, checking or deleting a blob needs no key."""
        if not isinstance(self._keys, KeyRing):
            self._keys = self._keys()
        return self._keys

    def tenant_dir(self, tenant_id: str) -> Path:
        return self.root / validate_tenant_id(tenant_id)

    def path(self, tenant_id: str, relpath: str) -> Path:
        base = self.tenant_dir(tenant_id)
        target = base / _relpath(relpath)
        # A symlink inside the tree must not lead out of the tenant's folder.
        if not target.resolve().is_relative_to(base.resolve()):
            raise BlobError(f"blob path {relpath!r} leaves the tenant's folder")
        return target

    def encrypt(self, tenant_id: str, relpath: str, data: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        header = _header(self.keys.current_kid, nonce)
        return header + AESGCM(self.keys.current).encrypt(nonce, data, _aad(header, tenant_id, relpath))

    def decrypt(self, tenant_id: str, relpath: str, blob: bytes) -> bytes:
        kid, nonce, header, ciphertext = _split(blob)
        try:
            return AESGCM(self.keys.get(kid)).decrypt(nonce, ciphertext, _aad(header, tenant_id, relpath))
        except InvalidTag:
            raise BlobError(f"blob {tenant_id}/{relpath} failed authentication (damaged, moved or wrong key)") from None

    def put(self, tenant_id: str, relpath: str, data: bytes) -> Path:
        """Encrypt and write atomically: a reader sees the old blob or the new one, never half."""
        relpath = _relpath(relpath)
        target = self.path(tenant_id, relpath)
        self._write(target, self.encrypt(tenant_id, relpath, data))
        return target

    def get(self, tenant_id: str, relpath: str) -> bytes:
        relpath = _relpath(relpath)
        target = self.path(tenant_id, relpath)
        try:
            blob = target.read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {relpath!r} for tenant {tenant_id}") from None
        return self.decrypt(tenant_id, relpath, blob)

    def exists(self, tenant_id: str, relpath: str) -> bool:
        return self.path(tenant_id, relpath).is_file()

    def delete(self, tenant_id: str, relpath: str) -> bool:
        target = self.path(tenant_id, relpath)
        try:
            target.unlink()
        except FileNotFoundError:
            return False
        base = self.tenant_dir(tenant_id)
        for parent in target.parents:  # prune folders the blob leaves empty, never the tenant's own
            if parent == base or not parent.is_relative_to(base) or any(parent.iterdir()):
                break
            parent.rmdir()
        return True

    def iter_blobs(self) -> Iterator[BlobRef]:
        """Every encrypted blob of every tenant (plain files such as the landing inbox are skipped)."""
        if not self.root.is_dir():
            return
        for tenant_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for path in sorted(p for p in tenant_dir.rglob("*") if p.is_file() and not p.name.startswith(".tmp-")):
                with path.open("rb") as handle:
                    head = handle.read(len(MAGIC) + 1 + 255)
                if not head.startswith(MAGIC):
                    continue
                kid_len = head[len(MAGIC)]
                kid = head[len(MAGIC) + 1 : len(MAGIC) + 1 + kid_len].decode("ascii", errors="replace")
                yield BlobRef(tenant_dir.name, path.relative_to(tenant_dir).as_posix(), path, kid)

    def rotate(self, on_blob: Callable[[BlobRef, bool], None] | None = None) -> tuple[int, int]:
        """Re-encrypt every blob not yet under the current key; returns (re-encrypted, already current).

        Each blob is replaced atomically, so an interrupted rotation is simply run again.
        """
        rotated = current = 0
        for ref in list(self.iter_blobs()):
            changed = ref.kid != self.keys.current_kid
            if changed:
                data = self.decrypt(ref.tenant_id, ref.relpath, ref.path.read_bytes())
                self._write(ref.path, self.encrypt(ref.tenant_id, ref.relpath, data))
                rotated += 1
            else:
                current += 1
            if on_blob:
                on_blob(ref, changed)
        return rotated, current

    @staticmethod
    def _write(target: Path, payload: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def key_ring(settings: Settings) -> KeyRing:
    """The configured keys; never a new one (see ``keys.dev_key_spec``)."""
    if settings.storage_key:
        return KeyRing.from_specs(settings.storage_key, settings.storage_keys_old)
    if settings.environment == "prod":
        raise StorageKeyError(
            "LUNA_STORAGE_KEY must be set in prod (base64 of 32 random bytes: `luna storage new-key`)"
        )
    return KeyRing.from_specs(dev_key_spec(settings.data_dir), settings.storage_keys_old)


def blob_store(settings: Settings) -> BlobStore:
    """The tenant blobs under the storage folder; the key ring is read when a blob is encrypted or
    decrypted, and a missing key is a ``StorageKeyError`` then."""
    return BlobStore(settings.resolved_storage_dir, lambda: key_ring(settings))
