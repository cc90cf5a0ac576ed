"""What-if simulation, qualification status and warnings: the glue from ``scoring.simulate``
(which reads the data folder) to plain results the types are built from."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Protocol

import polars as pl

from graphql_api.context import Context
from graphql_api.errors import UserError
from graphql_api.records import PathRows, ScorecardRows, group_metrics, sort_paths
from scoring import simulate as sim
from scoring.calendar import month_end
from scoring.engine import ScoreResult
from scoring.frames import DESIGNATIONS_SCHEMA, InputError
from scoring.rulebook import RulebookError, fold

log = logging.getLogger("graphql_api")

AT_RISK_LIMIT = 50  # held customers the at-risk search tries


class Changes(Protocol):
    """The simulation's input (``types.simulation.SimulationChangesInput``)."""

    def to_changes(self) -> list[sim.Change]: ...


@dataclass(frozen=True)
class SimulationRows:
    actual: ScorecardRows
    simulated: ScorecardRows


WARNING_DAYS = 90  # how far after the month's end an expiry or a counts-through date is warned of


@dataclass(frozen=True)
class ExpiringRow:
    person_id: str
    certification: str
    level: str | None
    expires_on: dt.date
    days_left: int


@dataclass(frozen=True)
class RetiringRow:
    person_id: str
    certification: str
    level: str
    counts_through: dt.date
    days_left: int  # from the month's end to the last day it counts (0: the month's end is that day)


@dataclass(frozen=True)
class Warnings:
    expiring: list[ExpiringRow]
    at_risk: list[sim.CustomerAtRisk]
    retiring: list[RetiringRow]


def _rows(frame: pl.DataFrame) -> list[Any]:
    """A frame's rows with attribute access, like the database's."""
    return [SimpleNamespace(**r) for r in frame.iter_rows(named=True)]


def scorecard_rows(ctx: Context, result: ScoreResult, partner_id: str) -> ScorecardRows:
    """A partner's scorecard in a ``ScoreResult``, as the rows the database would hold."""
    mine = pl.col("partner_id") == partner_id
    designation = SimpleNamespace(**result.designations.filter(mine).row(0, named=True))
    by_key = group_metrics(_rows(result.metric_points.filter(mine)), lambda m: ctx.services.track_options(None, m))
    paths = [
        PathRows(p, by_key.get((partner_id, p.month), {}).get(p.track, []))
        for p in sort_paths(_rows(result.path_scores.filter(mine)))
    ]
    return ScorecardRows(designation, paths)


def _unavailable(exc: Exception) -> UserError:
    log.error("simulation data unavailable: %s", exc)
    return UserError(
        "The simulation is unavailable: the input data of that month cannot be read.", code="DATA_UNAVAILABLE"
    )


def _inputs(ctx: Context, partner_id: str, month: dt.date) -> dict[str, Any]:
    """The keyword arguments of ``sim.simulate`` and ``sim.customers_at_risk`` for the partner's month."""
    try:
        inputs = sim.load_partner_inputs(ctx.services.certifications.data_dir, partner_id, month)
    except (InputError, OSError) as exc:
        raise _unavailable(exc) from None
    return {
        "partner_id": partner_id,
        "month": month,
        "snapshots": inputs.snapshots,
        "certifications": inputs.certifications,
        "rulebooks": ctx.services.rulebooks,
    }


def build_simulation(ctx: Context, partner_id: str, month: dt.date, changes: list[sim.Change]) -> SimulationRows:
    inputs = _inputs(ctx, partner_id, month)
    try:
        res = sim.simulate(**inputs, changes=changes)
    except RulebookError as exc:
        raise _unavailable(exc) from None
    except ValueError as exc:  # a change that cannot apply (e.g. an added tenant that already exists)
        raise UserError(str(exc)) from None
    return SimulationRows(scorecard_rows(ctx, res.actual, partner_id), scorecard_rows(ctx, res.simulated, partner_id))


async def simulate(
    ctx: Context, partner_id: str, month: dt.date | None, changes: Changes
) -> tuple[dt.date, SimulationRows] | None:
    """The partner's month (its latest scored month when None) scored as it is and with
    ``changes``; None when the partner is unknown, not readable, or has no scored month."""
    readable = "\x00" not in partner_id and ctx.viewer.can_read(partner_id)
    if not readable or await ctx.loaders.partner.load(partner_id) is None:
        return None
    if month is None:
        latest = await ctx.loaders.latest_scorecard.load(partner_id)
        if latest is None:
            return None
        month = latest.month
    ctx.budget.charge_rescorings(1)
    wanted = changes.to_changes()
    ctx.uncacheable()  # reads the data folder, which the cache's version does not cover
    return month, await asyncio.to_thread(build_simulation, ctx, partner_id, month, wanted)


def qualification_status(rows: Sequence[Any], partner_id: str, month: dt.date) -> sim.QualificationStatus:
    """The status in ``month`` from the partner's ``designation`` rows of the window."""
    frame = pl.DataFrame(
        [(r.month, r.partner_id, r.attained, r.best_track, r.score) for r in rows],
        schema={c: DESIGNATIONS_SCHEMA[c] for c in ("month", "partner_id", "attained", "best_track", "score")},
        orient="row",
    )
    return sim.qualification_status(frame, partner_id, month)


def build_warnings(ctx: Context, partner_id: str, month: dt.date, attained: bool) -> Warnings:
    try:
        certs = ctx.services.certifications.for_partner(partner_id)
        book = ctx.services.rulebooks.for_month(month)
    except (InputError, RulebookError, OSError) as exc:
        raise _unavailable(exc) from None
    levels = book.certification_levels
    end = month_end(month)
    horizon = end + dt.timedelta(days=WARNING_DAYS)
    rows = sim.expiring_certifications(certs, partner_id, month, WARNING_DAYS, book=book).iter_rows(named=True)
    expiring, retiring = [], []
    for r in rows:
        level = levels.get(fold(r["certification"])) or None
        if r["expires_on"] is not None and end < r["expires_on"] <= horizon:
            expiring.append(
                ExpiringRow(r["person_id"], r["certification"], level, r["expires_on"], (r["expires_on"] - end).days)
            )
        through = r["counts_through"]
        if level is not None and through is not None and end <= through <= horizon:
            retiring.append(RetiringRow(r["person_id"], r["certification"], level, through, (through - end).days))
    at_risk: list[sim.CustomerAtRisk] = []
    if attained:
        at_risk = sim.customers_at_risk(**_inputs(ctx, partner_id, month), limit=AT_RISK_LIMIT)
    return Warnings(expiring, at_risk, retiring)
