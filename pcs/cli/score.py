"""``pcs score --from YYYY-MM [--to YYYY-MM] [--data DIR] [--json FILE]``: score months straight
from a data folder (``service.score_months``: no Dagster, no database) and print, per month, the
partners scored, attaining and qualifying per track. ``--json`` also writes the scorecards (the
GraphQL ``Scorecard`` shape) to FILE (``-``: standard output). Input errors exit 1 with the
error (file, column, value, row); bad arguments exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import polars as pl

from pcs.settings import get_settings
from scoring import service
from scoring.calendar import month_range, parse_month
from scoring.frames import InputError
from scoring.scorecards import scorecards, summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="first", required=True, metavar="YYYY-MM", help="first month")
    parser.add_argument("--to", dest="last", metavar="YYYY-MM", help="last month (default: --from)")
    parser.add_argument("--data", metavar="DIR", help="input data folder (default: PCS_DATA_DIR)")
    parser.add_argument("--json", metavar="FILE", help="write the scorecards as JSON (- for stdout)")


def run(args: argparse.Namespace) -> int:
    try:
        first = parse_month(args.first, what="--from")
        last = parse_month(args.last, what="--to") if args.last else first
        if last < first:
            raise ValueError(f"--to {last:%Y-%m} is before --from {first:%Y-%m}")
    except ValueError as exc:
        print(f"pcs score: {exc}", file=sys.stderr)
        return 2
    directory = args.data or get_settings().data_dir
    t0 = time.perf_counter()

    def say(message: str) -> None:
        print(f"[{time.perf_counter() - t0:6.1f}s] {message}", file=sys.stderr, flush=True)

    try:
        scored = service.score_months(month_range(first, last), directory=directory, progress=say)
    except InputError as exc:
        print(f"pcs score: bad input in {directory}\n{exc}", file=sys.stderr)
        return 1
    say(f"scored in {time.perf_counter() - t0:.1f}s")
    for warning in scored.warnings:
        print(f"warning: {warning}", file=sys.stderr)

    table = summary(scored.result)
    table = table.with_columns(pl.col("month").dt.strftime("%Y-%m")).rename(
        {c: f"{c} qualifying" for c in table.columns if c not in ("month", "partners", "attained")}
    )
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_hide_column_data_types=True, tbl_hide_dataframe_shape=True):
        print(table)
    if args.json:
        cards = scorecards(scored.result)
        text = json.dumps(cards, indent=1)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
            print(f"wrote {len(cards)} scorecards to {args.json}", file=sys.stderr)
    return 0
