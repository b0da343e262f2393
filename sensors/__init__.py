"""Sensors and schedules: the tenant registry, landing files, periodic refreshes."""
