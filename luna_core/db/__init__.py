"""Database: schema (SQLAlchemy Core), engines, tenancy scope and Alembic migrations."""
