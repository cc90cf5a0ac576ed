"""The projection: the scorecards the rules give for the months after ``from`` if every snapshot
after it equals ``from``'s, and the first projected month whose qualification window lapses.

Definition (docs/architecture.md, "The projection"): snapshot months up to ``from`` are the
real ones; each month after it is a copy of ``from``'s snapshot (the same associations with
the same dates, the same seats and users) with only its month changed; the certifications are
as they are, so they expire and counts-through dates pass; each projected month is scored by
``engine`` under the rulebook version in force in it. Vectorised: one partner or all of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

import polars as pl

from scoring import calendar, engine
from scoring.engine import ScoreResult
from scoring.frames import MissingSnapshotError, Snapshots
from scoring.rulebook import Rulebooks

MAX_MONTHS = 12  # the longest projection the API serves
WINDOW = 6  # qualification window: attained in the month or any of the 5 before


def projected_months(from_month: dt.date, months: int) -> list[dt.date]:
    """from+1 .. from+months."""
    start = calendar.month_start(from_month)
    return [calendar.add_months(start, k) for k in range(1, months + 1)]


def snapshots_needed(from_month: dt.date) -> list[dt.date]:
    """The real snapshots a projection from ``from_month`` reads, whatever its length:
    from-11 .. from (from+1's year-ago side is from-11; every later month reads copies of from)."""
    start = calendar.month_start(from_month)
    return [calendar.add_months(start, -k) for k in range(11, -1, -1)]


def projected_snapshots(snapshots: Snapshots, from_month: dt.date, months: int) -> Snapshots:
    """``snapshots`` with every month after ``from_month`` replaced by a copy of ``from_month``'s
    rows (only the month column rewritten) for from+1 .. from+months; months up to ``from``
    kept as they are. Raises ``MissingSnapshotError`` when ``from``'s snapshot is not there."""
    start = calendar.month_start(from_month)
    if start not in snapshots.months:
        raise MissingSnapshotError([start], needed_by=f"projecting from {start:%Y-%m}")
    ahead = projected_months(start, months)

    def copies(frame: pl.DataFrame) -> pl.DataFrame:
        real = frame.filter(pl.col("month") <= start)
        base = frame.filter(pl.col("month") == start)
        return pl.concat([real, *(base.with_columns(pl.lit(m, dtype=pl.Date).alias("month")) for m in ahead)])

    return Snapshots(
        months=frozenset({m for m in snapshots.months if m <= start} | set(ahead)),
        usage=copies(snapshots.usage),
        associations=copies(snapshots.associations),
        warnings=list(snapshots.warnings),
    )


def _check_months(months: int) -> None:
    if months < 1:
        raise ValueError(f"a projection covers at least 1 month, not {months}")


def forecast(
    *,
    rulebooks: Rulebooks,
    snapshots: Snapshots,
    certifications: pl.DataFrame,
    partner_ids: Iterable[str] | pl.Series,
    from_month: dt.date,
    months: int = 6,
) -> ScoreResult:
    """The projected results of from+1 .. from+months for ``partner_ids`` (one or every partner).

    ``snapshots`` must hold from-11 .. from (``snapshots_needed``); later months in it are
    ignored. Raises ``MissingSnapshotError`` naming the months it lacks."""
    start = calendar.month_start(from_month)
    missing = [m for m in snapshots_needed(start) if m not in snapshots.months]
    if missing:
        raise MissingSnapshotError(missing, needed_by=f"projecting from {start:%Y-%m}")

    def load(n: dt.date) -> engine.MonthInputs:
        return (
            snapshots.usage.filter(pl.col("month") == n),
            snapshots.associations.filter(pl.col("month") == n),
        )

    return forecast_streamed(
        rulebooks=rulebooks,
        load=load,
        certifications=certifications,
        partner_ids=partner_ids,
        from_month=start,
        months=months,
    )


def forecast_streamed(
    *,
    rulebooks: Rulebooks,
    load: Callable[[dt.date], engine.MonthInputs],
    certifications: pl.DataFrame,
    partner_ids: Iterable[str] | pl.Series,
    from_month: dt.date,
    months: int = 6,
) -> ScoreResult:
    """``forecast`` with the real snapshots given by ``load(N)`` (called once for each of
    from-11 .. from, in order, as ``engine.score_each`` calls it), so that every partner can be
    projected holding one real month at a time (e.g. from ``ingest.iter_snapshots``). The
    copies of ``from`` are not materialised: its frames are relabelled for each projected month."""
    _check_months(months)
    start = calendar.month_start(from_month)
    ahead = projected_months(start, months)
    kept: list[engine.MonthInputs] = []  # from's frames, relabelled for each projected month

    def projected_load(n: dt.date) -> engine.MonthInputs:
        if n > start:
            usage, assoc = kept[0]
            when = pl.lit(n, dtype=pl.Date).alias("month")
            return usage.with_columns(when), assoc.with_columns(when)
        frames = load(n)
        if n == start:
            kept.append(frames)
        return frames

    results = [
        r
        for _, r in engine.score_each(
            rulebooks=rulebooks,
            months=ahead,
            load=projected_load,
            certifications=certifications,
            partner_ids=partner_ids,
        )
    ]
    return ScoreResult.concat(results or [engine.empty_result()])


# ---- the qualification window ----------------------------------------------------------------


def lapse_months(
    history: pl.DataFrame,
    projected: pl.DataFrame,
    from_month: dt.date,
    *,
    window: int = WINDOW,
    partner_ids: Iterable[str] | pl.Series | None = None,
) -> pl.DataFrame:
    """partner_id -> lapse_month (null: none): per partner (``partner_ids``, else every partner
    of ``projected``), the first projected month whose window (it and the ``window - 1`` months
    before) holds no attained month.

    ``history``: the partner's real ``designations`` rows (months up to ``from_month`` count;
    a month not there counts as not attained); ``projected``: the projected ``designations``
    (months after ``from_month`` count). The projected months are those of ``projected``.
    A partner not qualified in ``from`` that does not attain in from+1 lapses in from+1."""
    start = calendar.month_start(from_month)
    cols = ["partner_id", "month", "attained"]
    real = history.filter(pl.col("month") <= start).select(cols)
    ahead = projected.filter(pl.col("month") > start).select(cols)
    ids = (
        ahead.get_column("partner_id").unique()
        if partner_ids is None
        else pl.Series("partner_id", list(partner_ids), dtype=pl.String).unique()
    )
    months = ahead.get_column("month").unique().sort()
    grid = ids.to_frame().join(months.to_frame(), how="cross")
    attained = pl.concat([real, ahead]).filter(pl.col("attained")).select("partner_id", "month")
    covered = pl.concat([attained.with_columns(pl.col("month").dt.offset_by(f"{k}mo")) for k in range(window)]).unique()
    lapsed = (
        grid.join(covered, on=["partner_id", "month"], how="anti")
        .group_by("partner_id")
        .agg(pl.col("month").min().alias("lapse_month"))
    )
    return ids.to_frame().join(lapsed, on="partner_id", how="left").sort("partner_id")


def first_lapse_month(
    history: pl.DataFrame,
    projected: pl.DataFrame,
    partner_id: str,
    from_month: dt.date,
    window: int = WINDOW,
) -> dt.date | None:
    """The first projected month in which the partner's qualification window would hold no
    attained month; None when none does within the projected months (see ``lapse_months``)."""
    mine = pl.col("partner_id") == partner_id
    frame = lapse_months(
        history.filter(mine), projected.filter(mine), from_month, window=window, partner_ids=[partner_id]
    )
    value = frame.get_column("lapse_month")[0]
    return value if isinstance(value, dt.date) else None
