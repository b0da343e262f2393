"""The training set of the global forecasting model: anonymised load shapes of the tenants that
share them. Shapes carry no tenant id and no absolute kWh (``anonymise_profile``); which tenants
contributed is returned for counting, never stored with the model."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import polars as pl
from sqlalchemy import Engine

from luna_core.db.tenancy import tenant_scope
from luna_core.forecasting.anonymise import anonymise_profile
from luna_core.forecasting.store import newest_hour, site_load
from luna_core.tenants import list_tenants
from luna_core.weather import tenant_temperature

# Not a valid tenant id (ids start with a letter): the global model can never share a tenant's name.
GLOBAL = "_global"


@dataclass
class TrainingSet:
    profiles: list[pl.DataFrame] = field(default_factory=list)
    contributors: list[str] = field(default_factory=list)
    opted_out: list[str] = field(default_factory=list)
    too_short: list[str] = field(default_factory=list)


def global_training_set(engine: Engine, history_days: int = 365, min_days: int = 28) -> TrainingSet:
    found = TrainingSet()
    for tenant in list_tenants(engine, active_only=True):
        if not tenant.share_anonymised:
            found.opted_out.append(tenant.id)
            continue
        with tenant_scope(engine, tenant.id) as connection:
            newest = newest_hour(connection, tenant.id)
            if newest is None:
                found.too_short.append(tenant.id)
                continue
            end = newest + timedelta(hours=1)
            load = site_load(connection, tenant.id, end - timedelta(days=history_days), end)
        if load.height < min_days * 24:
            found.too_short.append(tenant.id)
            continue
        temperature = tenant_temperature(tenant, load["ts"].min(), end)
        found.profiles.append(anonymise_profile(load, temperature, tenant.state, tenant.timezone))
        found.contributors.append(tenant.id)
    return found
