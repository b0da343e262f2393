from dagster import AssetSelection, define_asset_job

from luna_assets.partitions import tenants_partitions

energy_job = define_asset_job(
    "energy_refresh",
    selection=AssetSelection.groups("energy"),
    partitions_def=tenants_partitions,
    description="Ingest pending readings, refresh hourly consumption and KPIs for one tenant.",
)
market_job = define_asset_job(
    "market_refresh", selection=AssetSelection.groups("market"), description="Fetch day-ahead prices."
)
