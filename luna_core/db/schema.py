"""The relational schema as SQLAlchemy Core tables, used to build queries.

The Alembic migrations are the source of truth for DDL (partitions, row-level security,
grants); ``tests/test_migrations.py`` checks this module against the migrated database.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, REAL, TSVECTOR, UUID

from luna_core.energy.site import METER_KINDS

metadata = MetaData()

TENANT_ID_PATTERN = r"^[a-z][a-z0-9-]{1,62}$"
ROLES = ("admin", "customer")
METER_INTERVALS = (15, 30, 60)


def _now() -> Column:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


def _tenant_fk(primary_key: bool = False) -> Column:
    return Column(
        "tenant_id",
        Text,
        ForeignKey("tenants.id", ondelete="CASCADE"),
        nullable=False,
        primary_key=primary_key,
    )


tenants = Table(
    "tenants",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("zone", Text, nullable=False, server_default="DE-LU"),
    Column("timezone", Text, nullable=False, server_default="Europe/Berlin"),
    Column("state", Text),
    Column("status", Text, nullable=False, server_default="active"),
    _now(),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("share_anonymised", Boolean, nullable=False, server_default=text("true")),
    CheckConstraint(f"id ~ '{TENANT_ID_PATTERN}'", name="tenants_id_slug"),
    CheckConstraint("status IN ('active', 'disabled')", name="tenants_status"),
)

users = Table(
    "users",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    _tenant_fk(),
    Column("email", Text, nullable=False, unique=True),
    Column("password_hash", Text),
    Column("role", Text, nullable=False),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    _now(),
    Column("is_platform_admin", Boolean, nullable=False, server_default=text("false")),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True)),
    Column("last_login_at", DateTime(timezone=True)),
    CheckConstraint("role IN ('admin', 'customer')", name="users_role"),
)

meters = Table(
    "meters",
    metadata,
    _tenant_fk(primary_key=True),
    Column("meter_id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("max_kw", Float, nullable=False),
    _now(),
    Column("interval_minutes", SmallInteger),
    CheckConstraint(f"kind IN {METER_KINDS!r}", name="meters_kind"),
    CheckConstraint("max_kw > 0", name="meters_max_kw_positive"),
    CheckConstraint(f"interval_minutes IN {METER_INTERVALS!r}", name="meters_interval_minutes"),
)

meter_readings = Table(
    "meter_readings",
    metadata,
    Column("tenant_id", Text, primary_key=True),
    Column("meter_id", Text, primary_key=True),
    Column("ts", DateTime(timezone=True), primary_key=True),
    Column("kwh", Float, nullable=False),
    Column("quality", Text, nullable=False, server_default="measured"),
    Column("batch_id", BigInteger),
    Column("ingested_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    postgresql_partition_by="RANGE (ts)",
)

ingest_batches = Table(
    "ingest_batches",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    _tenant_fk(),
    Column("source", Text, nullable=False),
    Column("source_ref", Text, nullable=False),
    Column("content_sha256", Text),
    Column("rows_received", Integer, nullable=False, server_default="0"),
    Column("rows_stored", Integer, nullable=False, server_default="0"),
    Column("rows_unchanged", Integer, nullable=False, server_default="0"),
    Column("rows_duplicate", Integer, nullable=False, server_default="0"),
    Column("rows_quarantined", Integer, nullable=False, server_default="0"),
    Column("rows_late", Integer, nullable=False, server_default="0"),
    Column("min_ts", DateTime(timezone=True)),
    Column("max_ts", DateTime(timezone=True)),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True)),
    Column("reasons", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("intervals", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("notes", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("retry_of", BigInteger, ForeignKey("ingest_batches.id", ondelete="SET NULL")),
)

readings_quarantine = Table(
    "readings_quarantine",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    _tenant_fk(),
    Column("batch_id", BigInteger, ForeignKey("ingest_batches.id", ondelete="CASCADE")),
    Column("raw", JSONB, nullable=False),
    Column("reason", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("row_number", Integer),
    Column("superseded_by", BigInteger, ForeignKey("ingest_batches.id", ondelete="SET NULL")),
)

market_prices = Table(
    "market_prices",
    metadata,
    Column("zone", Text, primary_key=True),
    Column("resolution_minutes", SmallInteger, primary_key=True),
    Column("ts", DateTime(timezone=True), primary_key=True),
    Column("eur_per_mwh", Float, nullable=False),
    Column("source", Text, nullable=False),
    Column("ingested_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("resolution_minutes IN (15, 60)", name="market_prices_resolution"),
)

events = Table(
    "events",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    _tenant_fk(),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("kind", Text, nullable=False),
    Column("meter_id", Text),
    Column("severity", Text, nullable=False, server_default="info"),
    Column("payload", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    _now(),
)

labels = Table(
    "labels",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    _tenant_fk(),
    Column("meter_id", Text),
    Column("ts_from", DateTime(timezone=True), nullable=False),
    Column("ts_to", DateTime(timezone=True), nullable=False),
    Column("label", Text, nullable=False),
    Column("note", Text),
    Column("created_by", Text),
    _now(),
    CheckConstraint("ts_to >= ts_from", name="labels_range"),
)

requests = Table(
    "requests",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    _tenant_fk(),
    Column("kind", Text, nullable=False),
    Column("payload", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("requested_by", Text),
    Column("dagster_run_id", Text),
    Column("error", Text),
    _now(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("status IN ('pending', 'running', 'done', 'failed')", name="requests_status"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("ts", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor", Text, nullable=False),
    _tenant_fk(),
    Column("action", Text, nullable=False),
    Column("target", Text),
    Column("outcome", Text, nullable=False),
    Column("detail", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("request_id", Text),
    Column("client_addr", Text),
    Column("prev_hash", Text),
    Column("hash", Text),
    # The row's place in its tenant's chain, given inside the chain lock (migration 0013).
    Column("chain_seq", BigInteger, nullable=False),
)

# One per tenant: the newest chain link, locked by every audit insert (the trigger writes it).
audit_chain_heads = Table(
    "audit_chain_heads",
    metadata,
    _tenant_fk(primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", Text),
    # Rows up to this seq were written before 0013 and are checked by the rule they were written under.
    Column("legacy_until", BigInteger, nullable=False, server_default=text("0")),
)

user_invitations = Table(
    "user_invitations",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    _tenant_fk(),
    Column("email", Text, nullable=False),
    Column("role", Text, nullable=False),
    # NULL when the address already has an account elsewhere: such an invitation can never be accepted.
    Column("token_hash", Text, unique=True),
    Column("invited_by", Text, nullable=False),
    _now(),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("accepted_at", DateTime(timezone=True)),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    _tenant_fk(),
    Column("user_id", BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", Text, nullable=False, unique=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    _now(),
    Column("family_id", Uuid, nullable=False, server_default=text("gen_random_uuid()")),
    Column("client_key", Text),
    Column("replaced_by", BigInteger, ForeignKey("refresh_tokens.id", ondelete="SET NULL")),
    Column("revoked_reason", Text),
    CheckConstraint("revoked_reason IN ('rotated', 'logout', 'reuse')", name="refresh_tokens_revoked_reason"),
)

# One row per failed (or in-flight) login attempt under a hashed key; no tenant, no e-mail address.
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("key", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

consumption_hourly = Table(
    "consumption_hourly",
    metadata,
    _tenant_fk(primary_key=True),
    Column("meter_id", Text, primary_key=True),
    Column("hour", DateTime(timezone=True), primary_key=True),
    Column("kwh", Float, nullable=False),
    Column("samples", SmallInteger, nullable=False),
)

tenant_kpis = Table(
    "tenant_kpis",
    metadata,
    _tenant_fk(primary_key=True),
    Column("as_of", Date, primary_key=True),
    Column("kwh_today", Float, nullable=False),
    Column("kwh_month", Float, nullable=False),
    Column("cost_today_eur", Float),
    Column("cost_month_eur", Float),
    Column("peak_kw_month", Float),
    Column("peak_at", DateTime(timezone=True)),
    Column("pv_kwh_month", Float),
    Column("self_consumption_ratio", Float),
    Column("readings_from", DateTime(timezone=True)),
    Column("readings_to", DateTime(timezone=True)),
    Column("computed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # 'tariff' or 'wholesale' (no tariff set: the day-ahead price alone), from 0015.
    Column("cost_basis", Text, nullable=False, server_default="wholesale"),
)

asset_watermarks = Table(
    "asset_watermarks",
    metadata,
    _tenant_fk(primary_key=True),
    Column("asset", Text, primary_key=True),
    Column("watermark", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

forecasts = Table(
    "forecasts",
    metadata,
    _tenant_fk(primary_key=True),
    Column("target", Text, primary_key=True),
    Column("ts", DateTime(timezone=True), primary_key=True),
    Column("kwh", Float, nullable=False),
    Column("model_name", Text, nullable=False),
    Column("model_version", Text, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

chat_sessions = Table(
    "chat_sessions",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")),
    _tenant_fk(),
    Column("user_id", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("summary", Text),
    _now(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

playbook_rules = Table(
    "playbook_rules",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    _tenant_fk(),
    Column("name", Text, nullable=False),
    Column("strategy", Text, nullable=False),
    Column("condition", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("action", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("params", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("updated_by", Text),
    _now(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

chat_messages = Table(
    "chat_messages",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")),
    _tenant_fk(),
    Column("session_id", UUID(as_uuid=True), ForeignKey("chat_sessions.id", ondelete="CASCADE"), nullable=False),
    Column("role", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("mode", Text),
    Column("language", Text),
    Column("prompt_version", Text),
    Column("citations", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("data", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.clock_timestamp()),
    CheckConstraint("role IN ('user', 'assistant')", name="chat_messages_role"),
)

retrieval_telemetry = Table(
    "retrieval_telemetry",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    _tenant_fk(),
    Column("answer_id", UUID(as_uuid=True), ForeignKey("chat_messages.id", ondelete="SET NULL")),
    Column("user_id", Text, nullable=False),
    Column("question", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("intent", Text),
    Column("mode", Text, nullable=False),
    Column("hit_count", Integer, nullable=False),
    Column("top_score", Float),
    Column("no_hit", Boolean, nullable=False),
    Column("prompt_version", Text, nullable=False),
    _now(),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    _tenant_fk(),
    Column("answer_id", UUID(as_uuid=True), ForeignKey("chat_messages.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Text, nullable=False),
    Column("rating", Text, nullable=False),
    Column("comment", Text),
    _now(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("rating IN ('up', 'down')", name="feedback_rating"),
    UniqueConstraint("answer_id", "user_id", name="feedback_once_per_user"),
)

playbook_rule_versions = Table(
    "playbook_rule_versions",
    metadata,
    _tenant_fk(primary_key=True),
    Column("rule_id", BigInteger, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("snapshot", JSONB, nullable=False),
    Column("changed_by", Text),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

playbook_schedules = Table(
    "playbook_schedules",
    metadata,
    _tenant_fk(primary_key=True),
    Column("day", Date, primary_key=True),
    Column("device", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("rule_id", BigInteger),
    Column("resolution_minutes", SmallInteger, nullable=False),
    Column("slots", JSONB, nullable=False),
    Column("naive_cost_eur", Float, nullable=False),
    Column("optimised_cost_eur", Float, nullable=False),
    _now(),
)

playbook_recommendations = Table(
    "playbook_recommendations",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    _tenant_fk(),
    Column("day", Date, nullable=False),
    Column("rule_id", BigInteger),
    Column("strategy", Text, nullable=False),
    # A catalogue message (luna_core.i18n) and its JSON parameters, rendered in the reader's language.
    Column("message_key", Text, nullable=False),
    Column("params", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("saving_eur", Float),
    Column("starts_at", DateTime(timezone=True)),
    Column("ends_at", DateTime(timezone=True)),
    _now(),
)

playbook_savings = Table(
    "playbook_savings",
    metadata,
    _tenant_fk(primary_key=True),
    Column("day", Date, primary_key=True),
    Column("device", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("naive_eur", Float, nullable=False),
    Column("optimised_eur", Float, nullable=False),
    Column("planned_kwh", Float, nullable=False),
    Column("actual_kwh", Float),
    Column("actual_eur", Float),
    Column("realised_eur", Float),
    Column("settled_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

DOCUMENT_STATUSES = ("queued", "processing", "indexed", "needs_attention", "failed")

documents = Table(
    "documents",
    metadata,
    Column("id", Uuid, primary_key=True),
    _tenant_fk(),
    Column("filename", Text, nullable=False),
    Column("title", Text),
    Column("author", Text),
    Column("content_type", Text, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="queued"),
    Column("error", Text),
    Column("pages", Integer),
    Column("language", Text),
    Column("chunk_count", Integer, nullable=False, server_default="0"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("uploaded_by", Text),
    _now(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("chunked_at", DateTime(timezone=True)),
    Column("indexed_at", DateTime(timezone=True)),
    # Migration 0011: the claim of the one worker processing it, and why and when to retry.
    Column("error_code", Text),
    Column("claim_token", Uuid),
    Column("claimed_by", Text),
    Column("claim_expires_at", DateTime(timezone=True)),
    Column("retry_at", DateTime(timezone=True)),
    CheckConstraint(f"status IN {DOCUMENT_STATUSES!r}", name="documents_status"),
    UniqueConstraint("tenant_id", "sha256", name="documents_tenant_sha"),
)

# The full-text vector follows each chunk's language (german/english stemming).
_CHUNK_TSV = (
    "to_tsvector(CASE language WHEN 'de' THEN 'german'::regconfig WHEN 'en' THEN 'english'::regconfig "
    "ELSE 'simple'::regconfig END, coalesce(heading, '') || ' ' || text)"
)

document_chunks = Table(
    "document_chunks",
    metadata,
    Column("id", Uuid, primary_key=True),
    _tenant_fk(),
    Column("document_id", Uuid, ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("page", Integer),
    Column("heading", Text),
    Column("text", Text, nullable=False),
    Column("token_count", Integer, nullable=False),
    Column("language", Text, nullable=False),
    Column("content_sha256", Text, nullable=False),
    Column("embedding_model", Text, nullable=False),
    Column("embedding_dim", Integer, nullable=False),
    Column("indexed_at", DateTime(timezone=True)),
    _now(),
    Column("tsv", TSVECTOR, Computed(_CHUNK_TSV, persisted=True)),
    UniqueConstraint("document_id", "position", name="document_chunks_position"),
)

chunk_embeddings = Table(
    "chunk_embeddings",
    metadata,
    _tenant_fk(primary_key=True),
    Column("model", Text, primary_key=True),
    Column("content_sha256", Text, primary_key=True),
    Column("dim", Integer, nullable=False),
    Column("vector", ARRAY(REAL), nullable=False),
    _now(),
)

tariffs = Table(
    "tariffs",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    _tenant_fk(),
    Column("direction", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),
    Column("spec", JSONB, nullable=False),
    Column("created_by", Text),
    _now(),
    CheckConstraint("direction IN ('import', 'export')", name="tariffs_direction"),
    CheckConstraint("kind IN ('fixed', 'dynamic', 'time_of_use', 'feed_in')", name="tariffs_kind"),
    CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="tariffs_valid_range"),
    UniqueConstraint("tenant_id", "direction", "valid_from", name="tariffs_version"),
)

tenant_limits = Table(
    "tenant_limits",
    metadata,
    _tenant_fk(primary_key=True),
    Column("contracted_kw", Float, nullable=False),
    Column("updated_by", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("contracted_kw > 0", name="tenant_limits_positive"),
)

# Tables whose rows belong to one tenant: each gets tenant_id NOT NULL and an RLS policy.
TENANT_TABLES = (
    "users",
    "meters",
    "meter_readings",
    "ingest_batches",
    "readings_quarantine",
    "events",
    "labels",
    "requests",
    "audit_log",
    "audit_chain_heads",
    "user_invitations",
    "consumption_hourly",
    "tenant_kpis",
    "asset_watermarks",
    "refresh_tokens",
    "forecasts",
    "chat_sessions",
    "chat_messages",
    "retrieval_telemetry",
    "feedback",
    "playbook_rules",
    "playbook_rule_versions",
    "playbook_schedules",
    "playbook_recommendations",
    "playbook_savings",
    "documents",
    "document_chunks",
    "chunk_embeddings",
    "tariffs",
    "tenant_limits",
)
# Platform tables: shared reference data, no tenant column.
PLATFORM_TABLES = ("tenants", "market_prices", "login_failures")

Index("users_tenant", users.c.tenant_id)
Index("ingest_batches_tenant_started", ingest_batches.c.tenant_id, ingest_batches.c.started_at)
Index("ingest_batches_tenant_sha", ingest_batches.c.tenant_id, ingest_batches.c.content_sha256)
Index("readings_quarantine_tenant_received", readings_quarantine.c.tenant_id, readings_quarantine.c.received_at)
Index("readings_quarantine_batch", readings_quarantine.c.batch_id)
Index("events_tenant_ts", events.c.tenant_id, events.c.ts)
# A breach, negative-price hour or data gap is one row however often it is found (0015).
Index("events_once", events.c.tenant_id, events.c.kind, events.c.ts, func.coalesce(events.c.meter_id, ""), unique=True)
Index("labels_tenant_range", labels.c.tenant_id, labels.c.ts_from)
Index("requests_pending", requests.c.status, requests.c.created_at, postgresql_where=requests.c.status == "pending")
Index("audit_log_tenant_ts", audit_log.c.tenant_id, audit_log.c.ts)
Index("audit_log_tenant_id", audit_log.c.tenant_id, audit_log.c.id)
Index("user_invitations_tenant_email", user_invitations.c.tenant_id, user_invitations.c.email)
Index("audit_log_tenant_seq", audit_log.c.tenant_id, audit_log.c.chain_seq, unique=True)
Index("refresh_tokens_user", refresh_tokens.c.user_id)
Index("refresh_tokens_family", refresh_tokens.c.family_id)
Index("login_failures_key_at", login_failures.c.key, login_failures.c.at)
Index("login_failures_at", login_failures.c.at)
Index("chat_sessions_tenant_user", chat_sessions.c.tenant_id, chat_sessions.c.user_id, chat_sessions.c.updated_at)
Index("chat_messages_session", chat_messages.c.session_id, chat_messages.c.created_at)
Index("retrieval_telemetry_tenant_created", retrieval_telemetry.c.tenant_id, retrieval_telemetry.c.created_at)
Index("feedback_tenant_updated", feedback.c.tenant_id, feedback.c.updated_at)
Index("playbook_rules_tenant", playbook_rules.c.tenant_id, playbook_rules.c.id)
Index("playbook_recommendations_tenant_day", playbook_recommendations.c.tenant_id, playbook_recommendations.c.day)
Index("documents_tenant_status", documents.c.tenant_id, documents.c.status)
Index("document_chunks_tenant_document", document_chunks.c.tenant_id, document_chunks.c.document_id)
Index("document_chunks_tsv", document_chunks.c.tsv, postgresql_using="gin")
