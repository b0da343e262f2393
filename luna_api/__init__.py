"""FastAPI service (routers per domain arrive with the API issue)."""
