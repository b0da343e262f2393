"""Prometheus figures read on scrape: per-tenant data freshness, ingest backlog, readings over their
meter's limit, Dagster runs and drift retrains, disk; and the audit chains' state, verified in a
background thread (``audit_watch``) because walking every chain takes seconds, longer than a scrape.

One collector, registered once per process; ``bind`` points it at the current app's engine and
settings (tests build several apps). Results are cached for ``ttl`` seconds so frequent scrapes
cost the database at most one round of queries per interval. A source that fails reports
``luna_metrics_source_up{source} 0`` instead of failing the scrape.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from prometheus_client.core import REGISTRY, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, create_engine

from luna_api.audit_watch import WATCH
from luna_core import sources
from luna_core.ops import freshness
from luna_core.settings import Settings

log = logging.getLogger(__name__)


def _families(tenant_labels: bool = True) -> dict[str, GaugeMetricFamily]:
    """Without ``tenant_labels`` the per-tenant figures carry no label and hold the worst tenant's value
    (oldest newest reading, longest lag) or the sum (files waiting), so no tenant id leaves the API."""
    per_tenant = ["tenant"] if tenant_labels else []
    return {
        "up": GaugeMetricFamily(
            "luna_metrics_source_up", "1 if the source of these figures answered", labels=["source"]
        ),
        "newest": GaugeMetricFamily(
            "luna_tenant_last_reading_timestamp_seconds",
            "Timestamp of the tenant's newest stored reading",
            labels=per_tenant,
        ),
        "age": GaugeMetricFamily(
            "luna_tenant_data_age_seconds", "Seconds since the tenant's newest stored reading", labels=per_tenant
        ),
        "ingest": GaugeMetricFamily(
            "luna_tenant_last_ingest_timestamp_seconds",
            "When the tenant's last ingest batch finished",
            labels=per_tenant,
        ),
        "pending": GaugeMetricFamily(
            "luna_ingest_pending_files", "Files waiting in the tenant's landing inbox", labels=per_tenant
        ),
        "lag": GaugeMetricFamily(
            "luna_ingest_lag_seconds", "Age of the oldest file waiting in the tenant's landing inbox", labels=per_tenant
        ),
        "attention": GaugeMetricFamily(
            "luna_documents_needing_attention",
            "Documents whose last processing failed for a reason outside them (stored file missing, storage key, "
            "vector store down); they answer from their last index until a retry succeeds",
            labels=per_tenant,
        ),
        "source_read": GaugeMetricFamily(
            "luna_source_last_read_timestamp_seconds",
            "When the data source last stored something (meters: any tenant's newest finished batch)",
            labels=["source", "kind"],
        ),
        "source_lag": GaugeMetricFamily(
            "luna_source_lag_seconds",
            "Meters: age of the newest reading from the source (the freshest tenant); prices: how far the stored "
            "prices end before the last published delivery day ends",
            labels=["source", "kind"],
        ),
        "source_errors": GaugeMetricFamily(
            "luna_source_errors_last_day",
            "Readings from the source quarantined within the last 24 hours (all tenants)",
            labels=["source", "kind"],
        ),
        "over_limit": GaugeMetricFamily(
            "luna_readings_over_meter_limit",
            "Readings quarantined within the last 24 hours because they exceed the meter's max_kw",
            labels=per_tenant,
        ),
        "drift": GaugeMetricFamily(
            "luna_forecast_drift_retrains_last_day",
            "Retrains the forecast_drift sensor requested within the last 24 hours"
            + ("" if tenant_labels else " (the most of any one tenant)"),
            labels=per_tenant,
        ),
        "runs": GaugeMetricFamily("luna_dagster_runs", "Dagster runs in the run storage by status", labels=["status"]),
        "failed": GaugeMetricFamily(
            "luna_dagster_failed_runs_last_hour",
            "Dagster runs that failed within the last hour",
            # Not `job`: Prometheus' own target label of that name would rename it to exported_job.
            labels=["dagster_job"],
        ),
        "chain_broken": GaugeMetricFamily(
            "luna_audit_chain_broken",
            "1 if the tenant's audit chain breaks (a row modified, removed or reordered)"
            if tenant_labels
            else "Tenants whose audit chain breaks (a row modified, removed or reordered)",
            labels=per_tenant,
        ),
        "chain_verified": GaugeMetricFamily(
            "luna_audit_chain_verified_timestamp_seconds", "When the audit chains were last verified completely"
        ),
        "free": GaugeMetricFamily("luna_disk_free_bytes", "Free bytes on the volume", labels=["volume"]),
        "ratio": GaugeMetricFamily("luna_disk_free_ratio", "Free share of the volume (0-1)", labels=["volume"]),
    }


class LunaCollector(Collector):
    def __init__(self, ttl: float = 10.0) -> None:
        self.ttl = ttl
        self._engine: Engine | None = None
        self._dagster: Engine | None = None
        self._settings: Settings | None = None
        self._cache: tuple[float, list[Metric]] | None = None
        self._lock = threading.Lock()

    def bind(self, engine: Engine, settings: Settings) -> None:
        with self._lock:
            self._engine, self._settings, self._cache = engine, settings, None
            WATCH.bind(engine, settings.metrics_audit_interval_seconds)
            if self._dagster is not None:
                self._dagster.dispose()  # the previous app's (tests build several)
            try:
                url = settings.dagster_url()
                self._dagster = create_engine(
                    url,
                    pool_size=1,
                    max_overflow=0,
                    pool_pre_ping=True,
                    connect_args={"connect_timeout": settings.db_connect_timeout_seconds},
                )
            except RuntimeError:  # no database configured at all
                self._dagster = None

    def expire(self) -> None:
        """The next scrape reads the figures again instead of the ``ttl`` cache (tests that just wrote some)."""
        with self._lock:
            self._cache = None

    def describe(self) -> Iterable[Metric]:
        # Names only, so the registry knows them before the first scrape.
        return list(_families().values())

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            if self._settings is None:
                return []
            if self._cache and time.monotonic() - self._cache[0] < self.ttl:
                return self._cache[1]
            metrics = self._read()
            self._cache = (time.monotonic(), metrics)
            return metrics

    def _read(self) -> list[Metric]:
        assert self._settings is not None and self._engine is not None
        labelled = self._settings.metrics_tenant_labels
        f = _families(labelled)
        now = time.time()
        try:
            figures = freshness.tenant_freshness(self._engine, self._settings)
            if labelled:
                for t in figures:
                    if t.newest_reading is not None:
                        f["newest"].add_metric([t.tenant_id], t.newest_reading)
                        f["age"].add_metric([t.tenant_id], max(0.0, now - t.newest_reading))
                    if t.last_ingest is not None:
                        f["ingest"].add_metric([t.tenant_id], t.last_ingest)
                    f["pending"].add_metric([t.tenant_id], t.pending_files)
                    f["lag"].add_metric([t.tenant_id], t.oldest_pending_age)
                    f["attention"].add_metric([t.tenant_id], t.documents_needing_attention)
                    f["over_limit"].add_metric([t.tenant_id], t.readings_over_limit)
            else:
                _add_aggregated(f, figures, now)
            f["up"].add_metric(["luna_db"], 1)
        except Exception as error:  # a scrape must still answer: report the source as down
            log.warning("metrics: tenant figures unavailable: %s", type(error).__name__)
            f["up"].add_metric(["luna_db"], 0)
        try:
            for source in sources.source_totals(self._engine, self._settings):
                labels = [source.name, source.kind]
                if source.last_read is not None:
                    f["source_read"].add_metric(labels, source.last_read.timestamp())
                if source.lag_seconds is not None:
                    f["source_lag"].add_metric(labels, source.lag_seconds)
                f["source_errors"].add_metric(labels, source.errors_last_day)
            f["up"].add_metric(["sources"], 1)
        except Exception as error:
            log.warning("metrics: source figures unavailable: %s", type(error).__name__)
            f["up"].add_metric(["sources"], 0)
        try:
            if self._dagster is None:
                raise RuntimeError("no Dagster run storage configured")
            by_status, failed = freshness.dagster_runs(self._dagster)
            for status, count in sorted(by_status.items()):
                f["runs"].add_metric([status], count)
            for job, count in sorted(failed.items()):
                f["failed"].add_metric([job], count)
            drift = freshness.drift_retrains(self._dagster)
            if labelled:
                for tenant, count in sorted(drift.items()):
                    f["drift"].add_metric([tenant], count)
            else:
                f["drift"].add_metric([], max(drift.values(), default=0))
            f["up"].add_metric(["dagster_db"], 1)
        except Exception as error:
            log.info("metrics: Dagster run storage unavailable: %s", type(error).__name__)
            f["up"].add_metric(["dagster_db"], 0)
        self._add_audit_chain(f, labelled)
        settings = self._settings
        volumes = {"data": settings.data_dir, "storage": settings.resolved_storage_dir}
        for name, (free, total) in freshness.disk_usage(volumes).items():
            f["free"].add_metric([name], free)
            f["ratio"].add_metric([name], free / total if total else 0.0)
        return list(f.values())

    @staticmethod
    def _add_audit_chain(f: dict[str, GaugeMetricFamily], labelled: bool) -> None:
        state = WATCH.state()
        if WATCH.failing:
            f["up"].add_metric(["audit_chain"], 0)
        elif state is not None:
            f["up"].add_metric(["audit_chain"], 1)
        if state is None:
            return  # not verified yet: no figure rather than a guess
        f["chain_verified"].add_metric([], state.verified_at)
        broken = {b.tenant_id for b in state.breaks}
        if labelled:
            for tenant in state.tenants:
                f["chain_broken"].add_metric([tenant], 1 if tenant in broken else 0)
        else:
            f["chain_broken"].add_metric([], len(broken))


def _add_aggregated(f: dict[str, GaugeMetricFamily], figures: list, now: float) -> None:
    newest = [t.newest_reading for t in figures if t.newest_reading is not None]
    ingests = [t.last_ingest for t in figures if t.last_ingest is not None]
    if newest:
        f["newest"].add_metric([], min(newest))
        f["age"].add_metric([], max(0.0, now - min(newest)))
    if ingests:
        f["ingest"].add_metric([], min(ingests))
    f["pending"].add_metric([], sum(t.pending_files for t in figures))
    f["lag"].add_metric([], max((t.oldest_pending_age for t in figures), default=0.0))
    f["attention"].add_metric([], sum(t.documents_needing_attention for t in figures))
    f["over_limit"].add_metric([], sum(t.readings_over_limit for t in figures))


COLLECTOR = LunaCollector()
_registered = False


def install(engine: Engine, settings: Settings) -> LunaCollector:
    global _registered
    if not _registered:
        REGISTRY.register(COLLECTOR)
        _registered = True
    COLLECTOR.bind(engine, settings)
    return COLLECTOR
