"""A minimal app until the API issue: liveness only, never imports Dagster."""

from fastapi import FastAPI

from luna_core import __version__

app = FastAPI(title="Luna IEMS", version=__version__)


@app.get("/health", tags=["ops"])
def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}
