"""Registers a simulated site as a tenant with its meters (demo, benchmark, tests)."""

from __future__ import annotations

from sqlalchemy import Engine

from luna_core.simulation.sites import SiteSpec
from luna_core.tenants import Tenant, create_tenant


def register_site(engine: Engine, site: SiteSpec) -> Tenant:
    return create_tenant(
        engine,
        site.tenant_id,
        site.name,
        site.kind,
        zone=site.zone,
        timezone=site.timezone,
        state=site.state,
        meter_specs=site.meters,
        latitude=site.latitude,
        longitude=site.longitude,
    )
