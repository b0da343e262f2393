"""Asset checks of the vector index against the record."""

import warnings

from dagster import AssetCheckExecutionContext, AssetCheckResult, asset_check

from luna_assets.knowledge import knowledge_index
from luna_core.knowledge.pipeline import audit_index
from resources import DatabaseResource, KnowledgeResource
from sensors.partitions import tenants_partitions

warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")


def _sample(ids: list) -> str:
    return ", ".join(str(i) for i in ids[:5]) + (" ..." if len(ids) > 5 else "")


@asset_check(
    asset=knowledge_index,
    partitions_def=tenants_partitions,
    description="every indexed chunk of the record is in the vector index exactly once",
)
def chunks_indexed_once(
    context: AssetCheckExecutionContext, database: DatabaseResource, knowledge: KnowledgeResource
) -> AssetCheckResult:
    found = audit_index(database.engine(), knowledge.knowledge(), context.partition_key)
    problems = []
    if found.missing:
        problems.append(f"{len(found.missing)} chunks missing from the index: {_sample(found.missing)}")
    if found.duplicated:
        problems.append(f"{len(found.duplicated)} chunks indexed more than once: {_sample(found.duplicated)}")
    return AssetCheckResult(
        passed=not problems,
        description="; ".join(problems) or f"{found.indexed_chunks} chunks, each indexed once",
        metadata={"chunks": found.indexed_chunks, "missing": len(found.missing), "duplicated": len(found.duplicated)},
    )


@asset_check(
    asset=knowledge_index,
    partitions_def=tenants_partitions,
    description="no vector of a deleted (or failed) document, and none without a chunk in the record",
)
def no_deleted_document_chunks(
    context: AssetCheckExecutionContext, database: DatabaseResource, knowledge: KnowledgeResource
) -> AssetCheckResult:
    found = audit_index(database.engine(), knowledge.knowledge(), context.partition_key)
    left = sorted(set(found.foreign) | set(found.of_missing_documents))
    return AssetCheckResult(
        passed=not left,
        description=f"{len(left)} vectors without a live document: {_sample(left)}" if left else "none left behind",
        metadata={"orphans": len(left)},
    )


KNOWLEDGE_CHECKS = [chunks_indexed_once, no_deleted_document_chunks]
