"""Seeded, reproducible simulators: smart meters (``meters``), fault injection (``faults``)
and day-ahead prices (``market``), built on real profiles and weather shipped in packages.

Submodules are imported explicitly (``from luna_core.simulation.meters import simulate_site``)
so importing the market model does not pull in pvlib and the meter models.
"""
