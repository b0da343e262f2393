"""Luna IEMS domain core: settings, schema, tenancy, ingest, energy analytics, market model.

Imports libraries only: never Dagster, never FastAPI (see ARCHITECTURE.md "Layout").
"""

__version__ = "0.1.0"
