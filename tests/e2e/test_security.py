"""Security headers and the session in a real browser (Debian's Chromium): the dashboard and Swagger UI
run under the Content-Security-Policy without one violation; the dashboard works when the browser
blocks localStorage; two open tabs refresh their tokens once between them, and nobody is logged out."""

from __future__ import annotations

import itertools
import time

import pytest
from sqlalchemy import select

from luna_api.main import create_app
from luna_core.db.schema import audit_log
from luna_core.db.tenancy import tenant_scope
from tests.e2e.conftest import DIST, ServerThread, add_person, login

pytestmark = pytest.mark.slow

# Collected in the page itself: every CSP violation fires this event (and Chromium logs it too).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""
# What Chromium does with "Block sites from saving data": every localStorage/sessionStorage access throws.
BLOCK_STORAGE = """
for (const name of ['localStorage', 'sessionStorage']) {
  Object.defineProperty(window, name, {
    configurable: true,
    get() { throw new DOMException("Access is denied for this document.", "SecurityError"); },
  });
}
"""


def _watch(page) -> list[str]:
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(RECORD_VIOLATIONS)
    return console


def _violations(page, console: list[str]) -> list[str]:
    reported = page.evaluate("window.__cspViolations || []")
    logged = [line for line in console if "Content Security Policy" in line or "Content-Security-Policy" in line]
    return reported + logged


def _nav(page, name: str):
    return page.get_by_role("navigation", name="Main navigation").get_by_role("link", name=name)


def test_the_dashboard_runs_under_the_csp(page, world):
    console = _watch(page)
    response = page.goto("/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    login(page, world.a_customer)
    page.get_by_test_id("home-chart").locator("canvas").first.wait_for()
    for name in ("Market prices", "Smart meter", "Support"):
        _nav(page, name).click()
        page.wait_for_load_state("networkidle")
    assert _violations(page, console) == []


def test_the_dashboard_cannot_be_framed(browser, world):
    context = browser.new_context()
    page = context.new_page()
    console = _watch(page)
    page.set_content(f'<iframe id="f" src="{world.url}/"></iframe>')
    deadline = time.monotonic() + 20  # the refusal is logged once the frame's response arrived
    while not any("frame-ancestors" in line or "X-Frame-Options" in line for line in console):
        assert time.monotonic() < deadline, console
        page.wait_for_timeout(200)
    assert page.frame_locator("#f").locator("#root").count() == 0  # the frame stays empty
    context.close()


def test_swagger_ui_works_under_its_csp(page, world):
    console = _watch(page)
    failed: list[str] = []
    loaded: list[str] = []  # from the requests, not performance entries: the page's installed clock hides those
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("requestfinished", lambda request: loaded.append(request.url))
    response = page.goto("/docs")
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    page.get_by_text("/auth/token").first.wait_for()
    page.locator(".opblock").first.click()  # an operation opens: the UI's scripts run
    page.locator(".opblock-body").first.wait_for()
    assert failed == []  # everything from the API itself: no CDN
    foreign = [url for url in loaded if not url.startswith((world.url, "data:"))]
    assert loaded and foreign == [], foreign
    assert _violations(page, console) == []


def test_the_dashboard_works_when_storage_is_blocked(browser, world):
    context = browser.new_context(base_url=world.url, locale="en-GB", viewport={"width": 1366, "height": 900})
    context.add_init_script(BLOCK_STORAGE)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    login(page, world.a_customer)  # before: a blank page (the first localStorage access threw)
    assert page.evaluate("(() => { try { localStorage; return 'readable'; } catch { return 'blocked'; } })()") == (
        "blocked"
    )
    _nav(page, "Market prices").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("button", name="Sign in").count() == 0  # still signed in, session in memory
    # A second tab cannot read storage either: it gets the session from the first one by message.
    second = context.new_page()
    second.goto("/")
    second.get_by_test_id("greeting").wait_for()
    assert errors == []
    context.close()


def test_two_tabs_refresh_once_and_stay_signed_in(browser, engine, api_settings, world):
    """Access tokens of one minute: the dashboard refreshes five seconds after each new token, in both
    tabs at once. Before: each tab spent the same refresh token, the second was taken for theft and
    both tabs were signed out."""
    person = add_person(engine, world.a_customer.tenant_id, "customer")
    settings = api_settings.model_copy(update={"access_token_minutes": 1, "ui_dist_dir": DIST})
    with ServerThread(create_app(settings)) as server:
        context = browser.new_context(base_url=server.url, locale="en-GB", viewport={"width": 1366, "height": 900})
        refreshes: list[tuple[float, int]] = []
        context.on(
            "response",
            lambda response: (
                refreshes.append((time.monotonic(), response.status))
                if response.url.endswith("/auth/refresh")
                else None
            ),
        )
        first = context.new_page()
        first.set_default_timeout(30_000)
        login(first, person)
        second = context.new_page()
        second.set_default_timeout(30_000)
        second.goto("/")
        second.get_by_test_id("greeting").wait_for()
        deadline = time.monotonic() + 40
        while len(refreshes) < 2 and time.monotonic() < deadline:
            first.wait_for_timeout(250)
        first.wait_for_timeout(1000)
        assert len(refreshes) >= 2, refreshes
        assert all(status == 200 for _, status in refreshes), refreshes
        # One refresh per round for both tabs: rounds are ~5 s apart, never two requests at once.
        gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(refreshes)]
        assert min(gaps) > 3, refreshes
        for tab in (first, second):
            tab.reload()
            tab.get_by_test_id("greeting").wait_for()
        context.close()
    with tenant_scope(engine, person.tenant_id) as connection:
        outcomes = connection.execute(select(audit_log.c.outcome).where(audit_log.c.action == "refresh")).scalars()
        assert "reused-token-revoked-all" not in list(outcomes)
