"""Documents per tenant: claim the queued uploads, chunk and embed them into the record, and make
the vector index equal to the record. The API's background task runs the same core pipeline for a
fresh upload; these assets are the batch path, the retry path and the reconciliation."""

from dagster import AssetExecutionContext, Config, Failure, MaterializeResult, MetadataValue, asset
from pydantic import Field
from sqlalchemy import func, select

from luna_assets.partitions import tenants_partitions
from luna_core.db.schema import documents as documents_table
from luna_core.db.tenancy import tenant_scope
from luna_core.knowledge import pipeline, store
from luna_core.knowledge.errors import ServiceUnavailable
from luna_core.tenants import list_tenants
from resources import LunaResource


def _status_counts(luna: LunaResource, tenant: str) -> dict[str, int]:
    with tenant_scope(luna.engine(), tenant) as connection:
        rows = connection.execute(
            select(documents_table.c.status, func.count())
            .where(documents_table.c.tenant_id == tenant)
            .group_by(documents_table.c.status)
        )
        return {f"documents_{status}": count for status, count in rows}


class DocumentsConfig(Config):
    reprocess_all: bool = Field(
        False, description="queue every indexed document again first (a reindex from Luna's feedback signals)"
    )


@asset(
    partitions_def=tenants_partitions,
    group_name="knowledge",
    kinds={"postgres"},
    description="The tenant's uploaded documents: queued ones (and ones a dead worker left) are claimed "
    "for processing.",
)
def documents(context: AssetExecutionContext, config: DocumentsConfig, luna: LunaResource) -> MaterializeResult:
    tenant = context.partition_key
    claimed = pipeline.claim(luna.engine(), tenant, reprocess_all=config.reprocess_all)
    return MaterializeResult(metadata={"claimed": len(claimed), **_status_counts(luna, tenant)})


@asset(
    partitions_def=tenants_partitions,
    group_name="knowledge",
    kinds={"tika", "postgres"},
    deps=[documents],
    description="Checked, extracted (Apache Tika), chunked by headings and paragraphs and embedded into the "
    "record; embeddings are cached by chunk content, so unchanged text is never embedded twice.",
)
def document_chunks(context: AssetExecutionContext, luna: LunaResource) -> MaterializeResult:
    tenant = context.partition_key
    engine = luna.engine()
    with tenant_scope(engine, tenant) as connection:
        todo = store.unchunked(connection, tenant)
    outcome = pipeline.prepare_documents(engine, luna.knowledge(), tenant, todo)
    for document_id, reason in outcome.failed.items():
        context.log.warning(f"document {document_id} failed: {reason}")
    return MaterializeResult(
        metadata={
            "chunked": len(outcome.chunked),
            "failed": len(outcome.failed),
            "requeued": len(outcome.requeued),
            "embedded": outcome.embedded,
            "embeddings_cached": outcome.cached,
            "failures": MetadataValue.json({str(k): v for k, v in outcome.failed.items()}),
        }
    )


@asset(
    partitions_def=tenants_partitions,
    group_name="knowledge",
    kinds={"pgvector", "qdrant"},
    deps=[document_chunks],
    description="The vector index holds exactly the record's chunks of the tenant: missing ones upserted from "
    "the recorded embeddings, points without a chunk removed; processed documents become indexed. If the "
    "vector store is down the documents go back to queued and the run fails (the retry sensor tries again).",
)
def knowledge_index(context: AssetExecutionContext, luna: LunaResource) -> MaterializeResult:
    tenant = context.partition_key
    engine = luna.engine()
    try:
        report = pipeline.sync_index(engine, luna.knowledge(), tenant)
    except ServiceUnavailable as error:
        with tenant_scope(engine, tenant) as connection:
            waiting = store.documents_in(connection, tenant, "processing")
        pipeline.requeue(engine, tenant, waiting, error)
        raise Failure(f"vector store unavailable, {len(waiting)} documents back in the queue: {error}") from None
    return MaterializeResult(
        metadata={
            "upserted": report.upserted,
            "deleted_orphans": report.deleted,
            "indexed_documents": len(report.indexed_documents),
            **_status_counts(luna, tenant),
        }
    )


@asset(
    group_name="knowledge",
    kinds={"pgvector", "qdrant"},
    description="Blue/green rebuild of the whole vector index from the record (no re-embedding): a new "
    "collection, the alias swapped, writes made meanwhile reconciled, the old collection dropped. "
    "Requested by platform admins (POST /admin/knowledge/reindex).",
)
def knowledge_collection(context: AssetExecutionContext, luna: LunaResource) -> MaterializeResult:
    tenants = [tenant.id for tenant in list_tenants(luna.engine())]
    report = pipeline.rebuild_index(luna.engine(), luna.knowledge(), tenants)
    return MaterializeResult(
        metadata={
            "collection": report.collection,
            "previous": report.previous or "none",
            "points": report.points,
            "tenants": len(tenants),
        }
    )
