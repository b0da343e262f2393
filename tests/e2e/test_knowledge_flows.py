"""Knowledge flows in the browser: ask Luna and open a citation; an admin uploads a document,
watches it reach `indexed` and deletes it (the real upload, Tika, e5 and pgvector behind the API)."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.e2e.conftest import World, login, screenshot

pytestmark = pytest.mark.slow
INDEX_TIMEOUT_S = 120


def _manual(marker: str) -> str:
    return (
        "# Connecting your heat pump\n\n"
        f"Reference {marker}. To connect the heat pump to Luna, open the installer menu of the heat pump, "
        "enable the SG-Ready interface and pair the Luna gateway with the pairing code printed on its back. "
        "The heat pump then follows the cheapest hours of the day-ahead market automatically.\n"
    )


def _wait_indexed(world: World, token: str, document_id: str) -> dict:
    deadline = time.monotonic() + INDEX_TIMEOUT_S
    while True:
        doc = httpx.get(f"{world.url}/documents/{document_id}", headers={"Authorization": f"Bearer {token}"}).json()
        if doc["status"] in ("indexed", "failed") or time.monotonic() > deadline:
            assert doc["status"] == "indexed", doc
            return doc
        time.sleep(1)


def test_ask_luna_and_open_a_citation(page, world: World):
    marker = f"HP-{uuid.uuid4().hex[:8]}"
    token = world.a_admin.token(world.url)
    uploaded = httpx.post(
        f"{world.url}/ingest/doc",
        files={"file": (f"heat-pump-{marker}.md", _manual(marker).encode(), "text/markdown")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert uploaded.status_code in (200, 202), uploaded.text
    _wait_indexed(world, token, uploaded.json()["id"])

    login(page, world.a_customer)
    page.locator("#ask-luna").fill("How do I connect my heat pump to Luna?")
    page.get_by_test_id("ask-luna").click()
    page.get_by_role("heading", name="Luna helpdesk").wait_for()
    answer = page.get_by_test_id("answer").last
    answer.wait_for(timeout=60_000)
    citation = answer.get_by_test_id("citation").first
    citation.wait_for()
    citation.click()
    viewer = page.get_by_test_id("source-viewer")
    viewer.get_by_test_id("source-text").wait_for()
    assert "SG-Ready" in viewer.get_by_test_id("source-text").inner_text()
    screenshot(page, "support-citation")
    page.keyboard.press("Escape")
    answer.get_by_test_id("thumbs-up").click()
    answer.get_by_test_id("feedback-thanks").wait_for()


def test_admin_uploads_a_document_watches_it_get_indexed_and_deletes_it(page, world: World, tmp_path):
    marker = uuid.uuid4().hex[:8]
    path = tmp_path / f"manual-{marker}.md"
    path.write_text(_manual(marker))
    login(page, world.a_admin)
    page.goto("/console/documents")
    page.get_by_test_id("upload-input").set_input_files(str(path))
    row = page.locator(f'[data-testid="document-row"][data-filename="{path.name}"]')
    row.wait_for()
    row.and_(page.locator('[data-status="indexed"]')).wait_for(timeout=INDEX_TIMEOUT_S * 1000)
    screenshot(page, "console-documents")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_test_id("delete-document").click()
    row.wait_for(state="detached")
    token = world.a_admin.token(world.url)
    listed = httpx.get(f"{world.url}/documents", headers={"Authorization": f"Bearer {token}"}).json()
    assert path.name not in {d["filename"] for d in listed["items"]}
