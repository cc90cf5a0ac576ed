"""``pcs score --from YYYY-MM [--to YYYY-MM] [--data DIR] [--json FILE]``: score months straight
from a data folder (``service.score_each``: no Dagster, no database, one month's results in
memory at a time, as the backfill) and print, per month, the partners scored, attaining and
qualifying per track. ``--json`` also writes the scorecards (the GraphQL ``Scorecard`` shape) to
FILE (``-``: standard output), a month at a time, replacing FILE only once every month is
scored. Input errors exit 1 with the error (file, column, value, row); bad arguments exit 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from pcs.cli.arguments import add_month_range, month_range_of
from pcs.settings import get_settings
from scoring import engine, service
from scoring.engine import ScoreResult
from scoring.frames import InputError
from scoring.scorecards import scorecards, summary

PROGRESS_STREAM = "stderr"  # standard output is for the summary (and --json -)
LOG = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_month_range(parser)
    parser.add_argument("--json", metavar="FILE", help="write the scorecards as JSON (- for stdout)")


class CardsFile:
    """The scorecards as one JSON list (``json.dumps(cards, indent=1)``'s bytes), written a month
    at a time to a temporary file beside the target, which replaces the target only when every
    month is scored: a bad input leaves no file, or the one that was there (``-``: standard
    output, copied at the end)."""

    def __init__(self, target: str) -> None:
        self.target = target
        folder = Path(target).resolve().parent if target != "-" else None
        fd, name = tempfile.mkstemp(prefix=".pcs-score-", suffix=".json", dir=folder)
        self.path = Path(name)
        umask = os.umask(0)
        os.umask(umask)
        self.path.chmod(0o666 & ~umask)  # as a plain open() would create it
        self.fh = os.fdopen(fd, "w", encoding="utf-8")
        self.count = 0

    def write(self, cards: list) -> None:
        for card in cards:
            self.fh.write("[\n " if self.count == 0 else ",\n ")
            self.fh.write(json.dumps(card, indent=1).replace("\n", "\n "))
            self.count += 1

    def finish(self) -> None:
        self.fh.write("[]\n" if self.count == 0 else "\n]\n")
        self.fh.close()
        if self.target == "-":
            with self.path.open(encoding="utf-8") as fh:
                shutil.copyfileobj(fh, sys.stdout)
            self.path.unlink()
        else:
            self.path.replace(self.target)
            print(f"wrote {self.count} scorecards to {self.target}", file=sys.stderr)

    def discard(self) -> None:
        self.fh.close()
        self.path.unlink(missing_ok=True)


def run(args: argparse.Namespace) -> int:
    months = month_range_of(args, "score")
    if months is None:
        return 2
    directory = args.data or get_settings().data_dir
    t0 = time.perf_counter()
    cards = CardsFile(args.json) if args.json else None
    summaries = []
    try:
        # one month's results at a time: only its summary and scorecards are kept
        stream = service.score_each(months, directory=directory, progress=LOG.info)
        for _, month_result in stream.results:
            result = ScoreResult.concat([month_result])  # sorted by the natural keys, as score_months gives it
            summaries.append(summary(result))
            if cards is not None:
                cards.write(scorecards(result))
    except InputError as exc:
        if cards is not None:
            cards.discard()
        print(f"pcs score: bad input in {directory}\n{exc}", file=sys.stderr)
        return 1
    except BaseException:
        if cards is not None:
            cards.discard()
        raise
    LOG.info(f"scored in {time.perf_counter() - t0:.1f}s")
    for warning in stream.warnings:
        print(f"warning: {warning}", file=sys.stderr)

    table = pl.concat(summaries, how="diagonal") if summaries else summary(engine.empty_result())
    table = table.with_columns(pl.col("month").dt.strftime("%Y-%m")).rename(
        {c: f"{c} qualifying" for c in table.columns if c not in ("month", "partners", "attained")}
    )
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_hide_column_data_types=True, tbl_hide_dataframe_shape=True):
        print(table)
    if cards is not None:
        cards.finish()
    return 0
