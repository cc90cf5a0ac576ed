"""``pcs serve [--host 127.0.0.1] [--port 8000] [--workers N] [--cache-mb MB]``: the GraphQL API under uvicorn.

The app is built by ``graphql_api.app:create_served_app`` in each worker process, from
``PCS_DATABASE_URL``, ``PCS_ADMIN_TOKEN``, ``PCS_DATA_DIR`` and ``PCS_API_CACHE_MB``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pcs.settings import ENV, get_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--database-url", help="results database (default: PCS_DATABASE_URL)")
    parser.add_argument("--data-dir", help="input data folder, for the skilling report (default: PCS_DATA_DIR)")
    parser.add_argument("--no-ide", action="store_true", help="do not serve GraphiQL on GET /graphql")
    parser.add_argument(
        "--cache-mb", type=float, help="response cache per worker in MiB, 0 = off (default: PCS_API_CACHE_MB or 64)"
    )
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from storage import migrate

    if args.cache_mb is not None and args.cache_mb < 0:
        print("error: --cache-mb must be 0 (no cache) or more", file=sys.stderr)
        return 2
    try:
        settings = get_settings().with_overrides(
            database_url=args.database_url,
            data_dir=Path(args.data_dir) if args.data_dir else None,
            graphql_ide=False if args.no_ide else None,
            api_cache_mb=args.cache_mb,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # uvicorn's worker processes build their app from the environment they inherit
    os.environ.update(settings.to_env())
    if args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    try:
        if not migrate.is_current(settings.database_url):
            print("error: the results database is not migrated; run `pcs migrate` first", file=sys.stderr)
            return 2
    except Exception as exc:
        print(f"error: cannot open the results database: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 2
    if not settings.admin_token:
        print(f"warning: {ENV['admin_token']} is not set; only partner tokens can read the API", file=sys.stderr)
    print(f"serving GraphQL on http://{args.host}:{args.port}/graphql ({args.workers} worker(s))", file=sys.stderr)
    uvicorn.run(
        "graphql_api.app:create_served_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=False,
    )
    return 0
