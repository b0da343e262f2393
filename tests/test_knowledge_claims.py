"""One document, one worker, on the real database, real Dagster runs (materialize with a real
instance), the real e5 embedder, Tika and pgvector: the API's background task and the Dagster
asset racing on the same document each leave it to the one holding the claim; a document left in
``processing`` by a killed API is picked up again once its lease runs out; a worker whose claim was
taken over writes nothing; and ``POST /documents/{id}/reindex`` does what it says in every state.

The races are made deterministic with ``PausingEmbedder``: the real model, whose first call waits
until the test lets it go, so the other worker acts while the first one is mid-document."""

from __future__ import annotations

import dataclasses
import shutil
import threading

from dagster import SkipReason, build_sensor_context, instance_for_test, materialize
from sqlalchemy import text

from luna_api.routers.documents import process_in_background
from luna_assets.definitions import ASSETS
from luna_assets.knowledge_checks import KNOWLEDGE_CHECKS
from luna_core.db.tenancy import tenant_scope
from luna_core.knowledge import claims, files, pipeline, store
from luna_core.knowledge.embeddings import E5Embedder
from luna_core.knowledge.errors import ClaimLost
from luna_core.knowledge.service import Knowledge, knowledge_for
from resources import KnowledgeResource
from sensors.documents import queued_documents_sensor
from tests import documents as make
from tests.dagster_resources import luna_resources

SELECTION = ["documents", "document_chunks", "knowledge_index"]


class PausingEmbedder(E5Embedder):
    """The real e5 model; its first embedding waits until the test sets ``go``."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.go = threading.Event()

    def embed_passages(self, texts):
        if not self.entered.is_set():
            self.entered.set()
            assert self.go.wait(600), "the test never let the embedder go"
        return super().embed_passages(texts)


class PausedKnowledge(KnowledgeResource):
    """The knowledge resource with a knowledge service whose embedder pauses (set per test)."""

    def knowledge(self) -> Knowledge:
        return PAUSED["knowledge"]


PAUSED: dict[str, Knowledge] = {}


def _resource(settings, cls=KnowledgeResource) -> dict:
    return luna_resources(
        cls,
        database_url=settings.database_url,
        data_dir=str(settings.data_dir),
        vector_database_url=settings.vector_database_url,
    )


def _run(instance, tenant, resource):
    return materialize(
        [*ASSETS, *KNOWLEDGE_CHECKS],
        selection=SELECTION,
        partition_key=tenant,
        instance=instance,
        resources=resource,
        raise_on_error=False,
    )


def _metadata(result, asset: str) -> dict:
    [materialization] = [m for m in result.asset_materializations_for_node(asset)]
    return {key: value.value for key, value in materialization.metadata.items()}


def _record(engine, tenant, document) -> list[tuple]:
    with tenant_scope(engine, tenant) as connection:
        return [(c.id, c.text) for c in store.chunks_of(connection, tenant, document, 500, 0)]


def _index_matches_record(engine, knowledge, tenant) -> bool:
    audit = pipeline.audit_index(engine, knowledge, tenant)
    return not (audit.missing or audit.duplicated or audit.foreign or audit.of_missing_documents)


def test_the_api_task_holds_the_document_and_the_dagster_run_leaves_it_alone(engine, settings, tenant_factory):
    tenant = tenant_factory("race-api")
    document = make.add_document(engine, settings, tenant, "tarife.docx", make.docx_bytes())
    paused = dataclasses.replace(knowledge_for(settings), embedder=PausingEmbedder())
    api_task = threading.Thread(
        target=pipeline.process_document, args=(engine, paused, tenant, document, claims.worker_name("api"))
    )
    api_task.start()
    try:
        assert paused.embedder.entered.wait(300)
        with instance_for_test() as instance:
            instance.add_dynamic_partitions("tenants", [tenant])
            result = _run(instance, tenant, _resource(settings))
        assert result.success
        assert _metadata(result, "document_chunks")["claimed"] == 0  # not this run's document
        row = make.status_of(engine, tenant, document)
        assert row.status == "processing" and row.claimed_by.startswith("api:") and row.error is None
    finally:
        paused.embedder.go.set()
        api_task.join()
    row = make.status_of(engine, tenant, document)
    assert (row.status, row.error, row.chunk_count, row.claim_token) == ("indexed", None, 2, None)
    assert _index_matches_record(engine, knowledge_for(settings), tenant)


def test_the_dagster_run_holds_the_document_and_the_api_task_leaves_it_alone(engine, settings, tenant_factory):
    tenant = tenant_factory("race-run")
    document = make.add_document(engine, settings, tenant, "laden.html", make.HTML.encode())
    PAUSED["knowledge"] = dataclasses.replace(knowledge_for(settings), embedder=PausingEmbedder())
    results = []
    with instance_for_test() as instance:
        instance.add_dynamic_partitions("tenants", [tenant])
        run = threading.Thread(
            target=lambda: results.append(_run(instance, tenant, _resource(settings, PausedKnowledge)))
        )
        run.start()
        try:
            assert PAUSED["knowledge"].embedder.entered.wait(300)
            # The upload's background task of the API, exactly as the route schedules it.
            process_in_background(engine, settings, tenant, document)
            row = make.status_of(engine, tenant, document)
            assert row.status == "processing" and row.claimed_by.startswith("dagster:")
            assert _record(engine, tenant, document) == []  # the API task wrote nothing
        finally:
            PAUSED["knowledge"].embedder.go.set()
            run.join()
    [result] = results
    assert result.success and _metadata(result, "document_chunks")["indexed"] == 1
    row = make.status_of(engine, tenant, document)
    assert (row.status, row.attempts, row.claim_token) == ("indexed", 0, None)
    assert _index_matches_record(engine, knowledge_for(settings), tenant)


def test_a_document_a_killed_api_left_in_processing_is_picked_up_after_its_lease(engine, settings, tenant_factory):
    tenant = tenant_factory("stuck")
    document = make.add_document(engine, settings, tenant, "ratgeber.pdf", make.pdf_bytes())
    with tenant_scope(engine, tenant) as connection:  # the API claimed it, then was killed
        [dead] = claims.claim(connection, tenant, "api:killed-host:4242", [document])
    resource = _resource(settings)
    with instance_for_test() as instance:
        instance.add_dynamic_partitions("tenants", [tenant])
        tick = queued_documents_sensor(build_sensor_context(instance=instance, resources=resource))
        assert isinstance(tick, SkipReason)  # its lease still runs: it may be alive
        with tenant_scope(engine, tenant) as connection:  # the lease runs out
            connection.execute(text("UPDATE documents SET claim_expires_at = now() - interval '1 second'"))
        tick = queued_documents_sensor(build_sensor_context(instance=instance, resources=resource))
        assert [r.partition_key for r in tick.run_requests] == [tenant]
        result = _run(instance, tenant, resource)
    assert result.success
    row = make.status_of(engine, tenant, document)
    assert row.status == "indexed" and row.chunk_count == 2
    # Had the killed worker only been stalled, its next step would find the claim gone.
    with tenant_scope(engine, tenant) as connection:
        try:
            claims.heartbeat(connection, tenant, dead)
        except ClaimLost:
            pass
        else:
            raise AssertionError("the dead worker's claim was still accepted")


def test_a_worker_whose_claim_was_taken_over_writes_nothing(engine, settings, tenant_factory):
    tenant = tenant_factory("takeover")
    document = make.add_document(engine, settings, tenant, "ratgeber.pdf", make.pdf_bytes())
    slow = dataclasses.replace(knowledge_for(settings), embedder=PausingEmbedder())
    outcomes = []

    def work() -> None:  # the assets' path: claim the due documents, then process the claims
        outcomes.append(pipeline.process_claims(engine, slow, tenant, pipeline.claim(engine, tenant, "slow")))

    first = threading.Thread(target=work)
    first.start()
    try:
        assert slow.embedder.entered.wait(300)
        # An admin reindexes it meanwhile, with smaller chunks: the new claim replaces the old one.
        with tenant_scope(engine, tenant) as connection:
            claims.requeue(connection, tenant, document)
        small = dataclasses.replace(knowledge_for(settings), settings=settings.model_copy(update={"chunk_tokens": 32}))
        assert pipeline.process_document(engine, small, tenant, document, "admin-reindex") == "indexed"
        taken_over = _record(engine, tenant, document)
        assert len(taken_over) > 2
    finally:
        slow.embedder.go.set()
        first.join()
    [outcome] = outcomes
    assert outcome.lost == [document] and not outcome.indexed and not outcome.attention
    assert _record(engine, tenant, document) == taken_over  # the stale worker's chunks never landed
    assert make.status_of(engine, tenant, document).status == "indexed"
    pipeline.sync_index(engine, knowledge_for(settings), tenant)  # vectors it left beside them go
    assert _index_matches_record(engine, knowledge_for(settings), tenant)


def test_reindex_does_what_it_says_in_every_state(api, api_user, api_settings, engine):
    admin = api_user(role="admin")
    tenant = admin.tenant_id

    def reindex(document) -> dict:
        response = api.post(f"/documents/{document}/reindex", headers=admin.headers)
        assert response.status_code == 202, response.text
        return api.get(f"/documents/{document}", headers=admin.headers).json()

    queued = make.add_document(engine, api_settings, tenant, "standby.txt", make.TEXT.encode())
    assert reindex(queued)["status"] == "indexed"

    indexed = api.get(f"/documents/{queued}", headers=admin.headers).json()
    again = reindex(queued)
    assert again["status"] == "indexed" and again["indexed_at"] > indexed["indexed_at"]

    stuck = make.add_document(engine, api_settings, tenant, "laden.html", make.HTML.encode())
    with tenant_scope(engine, tenant) as connection:  # an API process claimed it and was killed
        claims.claim(connection, tenant, "api:killed-host:1", [stuck])
    assert reindex(stuck)["status"] == "indexed"  # taken over at once, not left to the lease

    attention = make.add_document(engine, api_settings, tenant, "einspeisung.md", make.MARKDOWN.encode())
    stored = files.path_of(api_settings, tenant, attention)
    shutil.move(stored, stored.with_name("away"))  # the storage lost it
    found = reindex(attention)
    assert found["status"] == "needs_attention" and found["error_code"] == "file_missing", found
    shutil.move(stored.with_name("away"), stored)  # restored from the backup
    assert reindex(attention)["status"] == "indexed"

    failed = make.add_document(engine, api_settings, tenant, "scan.pdf", make.scanned_pdf_bytes())
    assert reindex(failed)["status"] == "failed"
    refused = api.post(f"/documents/{failed}/reindex", headers=admin.headers)
    assert refused.status_code == 409 and refused.json()["error"] == "conflict"
    assert "no extractable text" in refused.json()["detail"] and "upload it again" in refused.json()["detail"]
