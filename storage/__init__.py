"""The results database: SQLModel tables, Alembic migrations, bulk writes and reads.

- ``storage.engines``: ``database_url()``, ``get_engine(url=None)`` (per URL and process;
  SQLite in WAL mode with ``BEGIN IMMEDIATE`` transactions), ``get_read_engine(url=None)``
  (deferred ``BEGIN``: use it for reads, e.g. API requests), ``READ_ONLY`` execution options.
- ``storage.models``: the tables (``Partner``, the six result tables, ``ScoredMonth``,
  ``ApiToken``).
- ``storage.migrate``: ``upgrade(url=None)``, ``current(url)``, ``head()``, ``is_current(url)``.
- ``storage.results``: ``write_results(engine, *, months, frames, partners=None, scored=None)``,
  ``months_scored(engine)``, ``row_counts(engine, months=None)``,
  ``read_frame(engine, table, *, months=None, partner_ids=None)``.

Nothing here imports Dagster or the web stack, and no engine is made at import.
"""
