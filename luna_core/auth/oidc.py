"""Bearer tokens from an external OpenID Connect issuer, verified against its JWKS. Only asymmetric
algorithms: with HS* anyone could sign using the issuer's *public* key as HMAC secret; ``none`` has no signature."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt

from luna_core.db.tenancy import InvalidTenantId, validate_tenant_id

log = logging.getLogger(__name__)

LUNA_ROLES = ("admin", "customer")  # most privileged first: a token with several roles gets the first match
_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}  # algorithm prefix -> JWK kty it may use
_ASYMMETRIC = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})
# Forced refreshes (unknown kid) are rate limited so tokens with made-up kids cannot hammer the IdP.
_FORCED_REFRESH_COOLDOWN_SECONDS = 10.0
# Client-safe messages; the first matching class wins, so subclasses come before their bases.
_DECODE_ERRORS: tuple[tuple[type[Exception] | tuple[type[Exception], ...], str], ...] = (
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.InvalidSignatureError, "token signature is invalid"),
    (jwt.InvalidIssuerError, "token issuer is not trusted"),
    (jwt.InvalidAudienceError, "token audience is not accepted"),
    ((jwt.ImmatureSignatureError, jwt.InvalidIssuedAtError), "token is not yet valid"),
    (jwt.InvalidAlgorithmError, "token algorithm is not accepted"),
)


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    audience: str | None = None
    jwks_url: str | None = None
    tenant_claim: str = "luna_tenant"
    role_claim: str = "luna_role"
    role_map: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({"luna-admin": "admin", "luna-customer": "customer"}), hash=False
    )
    platform_admin_role: str | None = "luna-platform-admin"
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    leeway_seconds: int = 30
    jwks_cache_seconds: int = 300


@dataclass(frozen=True)
class OidcPrincipal:
    subject: str
    tenant_id: str
    role: str
    platform_admin: bool
    email: str | None
    claims: Mapping[str, Any] = field(repr=False, hash=False)  # repr=False keeps personal data out of logs


class OidcError(Exception):
    """A rejected token; the message is safe to return to the client."""


class OidcUnavailable(OidcError):
    """The issuer's keys could not be fetched: a server-side problem (503), not a bad token (401)."""


def oidc_config_from_settings(settings: Any) -> OidcConfig | None:
    issuer = getattr(settings, "oidc_issuer", None)
    if not issuer:
        return None
    base = OidcConfig(issuer=str(issuer))
    return OidcConfig(
        issuer=base.issuer,
        audience=getattr(settings, "oidc_audience", None) or None,
        jwks_url=getattr(settings, "oidc_jwks_url", None) or None,
        tenant_claim=getattr(settings, "oidc_tenant_claim", None) or base.tenant_claim,
        role_claim=getattr(settings, "oidc_role_claim", None) or base.role_claim,
        # An empty value disables platform admins from this IdP; an absent attribute keeps the default.
        platform_admin_role=getattr(settings, "oidc_platform_admin_role", base.platform_admin_role) or None,
    )


def fetch_json(url: str) -> Mapping[str, Any]:
    response = httpx.get(url, timeout=5.0, headers={"Accept": "application/json"})
    response.raise_for_status()
    document = response.json()
    if not isinstance(document, dict):
        raise ValueError(f"{url} did not return a JSON object")
    return document


def _require_secure(url: str) -> str:
    # Keys fetched over plain HTTP could be swapped in transit; loopback stays allowed for dev and tests.
    parts = urlsplit(url)
    host = parts.hostname or ""
    loopback = host in ("localhost", "::1") or host.startswith("127.")
    if parts.scheme == "https" or (parts.scheme == "http" and loopback):
        return url
    raise ValueError(f"refusing to fetch OIDC keys from {url!r}: use https")


def _claim(claims: Mapping[str, Any], path: str) -> Any:
    # Exact key first: namespaced claims such as "https://luna.example/tenant" contain dots themselves.
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


class OidcVerifier:
    def __init__(
        self,
        config: OidcConfig,
        *,
        jwks: Mapping[str, Any] | None = None,
        http_get: Callable[[str], Mapping[str, Any]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        unsafe = sorted(set(config.algorithms) - _ASYMMETRIC)
        if unsafe or not config.algorithms:
            raise ValueError(f"OIDC algorithms must be among {sorted(_ASYMMETRIC)}, got {unsafe or 'none'}")
        unknown_roles = sorted(set(config.role_map.values()) - set(LUNA_ROLES))
        if unknown_roles:
            raise ValueError(f"role_map targets must be one of {LUNA_ROLES}, got {unknown_roles}")
        self.config = config
        self._http_get = http_get or fetch_json
        self._clock = clock
        self._lock = threading.Lock()
        self._static = jwks is not None
        self._keys: list[Mapping[str, Any]] = self._parse_jwks(jwks) if jwks is not None else []
        self._expires_at = float("-inf")
        self._last_forced = float("-inf")
        self._jwks_url = config.jwks_url
        if not self._static:  # fail at startup on a plain-http IdP rather than on the first request
            _require_secure(config.jwks_url or self._discovery_url())

    def _discovery_url(self) -> str:
        return self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"

    def verify(self, token: str) -> OidcPrincipal:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise OidcError("token is malformed") from None
        # Checked before key lookup so foreign tokens never trigger a JWKS refresh.
        if unverified.get("iss") != self.config.issuer:
            raise OidcError("token issuer is not trusted")
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self.config.algorithms:
            raise OidcError("token algorithm is not accepted")
        if kid is not None and not isinstance(kid, str):
            raise OidcError("token is malformed")
        claims = self._decode(token, self._key_for(kid, alg))
        return self._principal(claims)

    def _decode(self, token: str, key: jwt.PyJWK) -> dict[str, Any]:
        cfg = self.config
        try:
            return jwt.decode(
                token,
                key,
                algorithms=list(cfg.algorithms),
                issuer=cfg.issuer,
                audience=cfg.audience,
                leeway=cfg.leeway_seconds,
                # Without a configured audience, tokens minted for any client of this issuer pass.
                options={"require": ["exp", "iss", "sub"], "verify_aud": cfg.audience is not None},
            )
        except jwt.MissingRequiredClaimError as error:
            raise OidcError(f"token is missing the {error.claim!r} claim") from None
        except jwt.PyJWTError as error:
            message = next((text for kind, text in _DECODE_ERRORS if isinstance(error, kind)), "token is malformed")
            raise OidcError(message) from None

    def _principal(self, claims: dict[str, Any]) -> OidcPrincipal:
        cfg = self.config
        tenant = _claim(claims, cfg.tenant_claim)
        if tenant is None:
            raise OidcError(f"token has no tenant claim {cfg.tenant_claim!r}")
        try:
            tenant_id = validate_tenant_id(tenant)
        except InvalidTenantId:
            raise OidcError("token tenant is not a valid tenant id") from None
        raw = _claim(claims, cfg.role_claim)
        values = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
        idp_roles = [role for role in values if isinstance(role, str)]
        if not idp_roles:
            raise OidcError(f"token has no role claim {cfg.role_claim!r}")
        # Unmapped list entries are ignored: IdPs add their own roles (offline_access, default-roles-...).
        mapped = {cfg.role_map.get(role, role if role in LUNA_ROLES else None) for role in idp_roles}
        role = next((luna for luna in LUNA_ROLES if luna in mapped), None)
        if role is None:
            raise OidcError("token role is not recognised")
        # An unverified address must not pass for a local user's (it becomes the audit actor).
        email = claims.get("email") if claims.get("email_verified") is True else None
        if not claims["sub"]:
            raise OidcError("token is malformed")
        return OidcPrincipal(
            subject=claims["sub"],
            tenant_id=tenant_id,
            role=role,
            platform_admin=cfg.platform_admin_role is not None and cfg.platform_admin_role in idp_roles,
            email=email if isinstance(email, str) else None,
            claims=MappingProxyType(claims),
        )

    def _key_for(self, kid: str | None, alg: str) -> jwt.PyJWK:
        with self._lock:
            if not self._static and self._clock() >= self._expires_at:
                self._refresh()
            jwk = self._lookup(kid, alg)
            may_force = self._clock() - self._last_forced >= _FORCED_REFRESH_COOLDOWN_SECONDS
            if jwk is None and not self._static and may_force:
                # An unknown kid usually means the IdP rotated its keys since we cached them.
                self._last_forced = self._clock()
                self._refresh()
                jwk = self._lookup(kid, alg)
        if jwk is None:
            raise OidcError("token signing key is not known")
        try:
            # Bind the key to the header's (already allow-listed) algorithm, not one inferred from the JWK.
            return jwt.PyJWK(dict(jwk), algorithm=alg)
        except jwt.PyJWTError:
            raise OidcError("token signing key is not known") from None

    def _lookup(self, kid: str | None, alg: str) -> Mapping[str, Any] | None:
        kty = _KEY_TYPES[alg[:2]]
        fits = [k for k in self._keys if k.get("kty") == kty and k.get("alg", alg) == alg]
        if kid is not None:
            fits = [k for k in fits if k.get("kid") == kid]
        # Without a kid the choice is only unambiguous when exactly one key fits.
        return fits[0] if len(fits) == 1 else None

    def _refresh(self) -> None:
        now = self._clock()
        try:
            if self._jwks_url is None:
                discovery = self._http_get(_require_secure(self._discovery_url()))
                if discovery.get("issuer") != self.config.issuer:
                    raise ValueError(f"discovery names issuer {discovery.get('issuer')!r}")
                self._jwks_url = str(discovery["jwks_uri"])
            keys = self._parse_jwks(self._http_get(_require_secure(self._jwks_url)))
        except Exception as error:  # any fetch/parse failure: keep serving cached keys if we have them
            log.warning("OIDC JWKS refresh from %s failed: %s", self.config.issuer, error)
            self._jwks_url = self.config.jwks_url  # re-run discovery next time, the jwks_uri may have moved
            self._expires_at = now + _FORCED_REFRESH_COOLDOWN_SECONDS  # retry soon, not on every request
            if not self._keys:
                raise OidcUnavailable("token issuer keys are unavailable") from None
            return
        self._keys = keys
        self._expires_at = now + self.config.jwks_cache_seconds

    @staticmethod
    def _parse_jwks(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        keys = document.get("keys")
        if not isinstance(keys, list):
            raise ValueError("JWKS has no 'keys' list")
        # Encryption keys and symmetric keys are never signature keys for us.
        usable = [k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig" and k.get("kty") != "oct"]
        return [MappingProxyType(dict(k)) for k in usable]
