"""Meter-reading ingest: one validated, idempotent path behind every adapter (file, MQTT, HTTP)."""

from luna_core.ingest.errors import IngestError
from luna_core.ingest.pipeline import IngestResult, ingest_file, ingest_frame, ingest_records
from luna_core.ingest.validate import IngestPolicy

__all__ = ["IngestError", "IngestPolicy", "IngestResult", "ingest_file", "ingest_frame", "ingest_records"]
