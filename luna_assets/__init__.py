"""Dagster assets by domain; ``definitions.py`` assembles the one ``Definitions``."""
