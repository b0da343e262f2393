"""The login lockout on real PostgreSQL: counted atomically under parallel guesses, per e-mail and per
client address on a sliding window, the same answer for e-mails with and without an account, and the
right password from a known device (the device cookie of an earlier login) still getting in."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from luna_api.main import create_app
from luna_core.auth import login as login_module
from luna_core.auth import passwords
from luna_core.auth.login import AuthError, LockedOut, LoginPolicy, login
from luna_core.db.schema import audit_log
from luna_core.db.tenancy import tenant_scope
from luna_core.users import create_user

PASSWORD = "correct horse battery"
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def person(engine, tenant_factory):
    tenant = tenant_factory("lock")
    email = f"lock-{uuid.uuid4().hex[:8]}@{tenant}.example.com"
    with tenant_scope(engine, tenant) as connection:
        create_user(connection, tenant, email, PASSWORD, "customer")
    return tenant, email


@pytest.fixture
def strict_app(api_settings):
    """The API with the shipped lockout limits (the session's app relaxes the per-address one)."""
    defaults = type(api_settings)(_env_file=None)
    settings = api_settings.model_copy(
        update={
            "login_max_failures": defaults.login_max_failures,
            "login_max_failures_per_address": defaults.login_max_failures_per_address,
        }
    )
    return create_app(settings)


def client(app, address: str) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, client=(address, 50000))


def sign_in(http: TestClient, email: str, password: str):
    return http.post("/auth/token", data={"username": email, "password": password})


def test_parallel_wrong_passwords_are_counted_before_they_are_checked(engine, person, monkeypatch):
    """30 wrong passwords, 10 at a time: only the first max_failures are checked, the rest are refused."""
    _, email = person
    policy = LoginPolicy(max_failures=5, max_failures_per_address=1000)
    checked = []
    real_verify = passwords.verify_password

    def counting_verify(password, password_hash):
        checked.append(password)
        return real_verify(password, password_hash)

    def attempt(i: int) -> str:
        try:
            login(engine, email, f"wrong password {i}", policy, client_addr=f"198.51.100.{i}", now=T0)
        except LockedOut:
            return "locked"
        except AuthError:
            return "refused"
        return "in"

    monkeypatch.setattr(login_module, "verify_password", counting_verify)
    with ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(attempt, range(30)))
    assert outcomes.count("refused") == 5 and outcomes.count("locked") == 25
    assert len(checked) == 5
    with pytest.raises(LockedOut):  # the right password too, from a client that is no known device
        login(engine, email, PASSWORD, policy, client_addr="198.51.100.99", now=T0 + timedelta(minutes=1))


def test_the_window_slides(engine, person):
    _, email = person
    policy = LoginPolicy(max_failures=3, lockout=timedelta(minutes=15), max_failures_per_address=1000)
    for minute in (0, 5, 10):
        with pytest.raises(AuthError):
            login(
                engine, email, "not the password", policy, client_addr="192.0.2.1", now=T0 + timedelta(minutes=minute)
            )
    with pytest.raises(LockedOut) as locked:
        login(engine, email, PASSWORD, policy, client_addr="192.0.2.1", now=T0 + timedelta(minutes=12))
    assert locked.value.retry_after == 3 * 60  # the failure at minute 0 leaves the window at minute 15
    # At minute 15 one failure has left the window: one attempt passes, and the right one gets in.
    session = login(engine, email, PASSWORD, policy, client_addr="192.0.2.1", now=T0 + timedelta(minutes=15, seconds=1))
    assert session.principal.email == email


def test_strangers_cannot_lock_the_owner_out_of_a_known_device(strict_app, person):
    _, email = person
    with client(strict_app, "203.0.113.10") as owner, client(strict_app, "198.51.100.66") as stranger:
        assert sign_in(owner, email, PASSWORD).status_code == 200  # the owner's browser: now a known device
        assert "luna_device" in owner.cookies
        answers = [sign_in(stranger, email, f"guess number {i}").status_code for i in range(6)]
        assert answers == [401] * 5 + [429]
        refused = sign_in(stranger, email, PASSWORD)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert refused.json()["error"] == "too_many_requests"
        # The owner, on the device they used before, still gets in with the right password.
        assert sign_in(owner, email, PASSWORD).status_code == 200
        # A device cookie is bound to its account: it does not open a locked account it was not issued for.
        other = f"other-{uuid.uuid4().hex[:6]}@nowhere.example.com"
        for i in range(5):
            sign_in(stranger, other, f"guess number {i}")
        assert sign_in(owner, other, "whatever it is").status_code == 429


def test_a_lock_does_not_tell_which_emails_have_accounts(strict_app, person):
    _, email = person
    unknown = f"nobody-{uuid.uuid4().hex[:6]}@{uuid.uuid4().hex[:6]}.example.com"
    with client(strict_app, "203.0.113.20") as http:
        known_answers = [sign_in(http, email, f"guess {i}") for i in range(6)]
        unknown_answers = [sign_in(http, unknown, f"guess {i}") for i in range(6)]
    assert [r.status_code for r in known_answers] == [r.status_code for r in unknown_answers] == [401] * 5 + [429]
    assert [r.json() for r in known_answers] == [r.json() for r in unknown_answers]


def test_one_address_guessing_many_accounts_is_locked(strict_app, person, api_settings):
    _, email = person
    limit = type(api_settings)(_env_file=None).login_max_failures_per_address
    with client(strict_app, "198.51.100.30") as owner, client(strict_app, "198.51.100.30") as guesser:
        assert sign_in(owner, email, PASSWORD).status_code == 200  # a known device behind the same address
        answers = [
            sign_in(guesser, f"user{i}-{uuid.uuid4().hex[:4]}@example.com", "Winter2026!").status_code
            for i in range(limit + 1)
        ]
        assert answers == [401] * limit + [429]
        assert sign_in(guesser, email, PASSWORD).status_code == 429
        assert sign_in(owner, email, PASSWORD).status_code == 200
    # Each e-mail saw one failure only: the lock is the address's, another address is not locked.
    with client(strict_app, "198.51.100.31") as neighbour:
        assert sign_in(neighbour, f"fresh-{uuid.uuid4().hex[:4]}@example.com", "Winter2026!").status_code == 401


def test_an_unknown_email_costs_the_same_argon2_verify(engine, monkeypatch):
    """Timing: an unknown e-mail is verified against a dummy hash, the same Argon2id work as a real one."""
    hashes = []
    real_verify = passwords.verify_password

    def recording_verify(password, password_hash):
        hashes.append(password_hash)
        return real_verify(password, password_hash)

    monkeypatch.setattr(login_module, "verify_password", recording_verify)
    with pytest.raises(AuthError):
        login(engine, f"ghost-{uuid.uuid4().hex[:6]}@example.com", "some password", LoginPolicy(), now=T0)
    assert hashes == [None]  # None: verify_password runs the dummy hash
    assert passwords._DUMMY_HASH.startswith("$argon2id$")


def test_failed_logins_of_real_accounts_are_audited(engine, person):
    tenant, email = person
    with pytest.raises(AuthError):
        login(engine, email, "wrong wrong wrong", LoginPolicy(), client_addr="192.0.2.50", now=T0)
    with tenant_scope(engine, tenant) as connection:
        rows = connection.execute(select(audit_log).where(audit_log.c.action == "login")).all()
    assert [(r.actor, r.outcome, r.client_addr) for r in rows] == [(email, "failed", "192.0.2.50")]
