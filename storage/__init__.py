"""The results database: engines (``storage.engines``), SQLModel tables (``storage.models``),
Alembic migrations (``storage.migrate``), bulk writes and reads (``storage.results``) and API
tokens (``storage.tokens``). No Dagster or web code, no engine made at import; the reasons
behind the design: docs/architecture.md, "Storage".
"""
