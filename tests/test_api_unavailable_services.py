"""A knowledge service that is down answers 503 with the reason, through the one handler in
luna_api/errors.py, not a 500: here the embedding server (Ollama) is a port nobody listens on."""

from __future__ import annotations

import socket

from fastapi.testclient import TestClient

from luna_api.main import create_app


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_search_with_the_embedding_server_down_is_503(api_settings, api_user):
    settings = api_settings.model_copy(update={"ollama_url": f"http://127.0.0.1:{_closed_port()}"})
    user = api_user()
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.post("/search", headers=user.headers, json={"query": "Wärmepumpe"})
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "service_unavailable" and response.headers["retry-after"] == "5"
