"""``pcs migrate [--database URL]``: apply the Alembic migrations to the results database
(``PCS_DATABASE_URL`` by default; ``storage.migrate.upgrade``). Running it again is a no-op."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy.engine import make_url

from storage import engines, migrate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database", metavar="URL", help="results database URL (default: PCS_DATABASE_URL)")


def run(args: argparse.Namespace) -> int:
    url = args.database or engines.database_url()
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        before = migrate.current(url)
        migrate.upgrade(url)
        after = migrate.current(url)
    except Exception as exc:  # connection refused, bad URL, ...: one line, not a traceback
        print(f"pcs migrate: {shown}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if before == after:
        print(f"{shown}: already at revision {after}")
    else:
        print(f"{shown}: migrated {before or '(empty)'} -> {after}")
    return 0
