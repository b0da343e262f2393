"""The one place that builds a run request for a tenant: every per-tenant run carries the ``tenant``
tag (dagster.yaml limits runs per tenant on it, the outbox sensors read it back)."""

from dagster import RunRequest

TENANT_TAG = "tenant"
REASON_TAG = "luna/reason"


def tenant_tags(tenant_id: str, reason: str | None = None, **extra: str) -> dict[str, str]:
    tags = {TENANT_TAG: tenant_id, **extra}
    if reason is not None:
        tags[REASON_TAG] = reason
    return tags


def tenant_run_request(
    tenant_id: str,
    reason: str,
    run_key: str | None = None,
    *,
    partitioned: bool = True,
    job_name: str | None = None,
    run_config: dict | None = None,
    tags: dict[str, str] | None = None,
) -> RunRequest:
    """A run for one tenant: its partition (unless the job spans every tenant), its tags."""
    return RunRequest(
        run_key=run_key,
        job_name=job_name,
        partition_key=tenant_id if partitioned else None,
        run_config=run_config or {},
        tags=tenant_tags(tenant_id, reason, **(tags or {})),
    )
