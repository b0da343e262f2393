"""Data sources: one adapter interface for meters and one for prices, and what is configured.

A **meter source** produces readings for one tenant and hands them to the one ingest path
(``ingest_records`` / ``ingest_file``) under its own ``source`` name: ``file`` (landing inbox,
``luna ingest``), ``mqtt``, ``http`` (``POST /ingest/*``) and ``opcua``. One that is read on a
schedule (``PolledMeterSource``: OPC-UA) has ``poll(now, dry_run=...)``. A **price source**
(``luna_core.market.sources.PriceSource``: ``sim``, ``csv``, ``entsoe``) returns a checked frame for
a zone and days, stored by ``luna_core.market.service.refresh_prices``. A new adapter is one module;
``configured_sources`` names it so status, metrics and ``luna sources`` see it.
"""

from luna_core.sources.registry import (
    PolledMeterSource,
    SourceInfo,
    SourceStatus,
    configured_sources,
    source_statuses,
    source_totals,
)

__all__ = [
    "PolledMeterSource",
    "SourceInfo",
    "SourceStatus",
    "configured_sources",
    "source_statuses",
    "source_totals",
]
