"""Recent warning and error log lines from Loki, where the compose stack's logs really go (every
container's stdout through Fluent Bit, deploy/observability/fluent-bit), for the admin console.

Through Loki's HTTP query API (``GET /loki/api/v1/query_range``). Fluent Bit labels each stream with
``job="luna"``, the service and the level; the tenant, route and request id stay inside the JSON line
(labels would multiply Loki's streams per tenant), so the tenant filter is a ``| json`` stage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

LEVELS = "warning|error|critical"
LOOKBACK_SECONDS = 24 * 3600


class LokiUnavailable(RuntimeError):
    """Loki did not answer, or not as its API does."""


def _quoted(value: str) -> str:
    """A LogQL string literal (double quotes, backslash escapes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def recent_query(tenant: str | None, every_tenant: bool) -> str:
    """LogQL for the warning and error lines one admin may see: their tenant's and those logged outside
    any tenant (no ``tenant`` field, or null), or every line for a platform admin."""
    query = f'{{job="luna", level=~"{LEVELS}"}}'
    if every_tenant:
        return query
    scoped = f"tenant={_quoted(tenant)} or " if tenant else ""
    return f'{query} | json tenant="tenant" | {scoped}tenant=""'


@dataclass(frozen=True)
class LokiLogs:
    url: str
    timeout: float = 5.0

    def recent(self, limit: int, tenant: str | None, *, every_tenant: bool = False) -> list[str]:
        """The newest ``limit`` lines of the last day, newest first, as Fluent Bit shipped them (JSON)."""
        now_ns = time.time_ns()
        params = {
            "query": recent_query(tenant, every_tenant),
            "limit": str(limit),
            "direction": "backward",
            "start": str(now_ns - LOOKBACK_SECONDS * 1_000_000_000),
            "end": str(now_ns),
        }
        try:
            response = httpx.get(f"{self.url.rstrip('/')}/loki/api/v1/query_range", params=params, timeout=self.timeout)
        except httpx.HTTPError as error:
            raise LokiUnavailable(f"Loki at {self.url} did not answer: {type(error).__name__}") from error
        if response.status_code != 200:
            raise LokiUnavailable(f"Loki at {self.url} answered {response.status_code}: {response.text[:200]}")
        try:
            data = response.json()["data"]
            if data["resultType"] != "streams":
                raise ValueError(data["resultType"])
            # Several streams (service x level) each come newest first: merge them by timestamp.
            entries = [(int(ts), line) for stream in data["result"] for ts, line in stream["values"]]
        except (ValueError, KeyError, TypeError) as error:
            raise LokiUnavailable(f"Loki at {self.url} answered something else than a streams result") from error
        entries.sort(key=lambda entry: entry[0], reverse=True)
        return [line for _, line in entries[:limit]]
