"""Monthly partitions, the M-12 lookback mapping and the backfill policy.

Partition keys are Dagster's monthly default, ``YYYY-MM-01`` (UTC), from ``PCS_START_MONTH``
(``YYYY-MM``, default ``2024-01``) up to the last *complete* month (``end_offset=0``).

Why the partitions start later than the data: scoring month M reads the snapshots M-12..M
(``engine.months_needed``), so the first month that can be scored is the data's first month
plus 12. The demo data (and ``pcs generate``'s default) starts in 2023-01, hence 2024-01. Set
``PCS_START_MONTH`` to twelve months after the first snapshot of your data.

The snapshot asset and the results share this one PartitionsDefinition: an asset job must have
a single PartitionsDefinition (dagster#12580). The lookback is declared with
``LOOKBACK`` = ``TimeWindowPartitionMapping(start_offset=-12, end_offset=0,
allow_nonexistent_upstream_partitions=True)``: the first twelve partitions look back to months
before ``PCS_START_MONTH``, which are not partitions (the scoring reads those snapshots
straight from the data folder; see ``assets.py``).
"""

from __future__ import annotations

import datetime as dt
import warnings

import dagster as dg

from pcs.settings import ENV, get_settings
from scoring.calendar import add_months, month_range, parse_month

START_MONTH_ENV = ENV["start_month"]


def start_month() -> dt.date:
    """The first partition: ``PCS_START_MONTH`` (``YYYY-MM``), default 2024-01."""
    return get_settings().start_month


def partition_key(month: dt.date) -> str:
    return f"{month:%Y-%m}-01"


MONTHLY = dg.MonthlyPartitionsDefinition(start_date=partition_key(start_month()), end_offset=0)

with warnings.catch_warnings():  # allow_nonexistent_upstream_partitions is a beta parameter
    warnings.simplefilter("ignore", dg.BetaWarning)
    LOOKBACK = dg.TimeWindowPartitionMapping(start_offset=-12, end_offset=0, allow_nonexistent_upstream_partitions=True)
"""Month M of a result depends on the snapshots of M-12 through M."""

BACKFILL_POLICY = dg.BackfillPolicy.single_run()
"""A range of months is one run; inside it, the months are scored in chunks of twelve.

Why one run:

* reading: the scoring is vectorised over months and month M needs the thirteen snapshots
  M-12..M, so a run over twelve months reads 24 snapshots, each once, where twelve one-month
  runs would read 12 x 13 = 156; and the scoring is much cheaper per month in bulk (20,000
  partners, reads included: one month ~24 s, twelve months ~90 s instead of 12 x 24 s);
* the UI: the snapshot asset and the results are one multi-asset whose results depend on the
  snapshot through a non-identity mapping (``LOOKBACK``). Dagster's asset backfill only runs
  such a parent and child together when the parent's policy can take every targeted partition
  in one run; with ``multi_run(12)`` a backfill of more than 11 months never starts ("At least
  one run should be requested on first backfill iteration"). ``single_run()`` backfills any
  range from the UI, and ``dagster asset materialize --partition-range`` accepts it.

Why one run is enough for any range: the run scores its months one at a time and writes each as
soon as it is scored (see ``assets``), so memory stays bounded (20,000 partners: ~1.3 GB) and each
snapshot is read once. A bad snapshot fails only the months that read it; the run then fails
naming the months not scored, and records materializations for the months written.
"""


def months_of_partition_keys(keys: list[str]) -> list[dt.date]:
    return [parse_month(k) for k in keys]


def months_of_window(window: dg.TimeWindow) -> list[dt.date]:
    """The months of a partition time window (its end is exclusive)."""
    first = window.start.date().replace(day=1)
    last = add_months(window.end.date().replace(day=1), -1)
    return month_range(first, last)


def partition_months(now: dt.datetime | None = None) -> list[dt.date]:
    """Every month that is a partition now (first to last complete month)."""
    keys = MONTHLY.get_partition_keys(current_time=now)
    return months_of_partition_keys(list(keys))


def chunks(months: list[dt.date], size: int | None = None) -> list[list[dt.date]]:
    """Consecutive months in groups of at most ``size`` (None: no limit); a gap starts a group."""
    out: list[list[dt.date]] = []
    for m in sorted(set(months)):
        if out and (size is None or len(out[-1]) < size) and add_months(out[-1][-1], 1) == m:
            out[-1].append(m)
        else:
            out.append([m])
    return out


def run_tags(months: list[dt.date]) -> dict[str, str]:
    """Tags of a run over consecutive ``months``: the partition range tags (stack-notes §6).

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
