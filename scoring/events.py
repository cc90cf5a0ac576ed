"""The alert events of a scored month, from its results and the month before's: what webhooks
deliver (docs/architecture.md, "Webhooks"). Pure Polars: result frames, certifications and the
rulebook in, one events frame out (``EVENTS_SCHEMA``); the outbox and delivery live elsewhere.

Each event's id is the SHA-256 of what it says (type, partner, month, subject), so computing a
month again gives the same ids."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import polars as pl

from scoring import calendar
from scoring.metrics.certifications import counts_at
from scoring.names import canonical, fold
from scoring.rulebook import Rulebook

MONTH_SCORED = "month.scored"
DESIGNATION_GAINED = "designation.gained"
DESIGNATION_LOST = "designation.lost"
METRIC_BELOW_MINIMUM = "metric.below_minimum"
CERTIFICATION_EXPIRING = "certification.expiring"
QUALIFICATION_AT_RISK = "qualification.at_risk"
EVENT_TYPES = (
    MONTH_SCORED,
    DESIGNATION_GAINED,
    DESIGNATION_LOST,
    METRIC_BELOW_MINIMUM,
    CERTIFICATION_EXPIRING,
    QUALIFICATION_AT_RISK,
)
ADMIN_ONLY = frozenset({MONTH_SCORED})
"""Event types that carry no partner: only admin subscriptions (no partner) receive them."""

EXPIRING_DAYS = 90
"""certification.expiring: the certification stops counting within this many days of the month's end."""
AT_RISK_MONTHS = 6
"""qualification.at_risk: the projected lapse is at most this many months after the month."""

EVENTS_SCHEMA = {
    "id": pl.String,  # sha256 hex of "type|partner|YYYY-MM|subject"
    "type": pl.String,
    "month": pl.Date,
    "partner_id": pl.String,  # null for month.scored
    "subject": pl.String,  # what the event is about within the partner's month ("" when nothing more)
    "data": pl.String,  # JSON object
}
LAPSE_SCHEMA = {"partner_id": pl.String, "lapse_month": pl.Date}
"""Projected lapses: the first projected month whose six-month window holds no attained month
(null: none within the projection)."""


def event_id(event_type: str, partner_id: str | None, month: dt.date, subject: str) -> str:
    """The id of an event: SHA-256 (hex) of what it says."""
    text = f"{event_type}|{partner_id or ''}|{calendar.format_month(month)}|{subject}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _events(event_type: str, month: dt.date, rows: list[tuple[str | None, str, dict[str, Any]]]) -> pl.DataFrame:
    """An events frame from (partner_id, subject, data) rows."""
    return pl.DataFrame(
        {
            "id": [event_id(event_type, p, month, s) for p, s, _ in rows],
            "type": [event_type] * len(rows),
            "month": [month] * len(rows),
            "partner_id": [p for p, _, _ in rows],
            "subject": [s for _, s, _ in rows],
            "data": [json.dumps({k: _json(v) for k, v in d.items()}, sort_keys=True) for _, _, d in rows],
        },
        schema=EVENTS_SCHEMA,
    )


def _of(frame: pl.DataFrame | None, month: dt.date) -> pl.DataFrame | None:
    return None if frame is None else frame.filter(pl.col("month") == month)


def month_events(
    *,
    month: dt.date,
    designations: pl.DataFrame,
    metric_points: pl.DataFrame,
    certifications: pl.DataFrame,
    rulebook: Rulebook,
    designations_before: pl.DataFrame | None = None,
    metric_points_before: pl.DataFrame | None = None,
    rulebook_before: Rulebook | None = None,
    lapse: pl.DataFrame | None = None,
    lapse_before: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The events of scored ``month``, sorted by type, partner and subject.

    ``designations`` / ``metric_points``: the month's result frames (``scoring.frames``; other
    months' rows are ignored); ``*_before``: the month before's (None: it was not scored, so no
    designation or metric changes are reported). ``rulebook``: the month's version
    (``rulebook_before``: the month before's, default the same). ``lapse`` / ``lapse_before``
    (``LAPSE_SCHEMA``): the projected lapses from this month and from the month before; without
    both, no ``qualification.at_risk`` events.
    """
    month = calendar.month_start(month)
    before = calendar.add_months(month, -1)
    now = _of(designations, month)
    assert now is not None
    book_before = rulebook_before or rulebook
    frames = [
        month_scored(month, now, rulebook),
        designation_changes(month, now, _of(designations_before, before)),
        metrics_below_minimum(
            month,
            now,
            _of(metric_points, month),
            _of(metric_points_before, before),
            rulebook,
            book_before,
        ),
        expiring_certifications(month, now, certifications, rulebook, book_before),
        at_risk(month, now, lapse, lapse_before),
    ]
    return pl.concat(frames).sort("type", "partner_id", "subject", nulls_last=False)


def month_scored(month: dt.date, designations: pl.DataFrame, book: Rulebook) -> pl.DataFrame:
    """``month.scored`` (admin only): partners scored, attained per track, the rulebook version."""
    if designations.is_empty():
        return pl.DataFrame(schema=EVENTS_SCHEMA)
    attained = designations.filter(pl.col("attained")).group_by("best_track").len().sort("best_track")
    per_track = {t.name: 0 for t in book.tracks} | {t: int(n) for t, n in attained.rows()}
    versions = designations["rulebook_id"].unique().sort().to_list()
    data = {
        "month": calendar.format_month(month),
        "partnersScored": designations["partner_id"].n_unique(),
        "partnersAttained": int(designations["attained"].sum()),
        "attainedPerTrack": per_track,
        "rulebookId": versions[0] if len(versions) == 1 else ",".join(versions),
    }
    return _events(MONTH_SCORED, month, [(None, "", data)])


def designation_changes(month: dt.date, now: pl.DataFrame, before: pl.DataFrame | None) -> pl.DataFrame:
    """``designation.gained``: attained in the month and not the month before (or not scored
    then); ``designation.lost``: attained the month before, scored and not attained now. None
    before: the month before was not scored, nothing is reported."""
    if before is None:
        return pl.DataFrame(schema=EVENTS_SCHEMA)
    both = now.select("partner_id", "attained", "best_track", "score").join(
        before.select(
            "partner_id",
            pl.col("attained").alias("attained_before"),
            pl.col("best_track").alias("best_track_before"),
            pl.col("score").alias("score_before"),
        ),
        on="partner_id",
        how="left",
    )
    gained = both.filter(pl.col("attained") & ~pl.col("attained_before").fill_null(False))
    lost = both.filter(~pl.col("attained") & pl.col("attained_before").fill_null(False))

    def rows(frame: pl.DataFrame) -> list[tuple[str | None, str, dict[str, Any]]]:
        return [
            (
                r["partner_id"],
                "designation",
                {
                    "bestTrack": r["best_track"],
                    "score": r["score"],
                    "previousBestTrack": r["best_track_before"],
                    "previousScore": r["score_before"],
                },
            )
            for r in frame.sort("partner_id").iter_rows(named=True)
        ]

    return pl.concat([_events(DESIGNATION_GAINED, month, rows(gained)), _events(DESIGNATION_LOST, month, rows(lost))])


def _below(book: Rulebook) -> pl.Expr:
    """A metric's points (of its winning option) below the book's per-metric minimum, exactly
    (in units of 1/scale; points are correctly rounded units / scale)."""
    units = (pl.col("points") * book.scale).round().cast(pl.Int64)
    return units < book.units(book.min_metric_points)


def metrics_below_minimum(
    month: dt.date,
    now: pl.DataFrame,
    points: pl.DataFrame | None,
    points_before: pl.DataFrame | None,
    book: Rulebook,
    book_before: Rulebook,
) -> pl.DataFrame:
    """``metric.below_minimum``: a metric of the month's best track is below the minimum and the
    same track's metric was not the month before (partners scored both months only)."""
    if points is None or points_before is None:
        return pl.DataFrame(schema=EVENTS_SCHEMA)
    best = now.select("partner_id", pl.col("best_track").alias("track"))
    winners = points.filter(pl.col("is_winner")).join(best, on=["partner_id", "track"], how="semi")
    below = winners.filter(_below(book))
    was = (
        points_before.filter(pl.col("is_winner"))
        .select(
            "partner_id",
            "track",
            "metric",
            pl.col("points").alias("points_before"),
            _below(book_before).alias("below_before"),
        )
        .filter(~pl.col("below_before"))
    )
    fell = below.join(was, on=["partner_id", "track", "metric"], how="inner").sort("partner_id", "track", "metric")
    minimum = float(book.min_metric_points)
    rows: list[tuple[str | None, str, dict[str, Any]]] = [
        (
            r["partner_id"],
            f"{r['track']}/{r['metric']}",
            {
                "track": r["track"],
                "metric": r["metric"],
                "option": r["option"],
                "points": r["points"],
                "previousPoints": r["points_before"],
                "minimum": minimum,
            },
        )
        for r in fell.iter_rows(named=True)
    ]
    return _events(METRIC_BELOW_MINIMUM, month, rows)


def _expiring_at(leveled: pl.DataFrame, month: dt.date, days: int) -> pl.DataFrame:
    """Leveled certifications that count at ``month``'s end and stop counting within ``days``:
    they expire in (end, end + days] or their counts-through date is in [end, end + days].
    Adds ``ends_on`` (the date in the window that ends their counting: the expiry or the
    counts-through date, the earlier when both are), ``reason`` and ``days_left`` (from the end)."""
    end = calendar.month_end(month)
    horizon = end + dt.timedelta(days=days)
    expires = pl.col("expires_on").is_not_null() & (pl.col("expires_on") > end) & (pl.col("expires_on") <= horizon)
    through = (
        pl.col("counts_through").is_not_null()
        & (pl.col("counts_through") >= end)
        & (pl.col("counts_through") <= horizon)
    )
    counting = leveled.filter(counts_at(end))
    # held again (renewed, or under an alias) beyond the window: it does not stop counting
    lasting = counting.filter(~(expires | through)).select("partner_id", "person_id", "canonical").unique()
    return (
        counting.filter(expires | through)
        .join(lasting, on=["partner_id", "person_id", "canonical"], how="anti")
        .with_columns(
            pl.min_horizontal(
                pl.when(expires).then(pl.col("expires_on")),
                pl.when(through).then(pl.col("counts_through")),
            ).alias("ends_on"),
            pl.when(expires & (~through | (pl.col("expires_on") <= pl.col("counts_through"))))
            .then(pl.lit("expires"))
            .otherwise(pl.lit("counts_through"))
            .alias("reason"),
        )
        .with_columns((pl.col("ends_on") - pl.lit(end)).dt.total_days().alias("days_left"))
    )


def _leveled(certifications: pl.DataFrame, book: Rulebook) -> pl.DataFrame:
    """The certifications the book levels, with their level, counts-through date and canonical name."""
    deadlines = {name: d.isoformat() for name, d in book.certification_deadlines.items()}
    names = {fold(c): c for c in (*book.intermediate_certifications, *book.advanced_certifications)}
    names |= {fold(alias): c for alias, c in book.certification_aliases.items()}
    return certifications.with_columns(
        canonical("certification", certifications, names).alias("canonical"),
        canonical("certification", certifications, book.certification_levels).alias("level"),
        canonical("certification", certifications, deadlines).str.to_date("%Y-%m-%d").alias("counts_through"),
    ).filter(pl.col("level").is_not_null())


def expiring_certifications(
    month: dt.date,
    now: pl.DataFrame,
    certifications: pl.DataFrame,
    book: Rulebook,
    book_before: Rulebook,
    days: int = EXPIRING_DAYS,
) -> pl.DataFrame:
    """``certification.expiring``: a certification of a scored partner counts at the month's end
    and stops counting within ``days`` (it expires, or its counts-through date comes, and the
    person holds it under no other row that counts beyond the window), and it was not so at the
    end of the month before: each is announced once, when it enters the window."""
    scored = now.select("partner_id")
    certs = certifications.join(scored, on="partner_id", how="semi")
    keys = ["partner_id", "person_id", "certification"]
    soon = _expiring_at(_leveled(certs, book), month, days)
    already = _expiring_at(_leveled(certs, book_before), calendar.add_months(month, -1), days).select(keys).unique()
    new = soon.join(already, on=keys, how="anti").sort(*keys, "ends_on")
    new = new.unique(subset=keys, keep="first", maintain_order=True)  # the same one held twice
    rows: list[tuple[str | None, str, dict[str, Any]]] = [
        (
            r["partner_id"],
            f"{r['person_id']}/{r['certification']}/{r['ends_on']}",
            {
                "personId": r["person_id"],
                "certification": r["certification"],
                "level": r["level"],
                "expiresOn": r["expires_on"],
                "countsThrough": r["counts_through"],
                "endsOn": r["ends_on"],
                "reason": r["reason"],
                "daysLeft": r["days_left"],
            },
        )
        for r in new.iter_rows(named=True)
    ]
    return _events(CERTIFICATION_EXPIRING, month, rows)


def lapsing(month: dt.date, now: pl.DataFrame, lapse: pl.DataFrame, months: int = AT_RISK_MONTHS) -> pl.DataFrame:
    """The rows of ``lapse`` that ``at_risk`` can report: scored partners whose lapse from
    ``month`` is within ``months`` months. Only their lapses from the month before matter."""
    limit = calendar.add_months(month, months)
    soon = lapse.filter(pl.col("lapse_month").is_not_null() & (pl.col("lapse_month") <= limit))
    return soon.join(now.select("partner_id"), on="partner_id", how="semi")


def at_risk(
    month: dt.date,
    now: pl.DataFrame,
    lapse: pl.DataFrame | None,
    lapse_before: pl.DataFrame | None,
    months: int = AT_RISK_MONTHS,
) -> pl.DataFrame:
    """``qualification.at_risk``: the projection from this month shows the qualification window
    lapsing within ``months`` months (lapse month <= M + months), and the projection from the
    month before did not (none, or later than M-1 + months). Scored partners only: those of
    ``lapsing``, so ``lapse_before`` needs only their rows (a partner not in it had none)."""
    if lapse is None or lapse_before is None:
        return pl.DataFrame(schema=EVENTS_SCHEMA)
    limit_before = calendar.add_months(month, months - 1)
    soon = lapsing(month, now, lapse, months)
    already = lapse_before.filter(pl.col("lapse_month").is_not_null() & (pl.col("lapse_month") <= limit_before))
    new = soon.join(already.select("partner_id"), on="partner_id", how="anti").join(
        lapse_before.select("partner_id", pl.col("lapse_month").alias("lapse_before")), on="partner_id", how="left"
    )
    rows: list[tuple[str | None, str, dict[str, Any]]] = [
        (
            r["partner_id"],
            calendar.format_month(r["lapse_month"]),
            {
                "lapseMonth": calendar.format_month(r["lapse_month"]),
                "previousLapseMonth": None if r["lapse_before"] is None else calendar.format_month(r["lapse_before"]),
                "monthsLeft": (r["lapse_month"].year - month.year) * 12 + r["lapse_month"].month - month.month,
            },
        )
        for r in new.sort("partner_id").iter_rows(named=True)
    ]
    return _events(QUALIFICATION_AT_RISK, month, rows)
