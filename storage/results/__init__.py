"""Writing and reading the scoring results: whole months replaced atomically, frames read back
in their ``scoring.frames`` schemas. All functions take the engine first, the rest by keyword.
Layout: ``specs`` (tables), ``prepare`` (checks), ``write``, ``sqlite`` / ``postgres`` (the two
insert paths, sharing ``dbapi``), ``read``, ``staging`` (a month's shards staged, then published
at once). Why they work so: docs/architecture.md, "Storage"."""

from __future__ import annotations

from storage.results.postgres import (
    PG_CHUNK_ROWS,
    PG_WRITE_LOCK,
    SWAP_LOCK_ORDER,
    SWAP_LOCK_PATIENCE_S,
    SWAP_LOCK_TIMEOUT_MS,
    lock_for_reading,
)
from storage.results.postgres import columns_ddl as _columns_ddl
from storage.results.postgres import copy_rows as _insert_postgresql
from storage.results.postgres import partition_name as _partition_name
from storage.results.postgres import qualified as _qualified
from storage.results.postgres import staging_name as _staging_name
from storage.results.postgres import transaction_id as _xid
from storage.results.prepare import prepare_frame as _prepare_frame
from storage.results.prepare import scored_month_rows as _scored_rows
from storage.results.read import months_scored, read_frame, row_counts
from storage.results.specs import (
    OTHER,
    PARTNERS_TABLE_SCHEMA,
    RESULTS,
    SCORED_MONTH_SCHEMA,
    TableSpec,
    empty_frames,
    table_spec,
)
from storage.results.sqlite import SQLITE_CHUNK_ROWS
from storage.results.write import _upsert_partners, write_results

__all__ = [
    "OTHER",
    "PARTNERS_TABLE_SCHEMA",
    "PG_CHUNK_ROWS",
    "PG_WRITE_LOCK",
    "RESULTS",
    "SCORED_MONTH_SCHEMA",
    "SQLITE_CHUNK_ROWS",
    "SWAP_LOCK_ORDER",
    "SWAP_LOCK_PATIENCE_S",
    "SWAP_LOCK_TIMEOUT_MS",
    "TableSpec",
    # the steps of a write under their former names, for benchmarks/write_results.py
    "_columns_ddl",
    "_insert_postgresql",
    "_partition_name",
    "_prepare_frame",
    "_qualified",
    "_scored_rows",
    "_staging_name",
    "_upsert_partners",
    "_xid",
    "empty_frames",
    "lock_for_reading",
    "months_scored",
    "read_frame",
    "row_counts",
    "table_spec",
    "write_results",
]
