"""Schemathesis against the app's own OpenAPI spec, as an authenticated admin and customer:
no 5xx and no response that violates the documented schema. Bounded examples keep it short.

Driven through Hypothesis directly: schemathesis' pytest fixture loader does not run under
pytest 9 (it writes a node attribute pytest removed)."""

from __future__ import annotations

import os
import uuid

import pytest
import schemathesis
import schemathesis.checks as checks
from hypothesis import HealthCheck, given, settings

from tests.conftest import Meter

checks.load_all_checks()
BOUNDED = settings(
    max_examples=int(os.environ.get("LUNA_FUZZ_EXAMPLES", "12")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


@pytest.fixture(scope="module")
def callers(engine, api):
    """An admin and a customer of one tenant that has meters and data."""
    from luna_core.db.tenancy import tenant_scope
    from luna_core.ingest import ingest_records
    from luna_core.tenants import create_tenant, delete_tenant
    from luna_core.users import create_user

    tenant = f"fuzz-{uuid.uuid4().hex[:6]}"
    create_tenant(engine, tenant, "Fuzz", meter_specs=(Meter("main"),))
    ingest_records(
        engine,
        tenant,
        [{"meter_id": "main", "ts": "2026-05-01T00:00:00Z", "kwh": "1"}],
        source="http",
        source_ref="fuzz",
    )
    tokens = {}
    for role in ("admin", "customer"):
        email = f"{role}@{tenant}.example.com"
        with tenant_scope(engine, tenant) as connection:
            create_user(connection, tenant, email, "correct horse battery", role)
        tokens[role] = api.post("/auth/token", data={"username": email, "password": "correct horse battery"}).json()[
            "access_token"
        ]
    yield tokens
    delete_tenant(engine, tenant)


@pytest.mark.parametrize("role", ["admin", "customer"])
def test_api_conforms_to_its_schema(api, callers, role):
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    headers = {"Authorization": f"Bearer {callers[role]}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @BOUNDED
        def check(case) -> None:
            # Cross-field rules (end after start, window size, a meter that exists) cannot be said in
            # OpenAPI, so a schema-valid request may rightly get a 4xx: that check is left out.
            case.call_and_validate(headers=headers, excluded_checks=[checks.positive_data_acceptance])

        check()


STATEFUL = settings(
    max_examples=int(os.environ.get("LUNA_FUZZ_SCENARIOS", "8")),
    stateful_step_count=int(os.environ.get("LUNA_FUZZ_STEPS", "6")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


@pytest.mark.parametrize("role", ["admin", "customer"])
def test_api_workflows_conform_to_its_schema(api, callers, role):
    """The stateful phase: sequences of calls that feed one response into the next request
    (links schemathesis infers from the spec: a created rule's id into GET/PUT /playbook/rules/{id},
    an uploaded document into its reindex and delete, ...). No 5xx, no schema violation, and the
    stateful checks (a created resource can be read; a deleted one is gone)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    headers = {"Authorization": f"Bearer {callers[role]}"}

    machine = schema.as_state_machine()
    # Links between operations exist (else this would be the fuzzing phase again).
    assert len(machine.bundles) >= 5, sorted(machine.bundles)

    class Workflow(machine):  # type: ignore[misc]
        def get_call_kwargs(self, case):
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(
                response,
                excluded_checks=[checks.positive_data_acceptance],
                headers=headers,
                transport_kwargs=kwargs or None,
            )

    Workflow.run(settings=STATEFUL)
