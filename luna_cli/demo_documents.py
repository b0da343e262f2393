"""The demo tenants' sample documents (tariff sheet, device manual, energy-saving guide, in German and
English), shipped in ``luna_cli/demo_docs/<tenant>/`` and taken in through the upload route's core
function. ``luna materialize`` then extracts, chunks, embeds and indexes them."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from sqlalchemy import Engine

from luna_core.knowledge.uploads import submit_document
from luna_core.settings import Settings

UPLOADED_BY = "luna-demo"


@dataclass(frozen=True)
class DocumentsAdded:
    tenant_id: str
    added: int
    already_there: int


def demo_documents(tenant_id: str) -> list[tuple[str, bytes]]:
    """(file name, content) of the tenant's sample documents; none for a tenant without a folder."""
    folder = resources.files("luna_cli") / "demo_docs" / tenant_id
    if not folder.is_dir():
        return []
    return sorted((item.name, item.read_bytes()) for item in folder.iterdir() if item.is_file())


def add_demo_documents(engine: Engine, settings: Settings, tenant_ids: list[str]) -> list[DocumentsAdded]:
    """Queues each tenant's sample documents; ones already there (same SHA-256) are skipped."""
    summary = []
    for tenant_id in tenant_ids:
        added = present = 0
        for name, data in demo_documents(tenant_id):
            # No outbox request: the caller materializes the knowledge assets right after.
            submitted = submit_document(
                engine, settings, tenant_id, name, data, uploaded_by=UPLOADED_BY, request_processing=False
            )
            present += submitted.duplicate
            added += not submitted.duplicate
        summary.append(DocumentsAdded(tenant_id, added, present))
    return summary
