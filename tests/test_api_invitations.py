"""Tenant admins invite addresses instead of creating accounts with passwords of their choosing,
so `POST /users` never tells whether an address has an account in another tenant; the owner of
the address gets a link (or, when it has an account already, a note) in an e-mail written to the
mail spool (no SMTP server configured in tests)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

from sqlalchemy import func, select

from luna_core import invitations
from luna_core.db.schema import users
from luna_core.db.tenancy import tenant_scope
from luna_core.mail import spool_dir

PASSWORD = "another horse battery"


def _mails_to(settings, address: str) -> list:
    found = []
    for path in sorted(spool_dir(settings).glob("*.eml")) if spool_dir(settings).exists() else []:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["To"] == address:
            found.append(message)
    return found


def _token(message) -> str:
    body = message.get_content()
    return body.split("/invite#", 1)[1].split()[0]


def _fresh(tenant: str) -> str:
    return f"new-{uuid.uuid4().hex[:8]}@{tenant}.example.com"


def test_an_address_with_an_account_elsewhere_looks_like_any_new_address(api, api_user, api_settings, engine):
    elsewhere = api_user(role="customer")  # an account in another tenant
    admin = api_user(role="admin")
    fresh = _fresh(admin.tenant_id)

    answers = [
        api.post("/users", headers=admin.headers, json={"email": address, "role": "customer"})
        for address in (elsewhere.email, fresh)
    ]
    assert [a.status_code for a in answers] == [202, 202], [a.text for a in answers]
    shapes = [
        {k: v for k, v in a.json().items() if k not in ("id", "email", "created_at", "expires_at")} for a in answers
    ]
    assert shapes[0] == shapes[1] == {"role": "customer", "status": "pending"}
    listed = api.get("/users/invitations", headers=admin.headers).json()["items"]
    assert {i["email"]: i["status"] for i in listed} == {elsewhere.email: "pending", fresh: "pending"}

    # Only the owners of the addresses learn the difference.
    [note] = _mails_to(api_settings, elsewhere.email)
    assert "/invite#" not in note.get_content() and "already has an account" in note.get_content()
    [link] = _mails_to(api_settings, fresh)
    assert "/invite#" in link.get_content() and "Passwort" in link.get_content()
    with tenant_scope(engine, admin.tenant_id) as connection:
        mine = connection.execute(select(func.count()).select_from(users).where(users.c.email == elsewhere.email))
        assert mine.scalar_one() == 0


def test_the_invited_person_chooses_the_password_and_signs_in(api, api_user, api_settings):
    admin = api_user(role="admin")
    fresh = _fresh(admin.tenant_id)
    assert api.post("/users", headers=admin.headers, json={"email": fresh, "role": "admin"}).status_code == 202
    token = _token(_mails_to(api_settings, fresh)[-1])

    accepted = api.post("/users/invitations/accept", json={"token": token, "password": PASSWORD})
    assert accepted.status_code == 201, accepted.text
    assert (accepted.json()["email"], accepted.json()["role"], accepted.json()["tenant_id"]) == (
        fresh,
        "admin",
        admin.tenant_id,
    )
    login = api.post("/auth/token", data={"username": fresh, "password": PASSWORD})
    assert login.status_code == 200
    again = api.post("/users/invitations/accept", json={"token": token, "password": PASSWORD})
    assert again.status_code == 400 and again.json()["error"] == "bad_request"
    listed = api.get("/users/invitations", headers=admin.headers).json()["items"]
    assert [i["status"] for i in listed if i["email"] == fresh] == ["accepted"]
    audit_rows = api.get("/admin/audit", headers=admin.headers, params={"action": "user.invitation.accept"}).json()
    assert [r["actor"] for r in audit_rows["items"]] == [fresh] and audit_rows["items"][0]["request_id"]


def test_a_conflict_at_acceptance_is_told_to_the_person_accepting(api, api_user, api_settings, engine):
    admin = api_user(role="admin")
    fresh = _fresh(admin.tenant_id)
    api.post("/users", headers=admin.headers, json={"email": fresh})
    token = _token(_mails_to(api_settings, fresh)[-1])
    other = api_user(role="admin")
    from luna_core.users import create_user

    with tenant_scope(engine, other.tenant_id) as connection:  # the address takes an account meanwhile
        create_user(connection, other.tenant_id, fresh, PASSWORD, "customer")
    answer = api.post("/users/invitations/accept", json={"token": token, "password": PASSWORD})
    assert answer.status_code == 409 and "already exists" in answer.json()["detail"]


def test_own_tenant_duplicates_bad_tokens_and_roles(api, api_user):
    admin = api_user(role="admin")
    customer = api_user(admin.tenant_id, role="customer")
    same = api.post("/users", headers=admin.headers, json={"email": customer.email})
    assert same.status_code == 409 and "this tenant" in same.json()["detail"]
    assert api.post("/users", headers=customer.headers, json={"email": _fresh("x")}).status_code == 403
    for token in ("no-such.tenant-token-xyz", "Bad Tenant.abcdefghijkl", f"{admin.tenant_id}.{'x' * 43}"):
        bad = api.post("/users/invitations/accept", json={"token": token, "password": PASSWORD})
        assert bad.status_code == 400 and "invalid" in bad.json()["detail"], bad.text


def test_an_invitation_expires(engine, tenant_factory):
    tenant = tenant_factory("inv")
    now = datetime(2026, 6, 1, tzinfo=UTC)
    with tenant_scope(engine, tenant) as connection:
        invitation, mail = invitations.invite(
            connection,
            tenant,
            _fresh(tenant),
            "customer",
            invited_by="boss@x",
            public_url="https://luna.example.com/",
            lifetime=timedelta(days=7),
            now=now,
        )
    assert invitation.status == "pending" and "https://luna.example.com/invite#" in mail.body
    token = mail.body.split("/invite#", 1)[1].split()[0]
    late = now + timedelta(days=7, seconds=1)
    import pytest

    with pytest.raises(invitations.InvitationInvalid):
        invitations.accept(engine, token, PASSWORD, now=late)
    user = invitations.accept(engine, token, PASSWORD, now=now + timedelta(days=6))
    assert user.email == invitation.email
