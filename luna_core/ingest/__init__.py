"""Meter-reading ingest: one validated, idempotent path behind every adapter (file, MQTT, HTTP)."""

from luna_core.ingest.errors import IngestError
from luna_core.ingest.pipeline import IngestResult, ingest_file, ingest_frame, ingest_records

__all__ = ["IngestError", "IngestResult", "ingest_file", "ingest_frame", "ingest_records"]
