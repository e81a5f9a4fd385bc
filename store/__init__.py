"""PostgreSQL: the event log, its read models and their queries (the only code that uses asyncpg)."""
