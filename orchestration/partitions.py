"""Monthly partitions, the M-12 lookback, the backfill policy and month ranges.

Partition keys are ``YYYY-MM-01`` from ``PCS_START_MONTH`` (default 2024-01) to the last complete
month, or further when the data folder already holds later months. Why: docs/architecture.md.
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import dagster as dg

from orchestration.months import month_span, spans
from pcs.settings import ENV, get_settings
from scoring.calendar import MONTH_PATTERN, add_months, month_range, month_start, parse_month
from scoring.ingest import MONTHS_DIR

START_MONTH_ENV = ENV["start_month"]


def start_month() -> dt.date:
    """The first partition: ``PCS_START_MONTH`` (``YYYY-MM``), default 2024-01."""
    return get_settings().start_month


def partition_key(month: dt.date) -> str:
    return f"{month:%Y-%m}-01"


def last_data_month(directory: Path) -> dt.date | None:
    """The newest ``months/YYYY-MM`` folder of a data folder (None: it has none)."""
    root = directory / MONTHS_DIR
    names = [e.name for e in root.iterdir() if e.is_dir() and MONTH_PATTERN.fullmatch(e.name)] if root.is_dir() else []
    return max((parse_month(n) for n in names), default=None)


def months_ahead(directory: Path, today: dt.date | None = None) -> int:
    """How many months past the last complete calendar month the data folder reaches (0: none):
    replays, test data and what-if folders run ahead of the calendar."""
    last_complete = add_months(month_start(today or dt.datetime.now(dt.UTC).date()), -1)
    last = last_data_month(directory)
    if last is None or last <= last_complete:
        return 0
    return len(month_range(last_complete, last)) - 1


MONTHLY = dg.MonthlyPartitionsDefinition(
    start_date=partition_key(start_month()), end_offset=months_ahead(get_settings().data_dir)
)
"""From ``PCS_START_MONTH`` to the later of the last complete month and the data folder's last
month (``PCS_DATA_DIR``, read when the code location loads)."""

with warnings.catch_warnings():  # allow_nonexistent_upstream_partitions is a beta parameter
    warnings.simplefilter("ignore", dg.BetaWarning)
    LOOKBACK = dg.TimeWindowPartitionMapping(start_offset=-12, end_offset=0, allow_nonexistent_upstream_partitions=True)
"""Month M of a result depends on the snapshots of M-12 through M."""

BACKFILL_POLICY = dg.BackfillPolicy.single_run()
"""A range of months is one run (why: docs/architecture.md, "Orchestration")."""


def months_of_partition_keys(keys: list[str]) -> list[dt.date]:
    return [parse_month(k) for k in keys]


def months_of_window(window: dg.TimeWindow) -> list[dt.date]:
    """The months of a partition time window (its end is exclusive)."""
    first = window.start.date().replace(day=1)
    last = add_months(window.end.date().replace(day=1), -1)
    return month_range(first, last)


def partition_months(now: dt.datetime | None = None) -> list[dt.date]:
    """Every month that is a partition now (``PCS_START_MONTH`` to the end of ``MONTHLY``)."""
    keys = MONTHLY.get_partition_keys(current_time=now)
    return months_of_partition_keys(list(keys))


def run_tags(months: list[dt.date]) -> dict[str, str]:
    """Tags of a run over consecutive ``months``: Dagster's partition range tags.

    One month uses the plain partition tag (pass ``partition_key`` instead); see ``run_target``.
    """
    return {
        "dagster/asset_partition_range_start": partition_key(months[0]),
        "dagster/asset_partition_range_end": partition_key(months[-1]),
    }


def run_target(months: list[dt.date]) -> tuple[str | None, dict[str, str]]:
    """``(partition_key, tags)`` of a run over consecutive ``months``."""
    if len(months) == 1:
        return partition_key(months[0]), {}
    return None, run_tags(months)


def partition_span(first: str, last: str | None, *, names: tuple[str, str] = ("from", "to")) -> list[dt.date]:
    """``month_span``, every month of which must be a partition (else ``ValueError``)."""
    months = month_span(first, last, names=names)
    valid = partition_months()
    if not valid:
        raise ValueError(f"no monthly partition yet ({START_MONTH_ENV} is in the future?)")
    outside = [m for m in months if m not in set(valid)]
    if outside:
        raise ValueError(
            f"{spans(outside)} not a monthly partition: the partitions run from {valid[0]:%Y-%m} "
            f"({START_MONTH_ENV}; scoring M needs the snapshot of M-12) to {valid[-1]:%Y-%m} "
            "(the last complete month, or PCS_DATA_DIR's last month when that is later)"
        )
    return months
