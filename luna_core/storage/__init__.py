"""Tenant files at rest: encrypted blobs under ``storage/<tenant>/...`` (see ``blobs``)."""

from luna_core.storage.blobs import BlobError, BlobNotFound, BlobStore, blob_store
from luna_core.storage.keys import KeyRing, StorageKeyError

__all__ = ["BlobError", "BlobNotFound", "BlobStore", "KeyRing", "StorageKeyError", "blob_store"]
