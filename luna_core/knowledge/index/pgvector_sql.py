"""The pgvector index's schema objects, created by the owner (``PgVectorIndex.prepare``).

Every table of the index is made by these functions, so the application role never needs DDL
rights: it reads and writes rows through the alias view, and may call ``luna_vector_ensure`` (the
one SECURITY DEFINER function) to create the first table of an empty index. Each table carries
row-level security on ``luna.tenant_id``; the view is ``security_invoker`` (PostgreSQL 15+), so
the policy applies to the application role through it. ``__ROLE__`` is the application role (a
quoted literal) and ``__LOCK__`` the advisory lock that serialises creating and swapping tables.
"""

from __future__ import annotations

import re

META_TABLE = "luna_vector_alias"
_ROLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

META_SQL = f"""
CREATE TABLE IF NOT EXISTS {META_TABLE} (
    alias text PRIMARY KEY, physical text NOT NULL, dim integer NOT NULL,
    swapped_at timestamptz NOT NULL DEFAULT now(), rebuilt_at timestamptz
)"""

# Owner-only helpers (EXECUTE revoked from PUBLIC); luna_vector_ensure calls them as their owner.
FUNCTIONS_SQL = (
    """
CREATE OR REPLACE FUNCTION luna_vector_secure(p_table text) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $fn$
BEGIN
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', p_table);
    EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %I', p_table);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I '
                   'USING (tenant_id = current_setting(''luna.tenant_id'', true)) '
                   'WITH CHECK (tenant_id = current_setting(''luna.tenant_id'', true))', p_table);
    IF __ROLE__ IS NOT NULL THEN
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO %I', p_table, __ROLE__);
    END IF;
END $fn$""",
    """
CREATE OR REPLACE FUNCTION luna_vector_create_table(p_alias text, p_dim integer, p_rebuilt boolean) RETURNS text
LANGUAGE plpgsql SET search_path = public, pg_temp AS $fn$
DECLARE
    -- The same name as luna_core.knowledge.index.collection_name: <alias>_c|r<UTC time, microseconds>.
    t text := p_alias || CASE WHEN p_rebuilt THEN '_r' ELSE '_c' END
              || to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS');
BEGIN
    IF p_alias !~ '^[a-z_][a-z0-9_]{0,30}$' THEN
        RAISE EXCEPTION 'invalid index alias %', p_alias;
    END IF;
    IF p_dim IS NULL OR p_dim < 1 OR p_dim > 2000 THEN
        RAISE EXCEPTION 'invalid vector dimension % (1-2000)', p_dim;
    END IF;
    EXECUTE format('CREATE TABLE %I (id uuid PRIMARY KEY, tenant_id text NOT NULL, document_id uuid NOT NULL, '
                   'language text NOT NULL, embedding vector(%s) NOT NULL)', t, p_dim);
    PERFORM luna_vector_secure(t);
    RETURN t;
END $fn$""",
    """
CREATE OR REPLACE FUNCTION luna_vector_create_indexes(p_table text) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $fn$
BEGIN
    EXECUTE format('CREATE INDEX %I ON %I (tenant_id, document_id)', p_table || '_tenant', p_table);
    EXECUTE format('CREATE INDEX %I ON %I USING hnsw (embedding vector_cosine_ops) WITH (m = 16)',
                   p_table || '_hnsw', p_table);
END $fn$""",
    """
CREATE OR REPLACE FUNCTION luna_vector_view(p_alias text, p_table text, p_replace boolean) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $fn$
BEGIN
    IF p_replace THEN
        EXECUTE format('DROP VIEW IF EXISTS %I', p_alias);  -- a new column type (another dimension)
    END IF;
    IF current_setting('server_version_num')::integer >= 150000 THEN
        EXECUTE format('CREATE OR REPLACE VIEW %I WITH (security_invoker = true) AS SELECT * FROM %I',
                       p_alias, p_table);
    ELSE
        EXECUTE format('CREATE OR REPLACE VIEW %I AS SELECT * FROM %I', p_alias, p_table);
    END IF;
    IF __ROLE__ IS NOT NULL THEN
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO %I', p_alias, __ROLE__);
    END IF;
END $fn$""",
    f"""
CREATE OR REPLACE FUNCTION luna_vector_swap(p_alias text, p_table text, p_dim integer, p_rebuilt boolean)
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $fn$
DECLARE
    current_dim integer;
BEGIN
    SELECT dim INTO current_dim FROM {META_TABLE} WHERE alias = p_alias;
    PERFORM luna_vector_view(p_alias, p_table, current_dim IS NOT NULL AND current_dim <> p_dim);
    INSERT INTO {META_TABLE} (alias, physical, dim, swapped_at, rebuilt_at)
    VALUES (p_alias, p_table, p_dim, now(), CASE WHEN p_rebuilt THEN now() END)
    ON CONFLICT (alias) DO UPDATE SET physical = EXCLUDED.physical, dim = EXCLUDED.dim,
        swapped_at = EXCLUDED.swapped_at, rebuilt_at = EXCLUDED.rebuilt_at;
END $fn$""",
    f"""
CREATE OR REPLACE FUNCTION luna_vector_ensure(p_alias text, p_dim integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    t text;
BEGIN
    PERFORM pg_advisory_xact_lock(__LOCK__);
    IF EXISTS (SELECT 1 FROM {META_TABLE} WHERE alias = p_alias) THEN
        RETURN;
    END IF;
    t := luna_vector_create_table(p_alias, p_dim, false);
    PERFORM luna_vector_create_indexes(t);
    PERFORM luna_vector_swap(p_alias, t, p_dim, false);
END $fn$""",
)
OWNER_FUNCTIONS = (
    "luna_vector_secure(text)",
    "luna_vector_create_table(text, integer, boolean)",
    "luna_vector_create_indexes(text)",
    "luna_vector_view(text, text, boolean)",
    "luna_vector_swap(text, text, integer, boolean)",
    "luna_vector_ensure(text, integer)",
)
RUNTIME_FUNCTION = "luna_vector_ensure(text, integer)"


def runtime_role(role: str | None) -> str | None:
    if role is not None and not _ROLE.match(role):
        raise ValueError(f"invalid role name {role!r}")
    return role


def functions(role: str | None, lock_key: int) -> list[str]:
    """The functions' DDL with the application role (None: the owner is the runtime role) filled in."""
    literal = f"'{runtime_role(role)}'::text" if role else "NULL::text"
    return [sql.replace("__ROLE__", literal).replace("__LOCK__", str(int(lock_key))) for sql in FUNCTIONS_SQL]
