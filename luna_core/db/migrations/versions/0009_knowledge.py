"""Knowledge: uploaded documents, their chunks (with a full-text vector per chunk language) and the
embeddings of each chunk text, so the vector index can be rebuilt from PostgreSQL without
re-embedding. Embeddings are a plain real[] here: the record must not need pgvector.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import context, op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("documents", "document_chunks", "chunk_embeddings")

UPGRADE_SQL = """
CREATE TABLE documents (
    id            uuid PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    filename      text NOT NULL,
    title         text,
    author        text,
    content_type  text NOT NULL,
    size_bytes    bigint NOT NULL,
    sha256        text NOT NULL,
    status        text NOT NULL DEFAULT 'queued'
                  CONSTRAINT documents_status CHECK (status IN ('queued', 'processing', 'indexed', 'failed')),
    error         text,
    pages         integer,
    language      text,
    chunk_count   integer NOT NULL DEFAULT 0,
    attempts      integer NOT NULL DEFAULT 0,
    uploaded_by   text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    chunked_at    timestamptz,
    indexed_at    timestamptz,
    CONSTRAINT documents_tenant_sha UNIQUE (tenant_id, sha256)
);
CREATE INDEX documents_tenant_status ON documents (tenant_id, status);

CREATE TABLE document_chunks (
    id               uuid PRIMARY KEY,
    tenant_id        text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    document_id      uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    position         integer NOT NULL,
    page             integer,
    heading          text,
    text             text NOT NULL,
    token_count      integer NOT NULL,
    language         text NOT NULL,
    content_sha256   text NOT NULL,
    embedding_model  text NOT NULL,
    embedding_dim    integer NOT NULL,
    indexed_at       timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    tsv              tsvector GENERATED ALWAYS AS (
                         to_tsvector(
                             CASE language WHEN 'de' THEN 'german'::regconfig
                                           WHEN 'en' THEN 'english'::regconfig
                                           ELSE 'simple'::regconfig END,
                             coalesce(heading, '') || ' ' || text)
                     ) STORED,
    CONSTRAINT document_chunks_position UNIQUE (document_id, position)
);
CREATE INDEX document_chunks_tenant_document ON document_chunks (tenant_id, document_id);
CREATE INDEX document_chunks_tsv ON document_chunks USING gin (tsv);

CREATE TABLE chunk_embeddings (
    tenant_id       text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    model           text NOT NULL,
    content_sha256  text NOT NULL,
    dim             integer NOT NULL,
    vector          real[] NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, model, content_sha256)
);
"""


def upgrade() -> None:
    role = context.config.attributes.get("app_role", "luna_app")
    op.execute(UPGRADE_SQL)
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            "USING (tenant_id = current_setting('luna.tenant_id', true)) "
            "WITH CHECK (tenant_id = current_setting('luna.tenant_id', true))"
        )
        op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO "{role}"')


def downgrade() -> None:
    for table in reversed(TABLES):
        op.execute(f"DROP TABLE IF EXISTS {table}")
