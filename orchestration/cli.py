"""`pcs`: the project's command line. Each subcommand lives with the part it drives.

- `pcs generate`  synthetic input data (orchestration.generate)
- `pcs score`     score months straight from a data folder, no database (orchestration.scoring)
- `pcs backfill`  the Dagster job over a range of months (orchestration.backfill); `--parallel N`
                  scores N months at a time, one process each (orchestration.pipeline.parallel)
- `pcs serve`     the GraphQL API (graphql_api.server)
- `pcs token`     partner API tokens (graphql_api.tokens)
- `pcs migrate`   apply the database migrations (storage.migrate)
"""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> module exposing `add_arguments(parser)` and `run(args) -> int`
COMMANDS = {
    "generate": ("orchestration.generate_cli", "generate synthetic input data"),
    "score": ("orchestration.score_cli", "score months from a data folder and print a summary"),
    "backfill": ("orchestration.backfill", "score months with the Dagster job (--parallel N)"),
    "serve": ("graphql_api.server", "serve the GraphQL API"),
    "token": ("graphql_api.tokens", "create, list and revoke partner API tokens"),
    "migrate": ("storage.migrate_cli", "apply the results database migrations"),
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
