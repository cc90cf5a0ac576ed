"""``pcs serve [--host 127.0.0.1] [--port 8000] [--workers N] [--cache-mb MB]``: the GraphQL API under uvicorn.

The app is built by ``graphql_api.app:create_served_app`` in each worker process, from
``PCS_DATABASE_URL``, ``PCS_ADMIN_TOKEN``, ``PCS_DATA_DIR`` and ``PCS_API_CACHE_MB``.
"""

from __future__ import annotations

import argparse
import os
import sys

from graphql_api.config import ADMIN_TOKEN_ENV, CACHE_MB_ENV


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

    # the workers build their app from the environment
    if args.database_url:
        os.environ["PCS_DATABASE_URL"] = args.database_url
    if args.data_dir:
        os.environ["PCS_DATA_DIR"] = args.data_dir
    if args.no_ide:
        os.environ["PCS_GRAPHQL_IDE"] = "0"
    if args.cache_mb is not None:
        if args.cache_mb < 0:
            print("error: --cache-mb must be 0 (no cache) or more", file=sys.stderr)
            return 2
        os.environ[CACHE_MB_ENV] = str(args.cache_mb)
    if args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    try:
        if not migrate.is_current():
            print("error: the results database is not migrated; run `pcs migrate` first", file=sys.stderr)
            return 2
    except Exception as exc:  # noqa: BLE001 (unreachable database, bad URL: say so and stop)
        print(f"error: cannot open the results database: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 2
    if not os.environ.get(ADMIN_TOKEN_ENV, "").strip():
        print(f"warning: {ADMIN_TOKEN_ENV} is not set; only partner tokens can read the API", file=sys.stderr)
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
