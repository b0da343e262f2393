"""Documents per tenant: claim the ones due, process and publish them, and make the vector index
equal to the record. The API's background task runs the same core pipeline for a fresh upload; a
claim keeps the two off each other's documents. These assets are the batch path, the retry path
(dead workers, documents needing attention) and the reconciliation."""

import uuid

from dagster import AssetExecutionContext, Config, Failure, MaterializeResult, MetadataValue, asset
from pydantic import Field

from luna_core.db.tenancy import tenant_scope
from luna_core.knowledge import pipeline, store
from luna_core.knowledge.errors import ServiceUnavailable
from luna_core.tenants import list_tenants
from resources import DatabaseResource, KnowledgeResource
from sensors.partitions import tenants_partitions


def _status_counts(database: DatabaseResource, tenant: str) -> dict[str, int]:
    with tenant_scope(database.engine(), tenant) as connection:
        counts = store.status_counts(connection, tenant)
    return {f"documents_{status}": count for status, count in counts.items()}


class DocumentsConfig(Config):
    reprocess_all: bool = Field(
        False, description="queue every indexed document again first (a reindex from Luna's feedback signals)"
    )
    document_ids: list[str] = Field(
        default_factory=list,
        description="documents a request asked for: retried now even if they wait for a later retry",
    )


def _owner(context: AssetExecutionContext) -> str:
    """The run holds the claims: its ``documents`` step takes them, ``document_chunks`` works them."""
    return f"dagster:{context.run_id}"


@asset(
    partitions_def=tenants_partitions,
    group_name="knowledge",
    kinds={"postgres"},
    description="The tenant's uploaded documents: the ones due (queued, left by a dead worker, or needing "
    "attention and due for a retry) are claimed by this run; ones another worker holds are left to it.",
)
def documents(context: AssetExecutionContext, config: DocumentsConfig, database: DatabaseResource) -> MaterializeResult:
    tenant = context.partition_key
    wanted = [uuid.UUID(d) for d in config.document_ids]
    claimed = pipeline.claim(database.engine(), tenant, _owner(context), config.reprocess_all, wanted)
    return MaterializeResult(metadata={"claimed": len(claimed), **_status_counts(database, tenant)})


@asset(
    partitions_def=tenants_partitions,
    group_name="knowledge",
    kinds={"tika", "postgres", "pgvector", "qdrant"},
    deps=[documents],
    description="Each document this run claimed: checked, extracted (Apache Tika), chunked by headings and "
    "paragraphs, embedded (cached by chunk content, so unchanged text is never embedded twice) and published "
    "blue/green: the new vectors beside the live ones, then the record switches. A file that can never be "
    "indexed fails; anything outside the document (its stored file missing, the storage key, the vector store "
    "or embedding server) leaves its last index answering, marks it as needing attention and fails the run.",
)
def document_chunks(
    context: AssetExecutionContext, database: DatabaseResource, knowledge: KnowledgeResource
) -> MaterializeResult:
    tenant = context.partition_key
    engine = database.engine()
    claimed = pipeline.claimed(engine, tenant, _owner(context))
    outcome = pipeline.process_claims(engine, knowledge.knowledge(), tenant, claimed)
    for document_id, reason in outcome.failed.items():
        context.log.warning(f"document {document_id} failed: {reason}")
    metadata = {
        "claimed": len(claimed),
        "indexed": len(outcome.indexed),
        "failed": len(outcome.failed),
        "needs_attention": len(outcome.attention),
        "taken_over": len(outcome.lost),
        "embedded": outcome.embedded,
        "embeddings_cached": outcome.cached,
        "failures": MetadataValue.json({str(k): v for k, v in outcome.failed.items()}),
        "attention": MetadataValue.json({str(k): v for k, v in outcome.attention.items()}),
    }
    if outcome.attention:
        reasons = "; ".join(f"{k}: {v}" for k, v in list(outcome.attention.items())[:5])
        raise Failure(
            f"{len(outcome.attention)} document(s) need attention (their last index still answers): {reasons}",
            metadata=metadata,
        )
    return MaterializeResult(metadata=metadata)


@asset(
    partitions_def=tenants_partitions,
    group_name="knowledge",
    kinds={"pgvector", "qdrant"},
    deps=[document_chunks],
    description="The vector index holds exactly the record's chunks of the tenant: missing ones upserted from "
    "the recorded embeddings, points without a chunk removed (documents another worker is publishing are left "
    "to it); documents that waited only for the vector store become indexed. The run fails if the store is down.",
)
def knowledge_index(
    context: AssetExecutionContext, database: DatabaseResource, knowledge: KnowledgeResource
) -> MaterializeResult:
    tenant = context.partition_key
    try:
        report = pipeline.sync_index(database.engine(), knowledge.knowledge(), tenant)
    except ServiceUnavailable as error:
        raise Failure(f"vector store unavailable, the index is reconciled by the next run: {error}") from None
    return MaterializeResult(
        metadata={
            "upserted": report.upserted,
            "deleted_orphans": report.deleted,
            "indexed_documents": len(report.indexed_documents),
            **_status_counts(database, tenant),
        }
    )


@asset(
    group_name="knowledge",
    kinds={"pgvector", "qdrant"},
    description="Blue/green rebuild of the whole vector index from the record (no re-embedding): a new "
    "collection, the alias swapped, writes made meanwhile reconciled, the old collection dropped. "
    "Requested by platform admins (POST /admin/knowledge/reindex).",
)
def knowledge_collection(
    context: AssetExecutionContext, database: DatabaseResource, knowledge: KnowledgeResource
) -> MaterializeResult:
    tenants = [tenant.id for tenant in list_tenants(database.engine())]
    report = pipeline.rebuild_index(database.engine(), knowledge.knowledge(), tenants)
    return MaterializeResult(
        metadata={
            "collection": report.collection,
            "previous": report.previous or "none",
            "points": report.points,
            "tenants": len(tenants),
        }
    )
