"""Arguments several subcommands share: the month range (``--from``/``--to``) and the data folder."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable

from orchestration.months import month_span

Check = Callable[..., list[dt.date]]


def add_month_range(parser: argparse.ArgumentParser) -> None:
    """``--from YYYY-MM [--to YYYY-MM] [--data DIR]``."""
    parser.add_argument("--from", dest="first", required=True, metavar="YYYY-MM", help="first month")
    parser.add_argument("--to", dest="last", metavar="YYYY-MM", help="last month (default: --from)")
    parser.add_argument("--data", metavar="DIR", help="input data folder (default: PCS_DATA_DIR)")


def month_range_of(args: argparse.Namespace, command: str, check: Check = month_span) -> list[dt.date] | None:
    """The months ``--from``..``--to`` checked by ``check`` (``month_span`` or
    ``partitions.partition_span``); None, with the error on standard error, when they are bad."""
    try:
        return check(args.first, args.last, names=("--from", "--to"))
    except ValueError as exc:
        print(f"pcs {command}: {exc}", file=sys.stderr)
        return None
