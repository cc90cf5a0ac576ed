"""Alembic environment of the results database: a connection handed over by ``storage.migrate``,
else the ``sqlalchemy.url`` option, else ``storage.engines.database_url()``. Each upgrade is one
transaction; concurrent upgrades are serialized (docs/architecture.md, "Storage").
"""

from __future__ import annotations

from alembic import context

from storage import models
from storage.engines import database_url, get_engine

config = context.config
target_metadata = models.metadata

# pg_advisory_xact_lock key: serializes concurrent upgrades of one PostgreSQL database
PG_MIGRATION_LOCK = 0x7063735F6D6967  # "pcs_mig"


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or database_url()


def _configure(**kw) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        transactional_ddl=True,
        **kw,
    )


def run_migrations_offline() -> None:
    url = _url()
    _configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _run_online(connection) -> None:
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})")
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_online(connection)
        return
    with get_engine(_url()).connect() as connection:
        _run_online(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
