"""`pcs`: the project's command line. Each subcommand lives with the part it drives.

- `pcs generate`  synthetic input data (pcs.generate)
- `pcs score`     score months straight from a data folder, no database (scoring)
- `pcs backfill`  the Dagster job over a range of months (pcs.cli.backfill); `--parallel N`
                  scores N months at a time, one process each (orchestration.parallel)
- `pcs serve`     the GraphQL API (pcs.cli.serve)
- `pcs token`     partner API tokens (pcs.cli.token)
- `pcs migrate`   apply the database migrations (storage.migrate)
"""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> module exposing `add_arguments(parser)` and `run(args) -> int`
COMMANDS = {
    "generate": ("pcs.cli.generate", "generate synthetic input data"),
    "score": ("pcs.cli.score", "score months from a data folder and print a summary"),
    "backfill": ("pcs.cli.backfill", "score months with the Dagster job (--parallel N)"),
    "serve": ("pcs.cli.serve", "serve the GraphQL API"),
    "token": ("pcs.cli.token", "create, list and revoke partner API tokens"),
    "migrate": ("pcs.cli.migrate", "apply the results database migrations"),
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
            p.set_defaults(_run=mod.run)
    args = parser.parse_args(args_list)
    return int(args._run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
