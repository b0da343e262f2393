"""Why a document could not be processed: the file itself is the problem (``DocumentRejected``: it
can never be indexed as it is), or something outside it is (``ServiceUnavailable``: the vector
store, the embedding or Tika server, the file storage or its key). Only the first fails a document;
the second leaves its last good index answering and marks it as needing attention until a retry
succeeds."""

from __future__ import annotations


class DocumentRejected(ValueError):
    """The file can never be indexed as it is; ``code`` is machine-readable, the message says why."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class TooLarge(DocumentRejected):
    def __init__(self, message: str):
        super().__init__("too_large", message)


class ProcessingTimeout(DocumentRejected):
    def __init__(self, message: str):
        super().__init__("timeout", message)


class ServiceUnavailable(RuntimeError):
    """Something the pipeline needs outside the document is unreachable or misconfigured; the
    document keeps what it had and is retried. ``detail`` is for operators (logs, Dagster), the
    message for the tenant (it never names server paths)."""

    code = "service_unavailable"

    def __init__(self, message: str, detail: str | None = None):
        super().__init__(message)
        self.detail = detail or message


class IndexUnavailable(ServiceUnavailable):
    code = "index_unavailable"


class EmbeddingUnavailable(ServiceUnavailable):
    code = "embedding_unavailable"


class StorageUnavailable(ServiceUnavailable):
    """The stored file cannot be read or written: missing, not decryptable with the configured
    key, damaged, or the storage itself unreachable."""

    def __init__(self, code: str, message: str, detail: str | None = None):
        super().__init__(message, detail)
        self.code = code


class ClaimLost(RuntimeError):
    """Another worker holds the document now (or it was deleted): this one stops without writing."""
