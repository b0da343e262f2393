"""The feedback loop on a real Dagster instance and the real database: thumbs down on document
answers and no-hit questions of a tenant, once they reach LUNA_FEEDBACK_NEGATIVE_THRESHOLD, become
one ``reindex_documents`` request in the outbox (visible to admins), not one per tick; thumbs down on
data answers do not count; the energy outbox sensor leaves the request to the knowledge sensor.

Documents come from ``FixedPassagesRetriever``, a test double of our own ``Retriever`` interface."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from dagster import SkipReason, build_sensor_context, instance_for_test

from luna_core import outbox
from luna_core.db.tenancy import tenant_scope
from luna_core.luna import NoDocuments, ask, feedback
from sensors.feedback import feedback_sensor
from sensors.partitions import tenants_partitions
from sensors.requests import outbox_sensor
from tests.conftest import Meter
from tests.dagster_resources import luna_resources
from tests.luna_doubles import FixedPassagesRetriever, passage
from tests.luna_seed import seed


def _ask(engine, tenant, question, retriever):
    with tenant_scope(engine, tenant) as connection:
        return ask(connection, tenant, "user-1", question, retriever=retriever)


def _rate_down(engine, tenant, answer_id):
    with tenant_scope(engine, tenant) as connection:
        assert feedback.submit(connection, tenant, "user-1", answer_id, "down", "not helpful") is not None


def test_negative_signals_become_one_reindex_request(engine, settings, tenant_factory):
    tenant = tenant_factory("luna-fb", meters=(Meter("main"),), zone=f"LZ-{uuid.uuid4().hex[:6]}")
    quiet = tenant_factory("luna-quiet", meters=(Meter("main"),))
    seed(engine, tenant, f"LZ-{uuid.uuid4().hex[:6]}", datetime.now(UTC), days=3)
    retriever = FixedPassagesRetriever({tenant: [passage(tenant, 1, "Manual", "The heat pump is serviced yearly.")]})
    resource = luna_resources(database_url=settings.database_url, data_dir=str(settings.data_dir))
    threshold = resource["database"].settings().feedback_negative_threshold

    with instance_for_test() as instance:
        instance.add_dynamic_partitions("tenants", [tenant, quiet])

        def tick():
            return feedback_sensor(build_sensor_context(instance=instance, resources=resource))

        # A thumbs down on a data answer is not the documents' fault: it does not count.
        data_answer = _ask(engine, tenant, "What did we use yesterday?", retriever)
        assert data_answer.answer.mode == "data"
        _rate_down(engine, tenant, data_answer.answer_id)
        # threshold - 1 signals: one no-hit question, the rest thumbs down on document answers.
        _ask(engine, tenant, "Who painted the Mona Lisa?", NoDocuments())
        for _ in range(threshold - 2):
            _rate_down(
                engine, tenant, _ask(engine, tenant, "How often is the heat pump serviced?", retriever).answer_id
            )
        below = tick()
        assert isinstance(below, SkipReason) and "no tenant" in below.skip_message
        with tenant_scope(engine, tenant) as connection:
            assert feedback.reindex_requests(connection, tenant, 10) == []

        _ask(engine, tenant, "What is the meaning of life?", retriever)  # the signal that tips it
        reached = tick()
        assert tenant in reached.skip_message and quiet not in reached.skip_message
        with tenant_scope(engine, tenant) as connection:
            [request] = feedback.reindex_requests(connection, tenant, 10)
        assert (request.kind, request.status, request.requested_by) == (
            "reindex_documents",
            "pending",
            "luna-feedback-sensor",
        )
        assert request.payload["negative_feedback"] == threshold - 2 and request.payload["no_hit_questions"] == 2

        # Pending: no second request, however many more signals arrive.
        _ask(engine, tenant, "Who wrote Hamlet?", retriever)
        tick()
        with tenant_scope(engine, tenant) as connection:
            assert len(feedback.reindex_requests(connection, tenant, 10)) == 1
        # The outbox sensor turns it into a knowledge run that processes every indexed document again.
        instance.add_dynamic_partitions(tenants_partitions.name, [tenant])
        handled = outbox_sensor(build_sensor_context(instance=instance, resources=resource))
        [run] = [r for r in handled.run_requests if r.partition_key == tenant]
        assert run.job_name == "knowledge_refresh"
        assert run.run_config == {"ops": {"documents": {"config": {"reprocess_all": True}}}}
        assert outbox.status_of(engine, tenant, request.id)[0] == "running"

        # Once done, signals start counting again from the request: one more is not enough.
        outbox.mark(engine, tenant, request.id, "done")
        with tenant_scope(engine, tenant) as connection:
            counted = feedback.signals(connection, tenant, datetime.now(UTC), timedelta(days=7))
        assert counted.total == 1
        tick()
        with tenant_scope(engine, tenant) as connection:
            assert len(feedback.reindex_requests(connection, tenant, 10)) == 1
