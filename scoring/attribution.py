"""Why a partner's score moved from month M-1 to month M: per track, metric and option, the
measure and points of both months and the causes of the change, each a countable event on one
side of the measure (the month, the year-ago month, the users or deployments at association)
whose changes add up exactly to the change of the measure.

Both months are scored by the engine itself (``engine.explain_each``) on the partner's slice of
the inputs; the causes are read from the per-customer facts the engine counted the measures
from, so there is no second copy of the rules. The construction, and why it is exact, is in
docs/architecture.md ("Attribution").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from scoring import calendar, engine, simulate
from scoring.engine import MonthExplained
from scoring.frames import Snapshots
from scoring.metrics import METRICS, certifications, deployments, list_of, net_customer_adds, usage_growth
from scoring.metrics.certifications import counts_at
from scoring.names import fold
from scoring.rulebook import OPTION_ALL, Rulebook, Rulebooks
from scoring.simulate import PartnerInputs


class Side(enum.StrEnum):
    """The term of a measure a cause acts on."""

    MONTH = "MONTH"  # the month itself: customers, active users, deployments, persons counted in it
    YEAR_AGO = "YEAR_AGO"  # the same month a year earlier, which the measure subtracts
    AT_ASSOCIATION = "AT_ASSOCIATION"  # the users or deployments a customer had when associated (subtracted)


class CauseKind(enum.StrEnum):
    """What happened to one tenant or person between the two months."""

    CUSTOMER_GAINED = "CUSTOMER_GAINED"  # counted in M, not in M-1
    CUSTOMER_LOST = "CUSTOMER_LOST"  # counted in M-1, not in M
    ACTIVE_USERS_CHANGED = "ACTIVE_USERS_CHANGED"  # counted in both, other active users
    DEPLOYMENT_REACHED = "DEPLOYMENT_REACHED"  # deployed in M, not in M-1
    DEPLOYMENT_LOST = "DEPLOYMENT_LOST"  # deployed in M-1, not in M
    YEAR_AGO_CUSTOMER_ADDED = "YEAR_AGO_CUSTOMER_ADDED"  # counted in M-12, not in M-13
    YEAR_AGO_CUSTOMER_DROPPED = "YEAR_AGO_CUSTOMER_DROPPED"  # counted in M-13, not in M-12
    YEAR_AGO_ACTIVE_USERS_CHANGED = "YEAR_AGO_ACTIVE_USERS_CHANGED"  # counted in both, other users
    YEAR_AGO_DEPLOYMENT_ADDED = "YEAR_AGO_DEPLOYMENT_ADDED"  # deployed in M-12, not in M-13
    YEAR_AGO_DEPLOYMENT_DROPPED = "YEAR_AGO_DEPLOYMENT_DROPPED"  # deployed in M-13, not in M-12
    BASELINE_ADDED = "BASELINE_ADDED"  # users at association now subtracted, none before
    BASELINE_DROPPED = "BASELINE_DROPPED"  # users at association no longer subtracted
    BASELINE_CHANGED = "BASELINE_CHANGED"  # users at association subtracted in both, other users
    DEPLOYMENT_EXCLUDED = "DEPLOYMENT_EXCLUDED"  # deployed already at association: not counted
    EXCLUSION_ENDED = "EXCLUSION_ENDED"  # excluded in M-1, not in M
    CERTIFICATION_EARNED = "CERTIFICATION_EARNED"  # a person counts from M on
    CERTIFICATION_EXPIRED = "CERTIFICATION_EXPIRED"  # a person's counting certification expired
    CERTIFICATION_RETIRED = "CERTIFICATION_RETIRED"  # a person's certification passed its counts-through date
    RULEBOOK_CHANGED = "RULEBOOK_CHANGED"  # M-1 counted under M's rulebook version differs


@dataclass(frozen=True)
class Cause:
    kind: CauseKind
    side: Side
    change: int  # the change of the option's measure this cause makes (its unit: the metric's)
    text: str
    tenant_id: str | None = None
    person_id: str | None = None
    certification: str | None = None  # as written in the input
    workload: str | None = None  # the one workload whose active users changed, when only one did


@dataclass(frozen=True)
class OptionChange:
    option: str  # CPOR, DPOR, CSP, or ALL for a metric not split by option
    measure_before: int
    measure_after: int
    points_before: float
    points_after: float
    winner_before: bool
    winner_after: bool
    causes: tuple[Cause, ...]  # their changes add up to measure_after - measure_before


@dataclass(frozen=True)
class MetricChange:
    metric: str
    unit: str  # "customer", "person", "active_user", "deployment"
    points_before: float
    points_after: float
    options: tuple[OptionChange, ...]


@dataclass(frozen=True)
class TrackChange:
    track: str
    total_before: float
    total_after: float
    qualifies_before: bool
    qualifies_after: bool
    metrics: tuple[MetricChange, ...]


@dataclass(frozen=True)
class ScoreChange:
    partner_id: str
    month: dt.date
    previous_month: dt.date
    rulebook_before: str
    rulebook_after: str
    score_before: float
    score_after: float
    attained_before: bool
    attained_after: bool
    best_track_before: str
    best_track_after: str
    tracks: tuple[TrackChange, ...]


class AttributionError(AssertionError):
    """The causes do not add up to the engine's measures (a bug, never bad input)."""


# ---- inputs ----------------------------------------------------------------------------------


def months_read(month: dt.date) -> list[dt.date]:
    """The snapshots an attribution of ``month`` reads: M-13..M (those of M-1 and of M)."""
    month = calendar.month_start(month)
    return [calendar.add_months(month, -k) for k in range(13, -1, -1)]


def restrict(partner_id: str, month: dt.date, snapshots: Snapshots, certs: pl.DataFrame) -> PartnerInputs:
    """The partner's slice of the inputs for scoring M-1 and M (as ``simulate.restrict`` for one
    month): its associations, the usage of the tenants it held in any of those months, its
    certifications."""
    needed = months_read(month)
    assoc = snapshots.associations.filter((pl.col("partner_id") == partner_id) & pl.col("month").is_in(needed))
    tenants = assoc.get_column("tenant_id").unique().implode()
    usage = snapshots.usage.filter(pl.col("tenant_id").is_in(tenants) & pl.col("month").is_in(needed))
    months = frozenset(m for m in snapshots.months if m in set(needed))
    mine = certs.filter(pl.col("partner_id") == partner_id)
    return PartnerInputs(Snapshots(months=months, usage=usage, associations=assoc), mine)


def load_partner_inputs(
    directory: str | Path, partner_id: str, month: dt.date, *, certifications: pl.DataFrame | None = None
) -> PartnerInputs:
    """The partner's slice of the snapshots M-13..M, through the process's snapshot cache
    (``simulate.load_partner_inputs``), and its certifications (``certifications``: the
    certifications file's rows, when the caller holds them)."""
    inputs = simulate.load_partner_inputs(directory, partner_id, month, months=months_read(month))
    if certifications is None:
        return inputs
    return PartnerInputs(inputs.snapshots, certifications.filter(pl.col("partner_id") == partner_id))


# ---- the terms of each measure ----------------------------------------------------------------

TERM_KEYS = ["track", "metric", "option", "side", "subject"]
TERM_SCHEMA = {
    "track": pl.String,
    "metric": pl.String,
    "option": pl.String,
    "side": pl.String,
    "subject": pl.String,  # tenant or person id
    "amount": pl.Int64,  # the subject's term of the measure, with its sign
    "present": pl.Boolean,  # counted on that side (customer, deployment, person) or a baseline there
    "held": pl.Boolean,  # MONTH side of a customer: held under the track's options (eligible or not)
    "counted": pl.Boolean,  # MONTH side of a customer: held and eligible (a counted customer)
    "active_users": pl.Int64,  # MONTH side of a customer: sums over its held workloads
    "paid_seats": pl.Int64,
}


def _customer_terms(track: str, metric: str, frame: pl.DataFrame) -> list[pl.LazyFrame]:
    """The terms of a per-option customer metric (usage growth, deployments) from the track's
    ``customers.tenant_facts`` rows of the partner."""
    lazy = frame.lazy()
    base = [pl.lit(track).alias("track"), pl.lit(metric).alias("metric"), pl.col("option").cast(pl.String)]
    subject = pl.col("tenant_id").cast(pl.String).alias("subject")
    if metric == usage_growth.NAME:
        now = pl.when(pl.col("counted")).then(pl.col("active_users")).otherwise(0)
        year_ago, year_ago_present = -pl.col("active_users_year_ago"), pl.col("counted_year_ago")
        at_association = -pl.col("baseline_users")
    else:
        now = pl.col("deployed").cast(pl.Int64)
        year_ago, year_ago_present = -pl.col("deployed_year_ago").cast(pl.Int64), pl.col("deployed_year_ago")
        at_association = -pl.col("excluded").cast(pl.Int64)
    present = pl.col("counted") if metric == usage_growth.NAME else pl.col("deployed")
    month = lazy.select(
        *base,
        pl.lit(Side.MONTH.value).alias("side"),
        subject,
        now.alias("amount"),
        present.alias("present"),
        (pl.col("workloads") > 0).alias("held"),
        "counted",
        "active_users",
        "paid_seats",
    )
    others = [
        lazy.select(*base, pl.lit(side.value).alias("side"), subject, amount.alias("amount"), flag.alias("present"))
        for side, amount, flag in (
            (Side.YEAR_AGO, year_ago, year_ago_present),
            (Side.AT_ASSOCIATION, at_association, at_association != 0),
        )
    ]
    return [month, *others]


def _served_terms(track: str, frame: pl.DataFrame) -> list[pl.LazyFrame]:
    """The terms of net customer adds: one per tenant served (any option of the track pooled)."""
    served = (
        frame.lazy()
        .group_by(pl.col("tenant_id").cast(pl.String).alias("subject"))
        .agg(
            pl.col("counted").any(),
            pl.col("counted_year_ago").any(),
            (pl.col("workloads") > 0).any().alias("held"),
            pl.col("active_users").sum(),
            pl.col("paid_seats").sum(),
        )
    )
    base = [
        pl.lit(track).alias("track"),
        pl.lit(net_customer_adds.NAME).alias("metric"),
        pl.lit(OPTION_ALL).alias("option"),
    ]
    return [
        served.select(
            *base,
            pl.lit(Side.MONTH.value).alias("side"),
            "subject",
            pl.col("counted").cast(pl.Int64).alias("amount"),
            pl.col("counted").alias("present"),
            "held",
            "counted",
            "active_users",
            "paid_seats",
        ),
        served.select(
            *base,
            pl.lit(Side.YEAR_AGO.value).alias("side"),
            "subject",
            (-pl.col("counted_year_ago").cast(pl.Int64)).alias("amount"),
            pl.col("counted_year_ago").alias("present"),
        ),
    ]


LEVELS = {certifications.INTERMEDIATE: "INTERMEDIATE", certifications.ADVANCED: "ADVANCED"}


def terms(explained: MonthExplained, partner_id: str) -> pl.DataFrame:
    """Every term of every measure of the partner's month (``TERM_SCHEMA``): for each track,
    metric and option, the measure is the sum of ``amount``."""
    book, month = explained.book, explained.month
    parts: list[pl.LazyFrame] = []
    persons = (
        explained.leveled.lazy()
        .filter((pl.col("partner_id").cast(pl.String) == partner_id) & counts_at(calendar.month_end(month)))
        .select("level", pl.col("person_id").cast(pl.String).alias("subject"))
        .unique()
    )
    for track in book.tracks:
        for metric in METRICS.values():
            if metric.name in LEVELS:
                parts.append(
                    persons.filter(pl.col("level") == LEVELS[metric.name]).select(
                        pl.lit(track.name).alias("track"),
                        pl.lit(metric.name).alias("metric"),
                        pl.lit(OPTION_ALL).alias("option"),
                        pl.lit(Side.MONTH.value).alias("side"),
                        "subject",
                        pl.lit(1, pl.Int64).alias("amount"),
                        pl.lit(True).alias("present"),
                    )
                )
                continue
            frame = explained.customers[list_of(book, metric)][track.name]
            frame = frame.filter(pl.col("partner_id").cast(pl.String) == partner_id)
            if metric.name == net_customer_adds.NAME:
                parts.extend(_served_terms(track.name, frame))
            else:
                parts.extend(_customer_terms(track.name, metric.name, frame))
    empty = pl.DataFrame(schema=TERM_SCHEMA).lazy()
    return pl.concat([empty, *parts], how="diagonal_relaxed").select(list(TERM_SCHEMA)).collect()


# ---- the two months --------------------------------------------------------------------------


def explain(
    *,
    rulebooks: Rulebooks,
    months: Iterable[dt.date],
    snapshots: Snapshots,
    certifications: pl.DataFrame,
    partner_ids: Iterable[str],
) -> dict[dt.date, MonthExplained]:
    """The engine's scoring of ``months`` with what each was counted from (``engine.explain_each``).
    Raises ``MissingSnapshotError`` when a snapshot the months need is not in ``snapshots``."""
    scored = sorted({calendar.month_start(m) for m in months})
    engine.check_snapshots(scored, snapshots.months)

    def load(m: dt.date) -> engine.MonthInputs:
        return (
            snapshots.usage.filter(pl.col("month") == m),
            snapshots.associations.filter(pl.col("month") == m),
        )

    stream = engine.explain_each(
        rulebooks=rulebooks, months=scored, load=load, certifications=certifications, partner_ids=list(partner_ids)
    )
    return dict(stream)


def under(book: Rulebook) -> Rulebooks:
    """Rulebooks in which ``book`` is in force in every month: a month scored under another
    month's version (the bridge across a rule change)."""
    return Rulebooks((dataclasses.replace(book, effective_from=dt.date(1, 1, 1)),))


def needs_bridge(rulebooks: Rulebooks, month: dt.date) -> bool:
    """M-1 and M are under different rulebook versions."""
    month = calendar.month_start(month)
    return rulebooks.for_month(calendar.add_months(month, -1)).id != rulebooks.for_month(month).id


def score_change(
    *, rulebooks: Rulebooks, partner_id: str, month: dt.date, snapshots: Snapshots, certifications: pl.DataFrame
) -> ScoreChange:
    """The attribution of the partner's change from M-1 to ``month`` (M), scored on the
    partner's slice of the inputs. ``snapshots`` must hold M-13..M (more is fine)."""
    month = calendar.month_start(month)
    prev = calendar.add_months(month, -1)
    inputs = restrict(partner_id, month, snapshots, certifications)
    args: dict[str, Any] = {
        "snapshots": inputs.snapshots,
        "certifications": inputs.certifications,
        "partner_ids": [partner_id],
    }
    scored = explain(rulebooks=rulebooks, months=[prev, month], **args)
    bridged = None
    if needs_bridge(rulebooks, month):
        bridged = explain(rulebooks=under(rulebooks.for_month(month)), months=[prev], **args)[prev]
    return attribute(scored[prev], scored[month], bridged, partner_id, inputs.certifications)


def attribute(
    before: MonthExplained,
    after: MonthExplained,
    bridged: MonthExplained | None,
    partner_id: str,
    certifications: pl.DataFrame,
) -> ScoreChange:
    """The partner's attribution from the engine's two months (``explain``): ``before`` is M-1,
    ``after`` M, ``bridged`` M-1 under M's rulebook version when the versions differ, else None.
    The months may hold any partners; ``certifications`` at least the partner's."""
    if (bridged is None) != (before.book.id == after.book.id):
        raise ValueError("a bridged M-1 is needed exactly when M-1 and M are under different versions")
    certs = certifications.filter(pl.col("partner_id") == partner_id)
    terms_before, terms_after = terms(before, partner_id), terms(after, partner_id)
    terms_bridged = None if bridged is None else terms(bridged, partner_id)
    causes = _causes(partner_id, before, bridged or before, after, terms_before, terms_after, terms_bridged, certs)
    return _assemble(partner_id, before, after, terms_before, terms_after, causes)


# ---- causes ----------------------------------------------------------------------------------

UNITS = {
    net_customer_adds.NAME: "customer",
    usage_growth.NAME: "active user",
    deployments.NAME: "deployment",
    certifications.INTERMEDIATE: "intermediate person",
    certifications.ADVANCED: "advanced person",
}


def _units(n: int, metric: str) -> str:
    """``n`` units of the metric's measure, in words ("1 customer", "3 active users")."""
    unit = UNITS[metric]
    if abs(n) != 1:
        unit = unit[: -len("person")] + "persons" if unit.endswith("person") else unit + "s"
    return f"{n} {unit}"


def _amount(n: int, metric: str) -> str:
    """A change of the measure, signed ("+1 customer", "-40 active users")."""
    return ("+" if n >= 0 else "") + _units(n, metric)


def _diff(old: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """Per term key: both months' amounts and details (suffixes _b and _a) and ``change``."""
    joined = old.join(new, on=TERM_KEYS, how="full", coalesce=True, suffix="_a").rename(
        {c: f"{c}_b" for c in TERM_SCHEMA if c not in TERM_KEYS}
    )
    return joined.with_columns(
        pl.col("amount_b", "amount_a", "active_users_b", "active_users_a", "paid_seats_b", "paid_seats_a").fill_null(0),
        pl.col("present_b", "present_a", "held_b", "held_a", "counted_b", "counted_a").fill_null(False),
    ).with_columns((pl.col("amount_a") - pl.col("amount_b")).alias("change"))


def _percent(book: Rulebook) -> str:
    r = book.deployment_active_ratio * 100
    return f"{r.numerator}%" if r.denominator == 1 else f"{float(r):g}%"


Workloads = dict[tuple[str, str], dict[str, int]]
"""(option, tenant) -> workload -> active users: a month's held workloads of the partner."""


def _workload_users(explained: MonthExplained, partner_id: str) -> Workloads:
    out: Workloads = {}
    holdings = explained.result.holdings.filter(pl.col("partner_id") == partner_id)
    for o, t, w, users in holdings.select("option", "tenant_id", "workload", "active_users").iter_rows():
        out.setdefault((o, t), {})[w] = users
    return out


def _by_workload(r: dict[str, Any], base: Workloads, now: Workloads) -> tuple[str, str | None]:
    """The change of a counted tenant's active users per workload (" (Teams +40, Exchange -3)"),
    when it adds up to the cause's change; and the workload when only one changed."""
    old, new = base.get((r["option"], r["subject"]), {}), now.get((r["option"], r["subject"]), {})
    deltas = {w: new.get(w, 0) - old.get(w, 0) for w in sorted({*old, *new})}
    deltas = {w: d for w, d in deltas.items() if d}
    if not deltas or sum(deltas.values()) != r["change"]:
        return "", None
    shown = ", ".join(f"{w} {d:+d}" for w, d in sorted(deltas.items(), key=lambda x: (-abs(x[1]), x[0])))
    return f" ({shown})", next(iter(deltas)) if len(deltas) == 1 else None


def _customer_cause(r: dict[str, Any], book: Rulebook, month: dt.date, workloads: tuple[Workloads, Workloads]) -> Cause:
    """The cause of a change of one tenant's term (not a certification metric)."""
    t, opt, metric, n, side = r["subject"], r["option"], r["metric"], r["change"], Side(r["side"])
    track = r["track"]
    workload = None
    under = f" under {opt}" if opt != OPTION_ALL else ""
    amount = _amount(n, metric)
    ym, ym_before = calendar.add_months(month, -12), calendar.add_months(month, -13)
    kind: CauseKind
    if side is Side.MONTH:
        if metric == deployments.NAME:
            seats = f"{r['active_users_a']} of {r['paid_seats_a']} seats active"
            if n > 0:
                kind, text = (
                    CauseKind.DEPLOYMENT_REACHED,
                    f"tenant {t} reached {_percent(book)} active{under} ({seats})",
                )
            elif r["counted_a"]:
                kind, text = (
                    CauseKind.DEPLOYMENT_LOST,
                    f"tenant {t} fell below {_percent(book)} active{under} ({seats})",
                )
            else:
                kind, text = CauseKind.DEPLOYMENT_LOST, f"tenant {t} no longer counts{under} ({_why_not(r, track)})"
        elif r["present_a"] and r["present_b"]:
            before, after = r["amount_b"], r["amount_a"]
            detail, workload = _by_workload(r, *workloads)
            kind = CauseKind.ACTIVE_USERS_CHANGED
            text = f"tenant {t}{under}: {before} -> {after} active users{detail}"
        elif r["present_a"]:
            why = f"now {track}-eligible by its seats" if r["held_b"] else "newly associated"
            kind, text = CauseKind.CUSTOMER_GAINED, f"tenant {t} counts{under} ({why})"
        else:
            kind, text = CauseKind.CUSTOMER_LOST, f"tenant {t} no longer counts{under} ({_why_not(r, track)})"
    elif side is Side.YEAR_AGO:
        noun = "deployed" if metric == deployments.NAME else "served"
        if r["present_a"] and r["present_b"]:
            kind = CauseKind.YEAR_AGO_ACTIVE_USERS_CHANGED
            had, had_before = -r["amount_a"], -r["amount_b"]
            text = f"tenant {t}{under} had {had} active users in {ym:%Y-%m}, against {had_before} in {ym_before:%Y-%m}"
        elif r["present_a"]:
            kind = (
                CauseKind.YEAR_AGO_DEPLOYMENT_ADDED if metric == deployments.NAME else CauseKind.YEAR_AGO_CUSTOMER_ADDED
            )
            text = f"the year-ago month now includes tenant {t}, {noun}{under} in {ym:%Y-%m}"
        else:
            kind = (
                CauseKind.YEAR_AGO_DEPLOYMENT_DROPPED
                if metric == deployments.NAME
                else CauseKind.YEAR_AGO_CUSTOMER_DROPPED
            )
            text = (
                f"the year-ago month no longer includes tenant {t}, {noun}{under} in {ym_before:%Y-%m} "
                f"but not in {ym:%Y-%m}"
            )
    elif metric == deployments.NAME:
        if n < 0:
            kind = CauseKind.DEPLOYMENT_EXCLUDED
            text = (
                f"tenant {t} was already {_percent(book)} active when associated{under}: its deployment is not counted"
            )
        else:
            kind, text = CauseKind.EXCLUSION_ENDED, f"tenant {t}'s deployment{under} is no longer excluded"
    else:
        if r["present_a"] and r["present_b"]:
            kind = CauseKind.BASELINE_CHANGED
            text = f"tenant {t}{under}: {-r['amount_a']} users at association subtracted, against {-r['amount_b']}"
        elif r["present_a"]:
            kind = CauseKind.BASELINE_ADDED
            text = f"tenant {t}{under} had {-r['amount_a']} active users when associated, now subtracted"
        else:
            kind = CauseKind.BASELINE_DROPPED
            text = f"tenant {t}'s {-r['amount_b']} users at association{under} are no longer subtracted"
    return Cause(kind, side, n, f"{text}: {amount}", tenant_id=t, workload=workload)


def _why_not(r: dict[str, Any], track: str) -> str:
    return f"no longer {track}-eligible by its seats" if r["held_a"] else "no longer associated"


def _cert_rows(certs: pl.DataFrame, book: Rulebook, person: str, level: str) -> list[dict[str, Any]]:
    """The person's certifications of ``level`` under ``book``, with their counts-through dates."""
    levels, deadlines = book.certification_levels, book.certification_deadlines
    out = []
    for c in certs.filter(pl.col("person_id") == person).iter_rows(named=True):
        key = fold(c["certification"])
        if levels.get(key) == level:
            out.append({**c, "counts_through": deadlines.get(key)})
    return out


def _counts(c: dict[str, Any], end: dt.date) -> bool:
    return (
        c["earned_on"] <= end
        and (c["expires_on"] is None or c["expires_on"] > end)
        and (c["counts_through"] is None or end <= c["counts_through"])
    )


def _person_cause(r: dict[str, Any], book: Rulebook, month: dt.date, certs: pl.DataFrame) -> Cause:
    person, metric, n = r["subject"], r["metric"], r["change"]
    level = LEVELS[metric]
    end, end_before = calendar.month_end(month), calendar.month_end(calendar.add_months(month, -1))
    rows = _cert_rows(certs, book, person, level)
    if n > 0:
        now = [c for c in rows if _counts(c, end) and not _counts(c, end_before)] or rows
        c = max(now, key=lambda c: c["earned_on"])
        kind, text = (
            CauseKind.CERTIFICATION_EARNED,
            f"{c['certification']} of person {person} earned on {c['earned_on']}",
        )
    else:
        then = [c for c in rows if _counts(c, end_before)] or rows

        def stops(c: dict[str, Any]) -> tuple[dt.date, bool]:
            """The first day it no longer counts, and whether that is its expiry."""
            expiry = c["expires_on"] or dt.date.max
            retired = c["counts_through"] + dt.timedelta(days=1) if c["counts_through"] else dt.date.max
            return min(expiry, retired), expiry <= retired

        c = max(then, key=lambda c: stops(c)[0])
        if stops(c)[1]:
            kind = CauseKind.CERTIFICATION_EXPIRED
            text = f"{c['certification']} of person {person} expired on {c['expires_on']}"
        else:
            kind = CauseKind.CERTIFICATION_RETIRED
            text = f"{c['certification']} of person {person} counted through {c['counts_through']}"
    return Cause(
        kind, Side.MONTH, n, f"{text}: {_amount(n, metric)}", person_id=person, certification=c["certification"]
    )


def _rulebook_cause(r: dict[str, Any], old: Rulebook, new: Rulebook, prev: dt.date) -> Cause:
    """A term of M-1 that M's rulebook version counts differently from M-1's own."""
    metric, n, side = r["metric"], r["change"], Side(r["side"])
    person = r["subject"] if metric in LEVELS else None
    tenant = None if metric in LEVELS else r["subject"]
    subject = f"person {person}" if person else f"tenant {tenant}"
    under = f" under {r['option']}" if r["option"] != OPTION_ALL else ""
    where = {Side.MONTH: "", Side.YEAR_AGO: " in the year-ago month", Side.AT_ASSOCIATION: " at association"}[side]
    was, now = _units(abs(r["amount_b"]), metric), _units(abs(r["amount_a"]), metric)
    text = (
        f"rulebook {new.id} replaces {old.id} (from {new.effective_from:%Y-%m}): {subject}{under}{where} "
        f"counts as {now} in {prev:%Y-%m} under {new.id}, against {was} under {old.id}"
    )
    return Cause(
        CauseKind.RULEBOOK_CHANGED, side, n, f"{text}: {_amount(n, metric)}", tenant_id=tenant, person_id=person
    )


SIDE_ORDER = {s.value: i for i, s in enumerate(Side)}


def _causes(
    partner_id: str,
    before: MonthExplained,
    base: MonthExplained,
    after: MonthExplained,
    terms_before: pl.DataFrame,
    terms_after: pl.DataFrame,
    bridged: pl.DataFrame | None,
    certs: pl.DataFrame,
) -> dict[tuple[str, str, str], list[Cause]]:
    """(track, metric, option) -> its causes: the rule change first (M-1 under M's version
    against M-1 as scored), then M against M-1 under M's version (``base``)."""
    out: dict[tuple[str, str, str], list[Cause]] = {}
    workloads = (_workload_users(base, partner_id), _workload_users(after, partner_id))
    steps = []
    if bridged is not None:
        steps.append(("rulebook", _diff(terms_before, bridged)))
    steps.append(("month", _diff(terms_before if bridged is None else bridged, terms_after)))
    for step, frame in steps:
        changed = frame.filter(pl.col("change") != 0).sort(
            pl.col("side").replace_strict(SIDE_ORDER, return_dtype=pl.Int64),
            pl.col("change").abs(),
            "subject",
            descending=[False, True, False],
        )
        for r in changed.iter_rows(named=True):
            if step == "rulebook":
                cause = _rulebook_cause(r, before.book, after.book, before.month)
            elif r["metric"] in LEVELS:
                cause = _person_cause(r, after.book, after.month, certs)
            else:
                cause = _customer_cause(r, after.book, after.month, workloads)
            out.setdefault((r["track"], r["metric"], r["option"]), []).append(cause)
    return out


# ---- assembling ------------------------------------------------------------------------------


def _rows(frame: pl.DataFrame, partner_id: str) -> list[dict[str, Any]]:
    return list(frame.filter(pl.col("partner_id") == partner_id).iter_rows(named=True))


def _assemble(
    partner_id: str,
    before: MonthExplained,
    after: MonthExplained,
    terms_before: pl.DataFrame,
    terms_after: pl.DataFrame,
    causes: dict[tuple[str, str, str], list[Cause]],
) -> ScoreChange:
    sums = {}
    for when, frame in (("before", terms_before), ("after", terms_after)):
        for r in frame.group_by("track", "metric", "option").agg(pl.col("amount").sum()).iter_rows(named=True):
            sums[(when, r["track"], r["metric"], r["option"])] = r["amount"]
    metric_rows = {
        when: {(r["track"], r["metric"], r["option"]): r for r in _rows(x.result.metric_points, partner_id)}
        for when, x in (("before", before), ("after", after))
    }
    paths = {
        when: {r["track"]: r for r in _rows(x.result.path_scores, partner_id)}
        for when, x in (("before", before), ("after", after))
    }
    for when, rows in metric_rows.items():
        for key, row in rows.items():
            if sums.get((when, *key), 0) != row["value"]:
                raise AttributionError(
                    f"{partner_id} {when} {key}: terms add up to {sums.get((when, *key), 0)}, not {row['value']}"
                )
    tracks = []
    track_names = list(dict.fromkeys([t.name for t in after.book.tracks] + [t.name for t in before.book.tracks]))
    zero: dict[str, Any] = {"value": 0, "points": 0.0, "is_winner": False}
    listed = dict.fromkeys([OPTION_ALL, *after.book.options, *before.book.options])
    option_order = {o: i for i, o in enumerate(listed)}  # the rulebook's order, as scorecards list them
    for track in track_names:
        metrics = []
        for metric in METRICS.values():
            keys = sorted(
                (k for k in {**metric_rows["before"], **metric_rows["after"]} if k[:2] == (track, metric.name)),
                key=lambda k: option_order.get(k[2], len(option_order)),
            )
            options = []
            for key in keys:
                b, a = metric_rows["before"].get(key, zero), metric_rows["after"].get(key, zero)
                mine = tuple(causes.get(key, ()))
                if sum(c.change for c in mine) != a["value"] - b["value"]:
                    raise AttributionError(f"{partner_id} {key}: causes do not add up to the change of the measure")
                options.append(
                    OptionChange(
                        key[2], b["value"], a["value"], b["points"], a["points"], b["is_winner"], a["is_winner"], mine
                    )
                )
            metrics.append(
                MetricChange(
                    metric.name,
                    metric.unit,
                    max((o.points_before for o in options), default=0.0),
                    max((o.points_after for o in options), default=0.0),
                    tuple(options),
                )
            )
        pb, pa = paths["before"].get(track), paths["after"].get(track)
        tracks.append(
            TrackChange(
                track,
                pb["total"] if pb else 0.0,
                pa["total"] if pa else 0.0,
                bool(pb and pb["qualifies"]),
                bool(pa and pa["qualifies"]),
                tuple(metrics),
            )
        )
    (db,) = _rows(before.result.designations, partner_id)
    (da,) = _rows(after.result.designations, partner_id)
    return ScoreChange(
        partner_id,
        after.month,
        before.month,
        before.book.id,
        after.book.id,
        db["score"],
        da["score"],
        db["attained"],
        da["attained"],
        db["best_track"],
        da["best_track"],
        tuple(tracks),
    )


def all_causes(change: ScoreChange) -> Iterable[tuple[str, str, OptionChange]]:
    """(track, metric, option change) for every option of the attribution."""
    for t in change.tracks:
        for m in t.metrics:
            for o in m.options:
                yield t.track, m.metric, o
