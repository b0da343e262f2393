from dagster import AssetSelection, define_asset_job

from sensors.partitions import tenants_partitions

energy_job = define_asset_job(
    "energy_refresh",
    selection=AssetSelection.groups("energy"),
    partitions_def=tenants_partitions,
    description="Ingest pending readings, refresh hourly consumption and KPIs for one tenant.",
)
market_job = define_asset_job(
    "market_refresh", selection=AssetSelection.groups("market"), description="Fetch day-ahead prices."
)

forecast_retrain_job = define_asset_job(
    "forecast_retrain",
    selection=AssetSelection.assets("load_forecast_model", "load_forecast"),
    partitions_def=tenants_partitions,
    description="Train, backtest and register a load model for one tenant, then forecast with the champion.",
)
forecast_job = define_asset_job(
    "forecast_refresh",
    selection=AssetSelection.assets("load_forecast"),
    partitions_def=tenants_partitions,
    description="Forecast the rest of today and tomorrow for one tenant with its champion model.",
)

global_model_job = define_asset_job(
    "global_forecast_model",
    selection=AssetSelection.assets("global_load_model"),
    description="Retrain the global load-shape model from the shared anonymised profiles.",
)

playbook_job = define_asset_job(
    "playbook_refresh",
    selection=AssetSelection.assets("recommendations"),
    partitions_def=tenants_partitions,
    description="Plan tomorrow's flexible devices, refresh recommendations, settle the savings ledger (one tenant).",
)
knowledge_job = define_asset_job(
    "knowledge_refresh",
    selection=AssetSelection.assets("documents", "document_chunks", "knowledge_index"),
    partitions_def=tenants_partitions,
    description="Process a tenant's queued documents and reconcile its part of the vector index.",
)
knowledge_rebuild_job = define_asset_job(
    "knowledge_rebuild",
    selection=AssetSelection.assets("knowledge_collection"),
    description="Rebuild the whole vector index from the record, blue/green.",
)
