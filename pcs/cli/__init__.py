"""`pcs`: the project's command line. Each subcommand is a module of this package (``COMMANDS``:
generate, score, backfill, worker, serve, token, migrate, webhook), imported only when it runs; progress lines go
through ``pcs.cli.logs``. See docs/architecture.md, "Command line and settings"."""

from __future__ import annotations

import argparse
import importlib
import sys

from pcs.cli import logs

# subcommand -> module exposing `add_arguments(parser)`, `run(args) -> int` and optionally
# `PROGRESS_STREAM` ("stdout", the default, or "stderr": where its progress lines go)
COMMANDS = {
    "generate": ("pcs.cli.generate", "generate synthetic input data"),
    "score": ("pcs.cli.score", "score months from a data folder and print a summary"),
    "backfill": ("pcs.cli.backfill", "score months with the Dagster job (--parallel N, --executor celery)"),
    "worker": ("pcs.cli.worker", "run a Celery worker for the steps of runs on the Celery executor"),
    "serve": ("pcs.cli.serve", "serve the GraphQL API"),
    "token": ("pcs.cli.token", "create, list and revoke partner API tokens"),
    "migrate": ("pcs.cli.migrate", "apply the results database migrations"),
    "webhook": ("pcs.cli.webhook", "alert webhooks: add, list, remove, deliveries, deliver"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pcs", description="Partner capability score for Modern Work")
    sub = parser.add_subparsers(dest="command", required=True)
    args_list = sys.argv[1:] if argv is None else argv
    wanted = args_list[0] if args_list and args_list[0] in COMMANDS else None
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        if name == wanted:  # import only the module that runs: keeps `pcs --help` fast
            mod = importlib.import_module(module)
            mod.add_arguments(p)
            p.set_defaults(_run=mod.run, _progress=getattr(mod, "PROGRESS_STREAM", "stdout"))
    args = parser.parse_args(args_list)
    with logs.progress(getattr(sys, args._progress)):
        return int(args._run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
