"""The knowledge assets in real Dagster runs (materialize with a real instance): queued uploads
become indexed, a bad file fails with its reason, the index checks pass and catch a vector left
behind, an outage of the vector store fails the run and marks the document until a retry run after
it returns, and the outbox sensor turns an upload into a run."""

from __future__ import annotations

import uuid

from dagster import DagsterEventType, SkipReason, build_sensor_context, instance_for_test, materialize
from sqlalchemy import text
from sqlalchemy.engine import make_url

from luna_assets.definitions import ASSETS
from luna_assets.knowledge_checks import KNOWLEDGE_CHECKS
from luna_core import outbox
from luna_core.db.tenancy import tenant_scope
from luna_core.knowledge import store
from sensors.documents import queued_documents_sensor
from sensors.requests import outbox_sensor
from tests import documents as make
from tests.dagster_resources import luna_resources

SELECTION = ["documents", "document_chunks", "knowledge_index"]


def _resource(settings, vector_url: str | None = None) -> dict:
    return luna_resources(
        database_url=settings.database_url,
        data_dir=str(settings.data_dir),
        vector_database_url=vector_url or settings.vector_database_url,
    )


def _run(instance, tenant, resource, raise_on_error=True):
    return materialize(
        [*ASSETS, *KNOWLEDGE_CHECKS],
        selection=SELECTION,
        partition_key=tenant,
        instance=instance,
        resources=resource,
        raise_on_error=raise_on_error,
    )


def _checks(result) -> dict[str, bool]:
    return {
        e.event_specific_data.check_name: e.event_specific_data.passed
        for e in result.all_events
        if e.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
    }


def test_assets_index_queued_documents_and_checks_hold(engine, settings, tenant_factory):
    tenant = tenant_factory("assets")
    good = make.add_document(engine, settings, tenant, "ratgeber.pdf", make.pdf_bytes())
    other = make.add_document(engine, settings, tenant, "laden.html", make.HTML.encode())
    bad = make.add_document(engine, settings, tenant, "fake.docx", b"plain words, not a zip")
    resource = _resource(settings)
    with instance_for_test() as instance:
        instance.add_dynamic_partitions("tenants", [tenant])
        result = _run(instance, tenant, resource)
        assert _checks(result) == {"chunks_indexed_once": True, "no_deleted_document_chunks": True}
        assert make.status_of(engine, tenant, good).status == "indexed"
        assert make.status_of(engine, tenant, other).status == "indexed"
        failed = make.status_of(engine, tenant, bad)
        assert failed.status == "failed" and "plain text" in failed.error

        # A vector left behind by a delete while the index was away: the check sees it ...
        with tenant_scope(engine, tenant) as connection:
            store.delete_document(connection, tenant, other)
        result = _run(instance, tenant, resource)
        # ... and the same run's knowledge_index removed it before the checks ran.
        assert _checks(result)["no_deleted_document_chunks"] is True
        points = resource["knowledge"].knowledge().index.points(tenant)
        assert points and {doc for _, doc in points} == {good}

        from luna_core.knowledge.pipeline import audit_index

        with tenant_scope(engine, tenant) as connection:
            store.delete_document(connection, tenant, good)
        audit = audit_index(engine, resource["knowledge"].knowledge(), tenant)
        assert audit.of_missing_documents and audit.foreign


def test_outage_fails_the_run_marks_the_document_and_the_retry_indexes_it(engine, settings, tenant_factory):
    tenant = tenant_factory("retry")
    document = make.add_document(engine, settings, tenant, "tarife.docx", make.docx_bytes())
    down = make_url(settings.vector_database_url).set(host="127.0.0.1", port=1, query={})
    with instance_for_test() as instance:
        instance.add_dynamic_partitions("tenants", [tenant])
        result = _run(instance, tenant, _resource(settings, down.render_as_string(hide_password=False)), False)
        assert not result.success
        row = make.status_of(engine, tenant, document)
        assert row.status == "needs_attention" and "unreachable" in row.error and row.retry_at is not None

        tick = queued_documents_sensor(build_sensor_context(instance=instance, resources=_resource(settings)))
        assert isinstance(tick, SkipReason)  # not due yet
        with tenant_scope(engine, tenant) as connection:  # the retry time comes
            connection.execute(text("UPDATE documents SET retry_at = now() - interval '1 second'"))
        tick = queued_documents_sensor(build_sensor_context(instance=instance, resources=_resource(settings)))
        assert [r.partition_key for r in tick.run_requests] == [tenant]

        result = _run(instance, tenant, _resource(settings))
        assert result.success and make.status_of(engine, tenant, document).status == "indexed"
        assert _checks(result) == {"chunks_indexed_once": True, "no_deleted_document_chunks": True}


def test_an_upload_reaches_dagster_through_the_outbox(api, api_user, settings):
    admin = api_user(role="admin")
    response = api.post(
        "/ingest/doc", headers=admin.headers, files={"file": ("n.txt", b"Outbox " + uuid.uuid4().bytes.hex().encode())}
    )
    assert response.status_code == 202
    with instance_for_test() as instance:
        instance.add_dynamic_partitions("tenants", [admin.tenant_id])
        result = outbox_sensor(build_sensor_context(instance=instance, resources=_resource(settings)))
        [run] = [r for r in result.run_requests if r.partition_key == admin.tenant_id]
        assert run.job_name == "knowledge_refresh"
        assert outbox.status_of(api.app.state.engine, admin.tenant_id, int(run.tags["luna/request_id"]))[0] == "running"
