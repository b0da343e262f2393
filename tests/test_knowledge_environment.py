"""Nothing lost when the environment fails, on the real API, real Dagster runs and sensors, the real
e5 embedder, Tika and pgvector. The user story of issue 13: five thumbs down in Luna queue the
feedback reindex, and its Dagster run cannot find the stored files (it looks in another folder). It
used to mark every document ``failed`` and delete its chunks, with a green run. Now the run is red,
the outbox request ``failed``, the documents need attention and keep answering from their last
index, the metric counts them, and the retry after the cause is fixed restores them. Only a file
that is itself unreadable fails, and a failed document never appears in a search. And the reindex
rebuilds beside the live index: the record switches only when the new vectors are in."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import yaml
from dagster import (
    DagsterEventType,
    SkipReason,
    build_run_status_sensor_context,
    build_sensor_context,
    instance_for_test,
)
from dagster import materialize as dagster_materialize
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from luna_assets.definitions import ASSETS
from luna_assets.knowledge_checks import KNOWLEDGE_CHECKS
from luna_core import outbox
from luna_core.db.tenancy import tenant_scope
from luna_core.knowledge import claims, files, pipeline, store
from luna_core.knowledge.errors import IndexUnavailable
from luna_core.knowledge.index.pgvector import PgVectorIndex
from luna_core.knowledge.search import hybrid_search
from luna_core.knowledge.service import knowledge_for
from luna_core.storage.keys import new_key_spec
from sensors.documents import queued_documents_sensor
from sensors.feedback import feedback_sensor
from sensors.requests import outbox_sensor, request_failed, request_succeeded
from tests import documents as make
from tests.dagster_resources import luna_resources

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ["Wann läuft die Wärmepumpe am günstigsten?", "How does a battery lower the monthly peak?"]


def _resource(settings, data_dir: Path | None = None) -> dict:
    return luna_resources(
        database_url=settings.database_url,
        data_dir=str(data_dir or settings.data_dir),
        vector_database_url=settings.vector_database_url,
    )


def _materialize(instance, tenant, resource, run_request):
    return dagster_materialize(
        [*ASSETS, *KNOWLEDGE_CHECKS],
        selection=["documents", "document_chunks", "knowledge_index"],
        partition_key=tenant,
        instance=instance,
        resources=resource,
        run_config=run_request.run_config,
        tags=run_request.tags,
        raise_on_error=False,
    )


def _report(instance, result, resource) -> None:
    """What the outbox's run-status sensors do when the daemon sees the run end."""
    kind = DagsterEventType.RUN_SUCCESS if result.success else DagsterEventType.RUN_FAILURE
    sensor = request_succeeded if result.success else request_failed
    event = next(e for e in result.all_events if e.event_type == kind)
    sensor(
        build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_event=event,
            dagster_instance=instance,
            dagster_run=instance.get_run_by_id(result.run_id),
            resources=resource,
        )
    )


def _chunks(engine, tenant) -> dict:
    with tenant_scope(engine, tenant) as connection:
        return {c.id: c.document_id for c in store.record_chunks(connection, tenant)}


def _needing_attention(api_settings, tenant) -> float:
    from luna_api.main import create_app

    try:
        labelled = api_settings.model_copy(update={"metrics_tenant_labels": True})
        with TestClient(create_app(labelled)) as client:
            scraped = client.get("/metrics", headers={"Authorization": f"Bearer {labelled.metrics_token}"}).text
    finally:
        create_app(api_settings)
    for family in text_string_to_metric_families(scraped):
        for sample in family.samples:
            if sample.name == "luna_documents_needing_attention" and sample.labels.get("tenant") == tenant:
                return sample.value
    raise AssertionError("luna_documents_needing_attention is not exported")


def test_a_feedback_reindex_that_cannot_find_the_files_destroys_nothing(api, api_user, api_settings, engine, tmp_path):
    admin = api_user(role="admin")
    tenant = admin.tenant_id
    for name, data in (("ratgeber.pdf", make.pdf_bytes()), ("tarife.docx", make.docx_bytes())):
        response = api.post("/ingest/doc", headers=admin.headers, files={"file": (name, data)})
        assert response.status_code == 202
    documents = [d["id"] for d in api.get("/documents", headers=admin.headers).json()["items"]]
    assert {d["status"] for d in api.get("/documents", headers=admin.headers).json()["items"]} == {"indexed"}
    before = _chunks(engine, tenant)

    def ask(question: str) -> dict:
        answer = api.post("/rag/ask", headers=admin.headers, json={"question": question})
        assert answer.status_code == 200, answer.text
        return answer.json()

    cited = {q: {c["document_id"] for c in ask(q)["citations"]} for q in QUESTIONS}
    assert all(cited.values()), cited  # document answers: their thumbs down count
    for _ in range(5):  # five thumbs down in Luna
        down = api.post("/feedback", headers=admin.headers, json={"answer_id": ask(QUESTIONS[0])["answer_id"],
                                                                   "rating": "down", "comment": "meh"})  # fmt: skip
        assert down.status_code == 201, down.text

    # Dagster looks in another folder: no key there, no files (what `luna demo` did with a relative path).
    elsewhere = tmp_path / "dagster_home" / ".luna"
    lost = _resource(api_settings, elsewhere)
    with instance_for_test() as instance:
        instance.add_dynamic_partitions("tenants", [tenant])
        feedback_sensor(build_sensor_context(instance=instance, resources=lost))
        tick = outbox_sensor(build_sensor_context(instance=instance, resources=lost))
        [run_request] = [r for r in tick.run_requests if r.tags["luna/reason"] == "reindex_documents"]
        assert run_request.run_config == {"ops": {"documents": {"config": {"reprocess_all": True}}}}
        result = _materialize(instance, tenant, lost, run_request)
        assert not result.success  # red in Dagster
        _report(instance, result, lost)
        request_id = int(run_request.tags["luna/request_id"])
        assert outbox.status_of(engine, tenant, request_id)[0] == "failed"
        assert not (elsewhere / "storage_key").exists()  # and no key of its own was made up

        for document in documents:
            row = api.get(f"/documents/{document}", headers=admin.headers).json()
            assert row["status"] == "needs_attention" and row["error_code"] == "file_missing", row
            assert "stored file is missing" in row["error"] and str(elsewhere) not in row["error"]
            assert row["chunk_count"] > 0 and row["retry_at"] is not None
        assert _chunks(engine, tenant) == before  # every chunk still there
        for question, documents_cited in cited.items():  # and every document still answers
            assert {c["document_id"] for c in ask(question)["citations"]} == documents_cited
        hits = api.post("/search", headers=admin.headers, json={"query": QUESTIONS[1]}).json()["hits"]
        assert {h["document_id"] for h in hits} == set(documents)
        assert _needing_attention(api_settings, tenant) == 2

        # The cause is fixed (the run sees the API's folder); the retry comes and restores them.
        fixed = _resource(api_settings)
        not_yet = queued_documents_sensor(build_sensor_context(instance=instance, resources=fixed))
        assert isinstance(not_yet, SkipReason)  # retried when its time comes, not in a loop
        with tenant_scope(engine, tenant) as connection:
            connection.execute(text("UPDATE documents SET retry_at = now() - interval '1 second'"))
        [retry] = queued_documents_sensor(build_sensor_context(instance=instance, resources=fixed)).run_requests
        result = _materialize(instance, tenant, fixed, retry)
        assert result.success
    statuses = {d["status"] for d in api.get("/documents", headers=admin.headers).json()["items"]}
    assert statuses == {"indexed"}
    assert _chunks(engine, tenant) == before  # unchanged files: the very same chunks
    for question, documents_cited in cited.items():
        assert {c["document_id"] for c in ask(question)["citations"]} == documents_cited
    assert _needing_attention(api_settings, tenant) == 0


def test_missing_file_key_mismatch_and_unreachable_storage_keep_the_index(engine, settings, tenant_factory, tmp_path):
    tenant = tenant_factory("envfail")
    knowledge = knowledge_for(settings)
    document = make.add_document(engine, settings, tenant, "ratgeber.pdf", make.pdf_bytes())
    assert pipeline.process_document(engine, knowledge, tenant, document) == "indexed"
    before = _chunks(engine, tenant)
    stored = files.path_of(settings, tenant, document)

    def reprocess(with_knowledge) -> tuple[str, str]:
        with tenant_scope(engine, tenant) as connection:
            claims.requeue(connection, tenant, document)
        assert pipeline.process_document(engine, with_knowledge, tenant, document) == "needs_attention"
        row = make.status_of(engine, tenant, document)
        assert _chunks(engine, tenant) == before and row.chunk_count == len(before)
        hits = hybrid_search(engine, knowledge, tenant, "Wann läuft die Wärmepumpe günstig?")
        assert hits and hits[0].document_id == str(document)
        return row.error_code, row.error

    shutil.move(stored, tmp_path / "away")
    assert reprocess(knowledge)[0] == "file_missing"
    shutil.move(tmp_path / "away", stored)

    other_key = dataclasses.replace(knowledge, settings=settings.model_copy(update={"storage_key": new_key_spec()}))
    code, reason = reprocess(other_key)
    assert code == "storage_key" and "decrypted" in reason

    (tmp_path / "not-a-folder").write_text("the storage volume is not mounted")
    unmounted = dataclasses.replace(
        knowledge, settings=settings.model_copy(update={"storage_dir": tmp_path / "not-a-folder" / "storage"})
    )
    assert reprocess(unmounted)[0] == "storage_unavailable"

    with tenant_scope(engine, tenant) as connection:
        claims.requeue(connection, tenant, document)
    assert pipeline.process_document(engine, knowledge, tenant, document) == "indexed"
    assert _chunks(engine, tenant) == before


def test_only_an_unreadable_file_fails_and_a_failed_document_never_answers(engine, settings, tenant_factory):
    tenant = tenant_factory("unreadable")
    knowledge = knowledge_for(settings)
    good = make.add_document(engine, settings, tenant, "laden.html", make.HTML.encode())
    assert pipeline.process_document(engine, knowledge, tenant, good) == "indexed"
    before = _chunks(engine, tenant)
    # A reprocessing the rules now refuse (a lower size limit): the bytes did not change, so the
    # document keeps its index and needs attention instead of failing.
    strict = dataclasses.replace(knowledge, settings=settings.model_copy(update={"max_upload_mb": 0.0001}))
    with tenant_scope(engine, tenant) as connection:
        claims.requeue(connection, tenant, good)
    assert pipeline.process_document(engine, strict, tenant, good) == "needs_attention"
    row = make.status_of(engine, tenant, good)
    assert row.error_code == "too_large" and "last index still answers" in row.error
    assert _chunks(engine, tenant) == before and files.exists(settings, tenant, good)

    bad = make.add_document(engine, settings, tenant, "scan.pdf", make.scanned_pdf_bytes())
    assert pipeline.process_document(engine, knowledge, tenant, bad) == "failed"
    assert bad not in _chunks(engine, tenant).values() and not files.exists(settings, tenant, bad)

    # Even a failed row with chunks left behind (by older code, a restore) is never a search hit.
    with tenant_scope(engine, tenant) as connection:
        store.update_document(connection, tenant, good, status="failed")
    assert hybrid_search(engine, knowledge, tenant, "EV charging wallbox", k=20) == []


class RefusingWrites(PgVectorIndex):
    """The real pgvector index, refusing writes (as a full disk would) while it still answers."""

    def upsert(self, points):
        raise IndexUnavailable("pgvector database refuses writes: disk full")


class WatchingIndex(PgVectorIndex):
    """The real pgvector index; after each upsert it looks at what a search answers right then."""

    def __init__(self, *args, watch, **kwargs):
        super().__init__(*args, **kwargs)
        self.watch = watch
        self.seen: list[set] = []

    def upsert(self, points):
        super().upsert(points)
        self.seen.append(self.watch())


def test_the_reindex_rebuilds_beside_the_live_index_and_switches_when_complete(engine, settings, tenant_factory):
    tenant = tenant_factory("bluegreen")
    live = knowledge_for(settings)
    document = make.add_document(engine, settings, tenant, "ratgeber.pdf", make.pdf_bytes())
    assert pipeline.process_document(engine, live, tenant, document) == "indexed"
    old = set(_chunks(engine, tenant))
    question = "Wann läuft die Wärmepumpe günstig?"

    def answering() -> set:
        return {h.chunk_id for h in hybrid_search(engine, live, tenant, question, k=10)}

    assert {str(c) for c in old} >= answering() != set()
    smaller = settings.model_copy(update={"chunk_tokens": 32})  # the reindex chunks differently

    # The new vectors cannot go in: the record keeps the live chunks, and searches their answers.
    refusing = RefusingWrites(live.index.url, alias=settings.knowledge_collection)
    stuck = dataclasses.replace(live, settings=smaller, index=refusing)
    [claimed] = pipeline.claim(engine, tenant, "feedback-reindex", reprocess_all=True)
    outcome = pipeline.process_claims(engine, stuck, tenant, [claimed])
    assert list(outcome.attention) == [document]
    assert set(_chunks(engine, tenant)) == old and answering() <= {str(c) for c in old} and answering()
    assert make.status_of(engine, tenant, document).error_code == "index_unavailable"
    pipeline.sync_index(engine, live, tenant)  # a reconciliation meanwhile does not call it done
    assert make.status_of(engine, tenant, document).status == "needs_attention"

    # The store takes writes again: the new vectors go in beside the old ones first (searches still
    # answer from the old chunks then), the record switches, the replaced vectors go.
    watching = WatchingIndex(live.index.url, alias=settings.knowledge_collection, watch=answering)
    moving = dataclasses.replace(live, settings=smaller, index=watching)
    [claimed] = pipeline.claim(engine, tenant, "retry", document_ids=[document])
    outcome = pipeline.process_claims(engine, moving, tenant, [claimed])
    assert outcome.indexed == [document]
    [during] = watching.seen
    assert during and during <= {str(c) for c in old}
    new = set(_chunks(engine, tenant))
    assert new and not new & old and len(new) > len(old)
    assert answering() and answering() <= {str(c) for c in new}
    assert {point for point, _ in live.index.points(tenant)} == new


def test_an_alert_rule_watches_documents_needing_attention():
    rules = yaml.safe_load((ROOT / "deploy" / "observability" / "prometheus" / "alerts.yml").read_text())
    [rule] = [r for g in rules["groups"] for r in g["rules"] if r["alert"] == "LunaDocumentsNeedAttention"]
    assert "luna_documents_needing_attention" in rule["expr"] and rule["for"]
