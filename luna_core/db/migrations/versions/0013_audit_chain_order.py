"""The audit chain follows the order its lock serialises, not the row id.

Before: the row id came from the identity sequence when the INSERT started, before the trigger
took the tenant's advisory lock, and the chain (and `luna audit verify`) followed id order. Two
concurrent requests could take the lock in the other order than their ids, and the verifier
cried "a row was removed" under ordinary load.

Now each tenant has one head row (`audit_chain_heads`: last sequence number and hash). The
trigger locks that row (SELECT ... FOR UPDATE, which waits for and then reads the newest
committed head), gives the new row the next `chain_seq`, links it to the head's hash and moves
the head, all inside the lock. The verifier follows `chain_seq`. No gaps: a rolled-back insert
rolls its head move back too. The head also lets the verifier see rows removed from the end.

Rows written before this migration keep their hashes (re-hashing would launder any tampering
already done): they are numbered in id order and marked as legacy (`legacy_until`), and the
verifier checks them by the rule they were written under, tolerant of the old fork: each hash
matches its content and the link it recorded, and every link points at a row that exists.

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import context, op

revision = "0013"
down_revision = "0009"
branch_labels = None
depends_on = None

UPGRADE_SQL = """
ALTER TABLE audit_log ADD COLUMN chain_seq bigint;
-- The owner may be subject to the forced policy: lift it for the backfill only.
ALTER TABLE audit_log NO FORCE ROW LEVEL SECURITY;
UPDATE audit_log a SET chain_seq = n.seq
FROM (SELECT id, row_number() OVER (PARTITION BY tenant_id ORDER BY id) AS seq FROM audit_log) n
WHERE a.id = n.id;
ALTER TABLE audit_log ALTER COLUMN chain_seq SET NOT NULL;
CREATE UNIQUE INDEX audit_log_tenant_seq ON audit_log (tenant_id, chain_seq);

CREATE TABLE audit_chain_heads (
    tenant_id     text PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    seq           bigint NOT NULL,
    hash          text,
    legacy_until  bigint NOT NULL DEFAULT 0
);
INSERT INTO audit_chain_heads (tenant_id, seq, hash, legacy_until)
SELECT DISTINCT ON (tenant_id) tenant_id, chain_seq, hash, chain_seq
FROM audit_log ORDER BY tenant_id, chain_seq DESC;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;

ALTER TABLE audit_chain_heads ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_chain_heads FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_chain_heads
    USING (tenant_id = current_setting('luna.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('luna.tenant_id', true));

-- v2 covers the row's place in the chain too, so moving a row (a new chain_seq) breaks its hash.
CREATE FUNCTION luna_audit_row_hash_v2(prev text, a audit_log) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(concat_ws('|',
        'v2', coalesce(prev, ''), a.chain_seq::text, a.id::text,
        to_char(a.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
        a.actor, a.tenant_id, a.action, coalesce(a.target, ''), a.outcome, a.detail::text,
        coalesce(a.request_id, ''), coalesce(a.client_addr, '')), 'UTF8')), 'hex')
$$;

-- SECURITY DEFINER: the application role may read the heads but never move one itself.
CREATE OR REPLACE FUNCTION luna_audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    head_seq bigint;
    head_hash text;
BEGIN
    -- FOR UPDATE waits for a concurrent writer of this tenant's chain and then returns the head
    -- it committed (READ COMMITTED re-reads the newest row version): the lock and the order are one.
    SELECT seq, hash INTO head_seq, head_hash FROM audit_chain_heads
        WHERE tenant_id = NEW.tenant_id FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO audit_chain_heads (tenant_id, seq) VALUES (NEW.tenant_id, 0) ON CONFLICT (tenant_id) DO NOTHING;
        SELECT seq, hash INTO head_seq, head_hash FROM audit_chain_heads
            WHERE tenant_id = NEW.tenant_id FOR UPDATE;
    END IF;
    NEW.chain_seq := head_seq + 1;
    NEW.prev_hash := head_hash;
    NEW.hash := luna_audit_row_hash_v2(NEW.prev_hash, NEW);
    UPDATE audit_chain_heads SET seq = NEW.chain_seq, hash = NEW.hash WHERE tenant_id = NEW.tenant_id;
    RETURN NEW;
END;
$$;
"""

DOWNGRADE_SQL = """
CREATE OR REPLACE FUNCTION luna_audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('luna_audit:' || NEW.tenant_id));
    SELECT hash INTO NEW.prev_hash FROM audit_log
        WHERE tenant_id = NEW.tenant_id ORDER BY id DESC LIMIT 1;
    NEW.hash := luna_audit_row_hash(NEW.prev_hash, NEW);
    RETURN NEW;
END;
$$;
DROP FUNCTION IF EXISTS luna_audit_row_hash_v2(text, audit_log);
DROP TABLE IF EXISTS audit_chain_heads;
DROP INDEX IF EXISTS audit_log_tenant_seq;
ALTER TABLE audit_log DROP COLUMN chain_seq;
"""


def upgrade() -> None:
    role = context.config.attributes.get("app_role", "luna_app")
    op.execute(UPGRADE_SQL)
    op.execute(f'GRANT SELECT ON audit_chain_heads TO "{role}"')


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
