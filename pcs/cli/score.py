"""``pcs score --from YYYY-MM [--to YYYY-MM] [--data DIR] [--json FILE]``: score months straight
from a data folder (``service.score_months``: no Dagster, no database) and print, per month, the
partners scored, attaining and qualifying per track. ``--json`` also writes the scorecards (the
GraphQL ``Scorecard`` shape) to FILE (``-``: standard output). Input errors exit 1 with the
error (file, column, value, row); bad arguments exit 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

import polars as pl

from pcs.cli.arguments import add_month_range, month_range_of
from pcs.settings import get_settings
from scoring import service
from scoring.frames import InputError
from scoring.scorecards import scorecards, summary

PROGRESS_STREAM = "stderr"  # standard output is for the summary (and --json -)
LOG = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_month_range(parser)
    parser.add_argument("--json", metavar="FILE", help="write the scorecards as JSON (- for stdout)")


def run(args: argparse.Namespace) -> int:
    months = month_range_of(args, "score")
    if months is None:
        return 2
    directory = args.data or get_settings().data_dir
    t0 = time.perf_counter()
    try:
        scored = service.score_months(months, directory=directory, progress=LOG.info)
    except InputError as exc:
        print(f"pcs score: bad input in {directory}\n{exc}", file=sys.stderr)
        return 1
    LOG.info(f"scored in {time.perf_counter() - t0:.1f}s")
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
