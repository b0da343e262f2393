"""Why a document could not be processed: a permanent rejection (the file itself is the problem)
or a passing outage (the vector store or the embedding server is down: try again later)."""

from __future__ import annotations


class DocumentRejected(ValueError):
    """The file can never be indexed as it is; ``code`` is machine-readable, the message says why."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class TooLarge(DocumentRejected):
    def __init__(self, message: str):
        super().__init__("too_large", message)


class ServiceUnavailable(RuntimeError):
    """A service the pipeline needs is unreachable; the document stays queued and is retried."""


class IndexUnavailable(ServiceUnavailable):
    pass


class EmbeddingUnavailable(ServiceUnavailable):
    pass
