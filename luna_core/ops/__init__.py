"""Operations: health figures for monitoring, backup and restore, PostgreSQL client tools."""
