"""OIDC bearer tokens: signature, issuer, audience and expiry checks, claim mapping, key rotation.

No network and no database: keys are generated here and the IdP is a fake ``http_get`` (or, in one
test, a tiny HTTP server on 127.0.0.1)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from luna_core.auth.oidc import (
    OidcConfig,
    OidcError,
    OidcUnavailable,
    OidcVerifier,
    oidc_config_from_settings,
)

ISSUER = "https://idp.example.test/realms/luna"
AUDIENCE = "luna-api"
JWKS_URL = f"{ISSUER}/protocol/openid-connect/certs"
DISCOVERY_URL = f"{ISSUER}/.well-known/openid-configuration"


def _new_rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


RSA_KEY, RSA_KEY_2, EC_KEY = _new_rsa(), _new_rsa(), ec.generate_private_key(ec.SECP256R1())


def jwk(private_key: Any, kid: str) -> dict[str, Any]:
    algorithm = RSAAlgorithm if isinstance(private_key, rsa.RSAPrivateKey) else ECAlgorithm
    return {**algorithm.to_jwk(private_key.public_key(), as_dict=True), "kid": kid, "use": "sig"}


JWKS = {"keys": [jwk(RSA_KEY, "rsa-1"), jwk(EC_KEY, "ec-1")]}


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-123",
        "iat": now,
        "exp": now + 300,
        "luna_tenant": "acme",
        "luna_role": "luna-customer",
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def sign(payload: Mapping[str, Any], key: Any = RSA_KEY, alg: str = "RS256", kid: str | None = "rsa-1") -> str:
    return jwt.encode(dict(payload), key, algorithm=alg, headers={"kid": kid} if kid else None)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def verifier(jwks: Mapping[str, Any] = JWKS, **config: Any) -> OidcVerifier:
    return OidcVerifier(OidcConfig(issuer=ISSUER, audience=AUDIENCE, **config), jwks=jwks)


def rejected(token: str, verify: OidcVerifier | None = None) -> str:
    with pytest.raises(OidcError) as caught:
        (verify or verifier()).verify(token)
    return str(caught.value)


class FakeIdP:
    """Serves discovery and a JWKS that the test can rotate; counts every fetch per URL."""

    def __init__(self, jwks: Mapping[str, Any] = JWKS, delay: float = 0.0) -> None:
        self.jwks, self.delay, self.down = jwks, delay, False
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, url: str) -> Mapping[str, Any]:
        with self.lock:
            self.calls[url] = self.calls.get(url, 0) + 1
        time.sleep(self.delay)
        if self.down:
            raise ConnectionError("IdP unreachable")
        if url == DISCOVERY_URL:
            return {"issuer": ISSUER, "jwks_uri": JWKS_URL}
        assert url == JWKS_URL
        return self.jwks


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- valid tokens and claim mapping ---


@pytest.mark.parametrize(("key", "alg", "kid"), [(RSA_KEY, "RS256", "rsa-1"), (EC_KEY, "ES256", "ec-1")])
def test_valid_token_with_string_role(key: Any, alg: str, kid: str) -> None:
    token = sign(claims(email="ana@acme.test", email_verified=True), key, alg, kid)
    principal = verifier().verify(token)
    assert (principal.subject, principal.tenant_id, principal.role) == ("user-123", "acme", "customer")
    assert principal.platform_admin is False
    assert principal.email == "ana@acme.test"
    assert principal.claims["aud"] == AUDIENCE
    assert "claims" not in repr(principal)  # the raw claims stay out of logs


def test_unverified_email_is_not_passed_on() -> None:
    assert verifier().verify(sign(claims(email="ana@acme.test"))).email is None


def test_list_role_from_dotted_claim_like_keycloak_realm_roles() -> None:
    verify = verifier(role_claim="realm_access.roles")
    roles = {"realm_access": {"roles": ["offline_access", "default-roles-luna", "luna-customer"]}}
    assert verify.verify(sign(claims(luna_role=None, **roles))).role == "customer"
    roles = {"realm_access": {"roles": ["luna-customer", "luna-admin"]}}
    assert verify.verify(sign(claims(luna_role=None, **roles))).role == "admin"  # most privileged wins


def test_dotted_tenant_claim_and_namespaced_claim_names() -> None:
    assert verifier(tenant_claim="ext.tenant").verify(sign(claims(ext={"tenant": "beta-2"}))).tenant_id == "beta-2"
    namespaced = "https://luna.example/tenant"  # Auth0 style: the dots belong to the claim name
    token = sign(claims(luna_tenant=None, **{namespaced: "gamma"}))
    assert verifier(tenant_claim=namespaced).verify(token).tenant_id == "gamma"


def test_luna_role_names_map_to_themselves() -> None:
    assert verifier().verify(sign(claims(luna_role="admin"))).role == "admin"


def test_platform_admin() -> None:
    principal = verifier().verify(sign(claims(luna_role=["luna-admin", "luna-platform-admin"])))
    assert (principal.role, principal.platform_admin, principal.tenant_id) == ("admin", True, "acme")
    # The platform role adds cross-tenant rights only; it is neither a tenant role nor a tenant.
    assert rejected(sign(claims(luna_role=["luna-platform-admin"]))) == "token role is not recognised"
    no_tenant = claims(luna_tenant=None, luna_role=["luna-admin", "luna-platform-admin"])
    assert "no tenant claim" in rejected(sign(no_tenant))
    disabled = verifier(platform_admin_role=None)
    assert disabled.verify(sign(claims(luna_role=["luna-admin", "luna-platform-admin"]))).platform_admin is False


def test_token_without_audience_passes_when_none_is_configured() -> None:
    verify = OidcVerifier(OidcConfig(issuer=ISSUER), jwks=JWKS)
    assert verify.verify(sign(claims(aud="some-other-client"))).tenant_id == "acme"


# --- rejected tokens ---


def test_expired_token() -> None:
    now = int(time.time())
    assert rejected(sign(claims(iat=now - 600, exp=now - 120))) == "token expired"
    assert verifier().verify(sign(claims(iat=now - 600, exp=now - 10))).subject == "user-123"  # within leeway


def test_tampered_payload_breaks_the_signature() -> None:
    header, _, signature = sign(claims()).split(".")
    forged = b64(json.dumps(claims(luna_tenant="victim", luna_role="luna-admin")).encode())
    assert rejected(f"{header}.{forged}.{signature}") == "token signature is invalid"


def test_token_signed_by_an_unknown_key_with_a_known_kid() -> None:
    assert rejected(sign(claims(), key=RSA_KEY_2)) == "token signature is invalid"


def test_wrong_issuer_is_rejected_without_fetching_keys() -> None:
    idp = FakeIdP()
    verify = OidcVerifier(OidcConfig(issuer=ISSUER, audience=AUDIENCE), http_get=idp)
    assert rejected(sign(claims(iss="https://evil.example.test")), verify) == "token issuer is not trusted"
    assert rejected(sign(claims(iss=None)), verify) == "token issuer is not trusted"
    assert idp.calls == {}


def test_wrong_or_missing_audience() -> None:
    assert rejected(sign(claims(aud="another-app"))) == "token audience is not accepted"
    assert rejected(sign(claims(aud=None))) == "token is missing the 'aud' claim"


def test_missing_exp_or_sub() -> None:
    assert rejected(sign(claims(exp=None))) == "token is missing the 'exp' claim"
    assert rejected(sign(claims(sub=None))) == "token is missing the 'sub' claim"


def test_malformed_tokens() -> None:
    for token in ("", "not-a-jwt", "a.b.c", b64(b"{}") + "." + b64(b"[1]") + ".x"):
        assert rejected(token) == "token is malformed"


def test_alg_none_is_rejected() -> None:
    token = f"{b64(json.dumps({'alg': 'none', 'kid': 'rsa-1'}).encode())}.{b64(json.dumps(claims()).encode())}."
    assert rejected(token) == "token algorithm is not accepted"
    assert rejected(jwt.encode(claims(), None, algorithm="none")) == "token algorithm is not accepted"


def test_hs256_signed_with_the_public_key_is_rejected() -> None:
    """The classic key-confusion attack: the public PEM is known to everyone, so as an HMAC secret
    it would let anyone mint tokens. PyJWT refuses to sign this, so the token is built by hand."""
    public_pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT', 'kid': 'rsa-1'}).encode())}."
    signing_input += b64(json.dumps(claims(luna_role="luna-admin")).encode())
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    assert rejected(f"{signing_input}.{b64(mac)}") == "token algorithm is not accepted"


def test_header_algorithm_must_fit_the_key_type() -> None:
    # ES256 claimed in the header, but the kid names the RSA key: never verify across key types.
    token = sign(claims(), EC_KEY, "ES256", kid="rsa-1")
    assert rejected(token) == "token signing key is not known"


def test_token_without_kid_needs_an_unambiguous_key() -> None:
    # One EC key in the set: an ES256 token without kid can only mean that one.
    assert verifier().verify(sign(claims(), EC_KEY, "ES256", kid=None)).subject == "user-123"
    two_rsa = {"keys": [jwk(RSA_KEY, "rsa-1"), jwk(RSA_KEY_2, "rsa-2")]}
    assert rejected(sign(claims(), kid=None), verifier(two_rsa)) == "token signing key is not known"


def test_encryption_keys_are_not_signing_keys() -> None:
    enc_only = {"keys": [{**jwk(RSA_KEY, "rsa-1"), "use": "enc"}]}
    assert rejected(sign(claims()), verifier(enc_only)) == "token signing key is not known"


def test_symmetric_algorithms_cannot_be_configured() -> None:
    for algorithms in (("HS256",), ("RS256", "none"), ()):
        with pytest.raises(ValueError):
            OidcVerifier(OidcConfig(issuer=ISSUER, algorithms=algorithms), jwks=JWKS)
    with pytest.raises(ValueError):
        OidcVerifier(OidcConfig(issuer=ISSUER, role_map={"idp-root": "superuser"}), jwks=JWKS)


def test_missing_tenant_claim() -> None:
    assert rejected(sign(claims(luna_tenant=None))) == "token has no tenant claim 'luna_tenant'"


@pytest.mark.parametrize("tenant", ["Acme", "a", "../etc", "acme corp", "1acme", 42])
def test_invalid_tenant_id(tenant: Any) -> None:
    assert rejected(sign(claims(luna_tenant=tenant))) == "token tenant is not a valid tenant id"


def test_unknown_or_missing_role() -> None:
    assert rejected(sign(claims(luna_role="superuser"))) == "token role is not recognised"
    assert rejected(sign(claims(luna_role=["offline_access"]))) == "token role is not recognised"
    assert rejected(sign(claims(luna_role=None))) == "token has no role claim 'luna_role'"
    assert rejected(sign(claims(luna_role={"admin": True}))) == "token has no role claim 'luna_role'"


# --- key discovery, caching and rotation ---


def test_unknown_kid_triggers_one_refresh_then_succeeds_after_rotation() -> None:
    idp, clock = FakeIdP({"keys": [jwk(RSA_KEY, "rsa-1")]}), Clock()
    verify = OidcVerifier(OidcConfig(issuer=ISSUER, audience=AUDIENCE), http_get=idp, clock=clock)
    assert verify.verify(sign(claims())).subject == "user-123"
    assert idp.calls == {DISCOVERY_URL: 1, JWKS_URL: 1}

    idp.jwks = {"keys": [jwk(RSA_KEY, "rsa-1"), jwk(RSA_KEY_2, "rsa-2")]}  # the IdP rotates
    clock.now += 1  # well inside the cache lifetime: only the unknown kid can cause this fetch
    assert verify.verify(sign(claims(), RSA_KEY_2, kid="rsa-2")).subject == "user-123"
    assert idp.calls == {DISCOVERY_URL: 1, JWKS_URL: 2}

    # Made-up kids: the refresh just happened, so they are rejected without hitting the IdP again.
    assert rejected(sign(claims(), RSA_KEY_2, kid="ghost"), verify) == "token signing key is not known"
    assert idp.calls[JWKS_URL] == 2
    clock.now += 11  # after the cooldown an unknown kid may refresh once more
    assert rejected(sign(claims(), RSA_KEY_2, kid="ghost"), verify) == "token signing key is not known"
    assert idp.calls[JWKS_URL] == 3


def test_jwks_is_cached_for_the_configured_time() -> None:
    idp, clock = FakeIdP(), Clock()
    config = OidcConfig(issuer=ISSUER, audience=AUDIENCE, jwks_url=JWKS_URL, jwks_cache_seconds=60)
    verify = OidcVerifier(config, http_get=idp, clock=clock)
    for _ in range(3):
        verify.verify(sign(claims()))
    assert idp.calls == {JWKS_URL: 1}  # an explicit jwks_url skips discovery
    clock.now += 61
    verify.verify(sign(claims()))
    assert idp.calls == {JWKS_URL: 2}


def test_concurrent_requests_share_one_fetch() -> None:
    idp = FakeIdP(delay=0.05)
    verify = OidcVerifier(OidcConfig(issuer=ISSUER, audience=AUDIENCE, jwks_url=JWKS_URL), http_get=idp)
    token, results = sign(claims()), []
    threads = [threading.Thread(target=lambda: results.append(verify.verify(token).subject)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["user-123"] * 8
    assert idp.calls == {JWKS_URL: 1}


def test_idp_outage() -> None:
    idp, clock = FakeIdP(), Clock()
    idp.down = True
    verify = OidcVerifier(OidcConfig(issuer=ISSUER, audience=AUDIENCE), http_get=idp, clock=clock)
    with pytest.raises(OidcUnavailable, match="token issuer keys are unavailable"):
        verify.verify(sign(claims()))
    idp.down = False
    clock.now += 11
    verify.verify(sign(claims()))
    idp.down = True
    clock.now += 301  # cache expired and the IdP is down: the keys already known keep working
    assert verify.verify(sign(claims())).subject == "user-123"


def test_discovery_must_name_the_configured_issuer() -> None:
    def impostor(url: str) -> Mapping[str, Any]:
        return {"issuer": "https://evil.example.test", "jwks_uri": JWKS_URL} if url == DISCOVERY_URL else JWKS

    verify = OidcVerifier(OidcConfig(issuer=ISSUER), http_get=impostor)
    with pytest.raises(OidcUnavailable):
        verify.verify(sign(claims()))


def test_plain_http_is_refused_except_on_loopback() -> None:
    with pytest.raises(ValueError, match="https"):
        OidcVerifier(OidcConfig(issuer="http://idp.example.test"), http_get=FakeIdP())
    OidcVerifier(OidcConfig(issuer="http://127.0.0.1:8080"), http_get=FakeIdP())
    OidcVerifier(OidcConfig(issuer="http://idp.internal"), jwks=JWKS)  # no fetching, nothing to protect


@pytest.fixture
def local_idp(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[str]]]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    requested: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
            documents = {
                "/.well-known/openid-configuration": {"issuer": issuer, "jwks_uri": f"{issuer}/keys"},
                "/keys": JWKS,
            }
            requested.append(self.path)
            body = json.dumps(documents.get(self.path, {})).encode()
            self.send_response(200 if self.path in documents else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_discovery_and_jwks_over_real_http(local_idp: tuple[str, list[str]]) -> None:
    """The local server stands in for the IdP: the default httpx fetcher runs discovery, then
    fetches the JWKS it names, over real HTTP on 127.0.0.1."""
    issuer, requested = local_idp
    verify = OidcVerifier(OidcConfig(issuer=issuer, audience=AUDIENCE))
    principal = verify.verify(sign(claims(iss=issuer), EC_KEY, "ES256", "ec-1"))
    assert (principal.tenant_id, principal.role) == ("acme", "customer")
    assert requested == ["/.well-known/openid-configuration", "/keys"]


# --- settings ---


def test_config_from_settings() -> None:
    assert oidc_config_from_settings(SimpleNamespace()) is None
    assert oidc_config_from_settings(SimpleNamespace(oidc_issuer=None)) is None
    assert oidc_config_from_settings(SimpleNamespace(oidc_issuer=ISSUER)) == OidcConfig(issuer=ISSUER)
    settings = SimpleNamespace(
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        oidc_jwks_url=JWKS_URL,
        oidc_tenant_claim="ext.tenant",
        oidc_role_claim="realm_access.roles",
        oidc_platform_admin_role="",
    )
    config = oidc_config_from_settings(settings)
    assert config is not None
    assert (config.audience, config.jwks_url, config.tenant_claim, config.role_claim) == (
        AUDIENCE,
        JWKS_URL,
        "ext.tenant",
        "realm_access.roles",
    )
    assert config.platform_admin_role is None
