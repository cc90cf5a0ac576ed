"""What-if simulation, qualification status and warnings (issue 6): the GraphQL types and the
glue from the pure functions of ``scoring.simulate`` to them."""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import logging

import polars as pl
import strawberry

from graphql_api.context import Context
from graphql_api.errors import UserError
from graphql_api.types.enums import (
    METRIC_ORDER,
    OPTION_ORDER,
    TRACK_ORDER,
    AssociationOption,
    CertificationLevel,
    Metric,
    Track,
)
from graphql_api.types.metric_score import MetricScore
from graphql_api.types.option_score import OptionScore
from graphql_api.types.path_score import PathScore
from graphql_api.types.scalars import Month
from graphql_api.types.scorecard import Scorecard
from scoring import simulate as sim
from scoring.calendar import month_end
from scoring.engine import ScoreResult
from scoring.frames import InputError
from scoring.rulebook import RulebookError, fold

log = logging.getLogger("graphql_api")

MAX_CHANGES = 50
MAX_COUNT = 1000
AT_RISK_LIMIT = 50


# ---- inputs ----------------------------------------------------------------------------------


@strawberry.input(description="Add or remove persons counted for a certification metric.")
class CertifiedPersonsInput:
    level: CertificationLevel
    count: int


@strawberry.input(
    description="A new customer held in the month only (each workload gets these seats and active users); "
    "associated before M-12 unless associatedOn is given."
)
class AddCustomerInput:
    seats: int
    active_users: int
    option: AssociationOption = AssociationOption.CPOR
    workloads: list[str] = strawberry.field(default_factory=lambda: ["Exchange"])
    tenant_id: strawberry.ID | None = None
    associated_on: dt.date | None = None


@strawberry.input(description="Set the active users of a tenant's workload in the month.")
class ActiveUsersInput:
    tenant_id: strawberry.ID
    workload: str
    active_users: int


@strawberry.input(description="Lose the partner's associations on a tenant in the month (one option, or all).")
class LoseAssociationInput:
    tenant_id: strawberry.ID
    option: AssociationOption | None = None


@strawberry.input(
    description="Hypothetical changes, applied in this order: persons added, persons removed, "
    "customers added, active users changed, associations lost."
)
class SimulationChangesInput:
    add_certified_persons: list[CertifiedPersonsInput] = strawberry.field(default_factory=list)
    remove_certified_persons: list[CertifiedPersonsInput] = strawberry.field(default_factory=list)
    add_customers: list[AddCustomerInput] = strawberry.field(default_factory=list)
    change_active_users: list[ActiveUsersInput] = strawberry.field(default_factory=list)
    lose_associations: list[LoseAssociationInput] = strawberry.field(default_factory=list)


def to_changes(inp: SimulationChangesInput) -> list[sim.Change]:
    out: list[sim.Change] = []
    for p in inp.add_certified_persons:
        out.append(sim.AddCertifiedPersons(p.level.value, p.count))
    for p in inp.remove_certified_persons:
        out.append(sim.RemoveCertifiedPersons(p.level.value, p.count))
    for c in inp.add_customers:
        if c.option is AssociationOption.ALL:
            raise UserError("addCustomers.option must be CPOR, DPOR or CSP.")
        out.append(
            sim.AddCustomer(
                seats=c.seats,
                active_users=c.active_users,
                option=c.option.value,
                workloads=tuple(c.workloads),
                tenant_id=str(c.tenant_id) if c.tenant_id else None,
                associated_on=c.associated_on,
            )
        )
    for a in inp.change_active_users:
        out.append(sim.ChangeActiveUsers(str(a.tenant_id), a.workload, a.active_users))
    for lo in inp.lose_associations:
        if lo.option is AssociationOption.ALL:
            raise UserError("loseAssociations.option must be CPOR, DPOR or CSP (or omitted for all).")
        out.append(sim.LoseAssociation(str(lo.tenant_id), lo.option.value if lo.option else None))
    if len(out) > MAX_CHANGES:
        raise UserError(f"At most {MAX_CHANGES} changes per simulation.")
    for ch in out:
        for attr in ("count", "seats", "active_users"):
            v = getattr(ch, attr, 0)
            if v < 0 or v > (MAX_COUNT if attr == "count" else 10_000_000):
                raise UserError(f"{attr} out of range: {v}.")
        if isinstance(ch, sim.AddCustomer) and not ch.workloads:
            raise UserError("addCustomers.workloads must not be empty.")
    return out


# ---- outputs ---------------------------------------------------------------------------------


@strawberry.type(description="One metric of one path, as it is and as simulated.")
class MetricDelta:
    track: Track
    metric: Metric
    actual_points: float
    simulated_points: float
    delta: float
    actual_value: float
    simulated_value: float


@strawberry.type(description="A partner's month scored as it is and with hypothetical changes, by the same scoring.")
class Simulation:
    partner_id: strawberry.ID
    month: Month
    actual: Scorecard
    simulated: Scorecard
    score_delta: float = strawberry.field(description="simulated.score - actual.score.")
    attained_changes: bool = strawberry.field(description="The simulated designation differs from the actual one.")
    metric_deltas: list[MetricDelta] = strawberry.field(description="Every metric of both paths, ENTERPRISE then SMB.")


@strawberry.enum(description="Whether the designation is held in a month.")
class QualificationState(enum.Enum):
    QUALIFIED = "QUALIFIED"
    NOT_QUALIFIED = "NOT_QUALIFIED"


@strawberry.type(
    description="The designation held over a window: qualified in a month when attained in it or "
    "in any of the 5 months before."
)
class QualificationStatus:
    month: Month
    state: QualificationState
    qualified: bool
    since_month: Month | None = strawberry.field(description="The latest month of the window that attained.")
    track: Track | None = strawberry.field(description="That month's best track.")
    valid_through: Month | None = strawberry.field(
        description="The last month the status holds without attaining again."
    )


@strawberry.type(description="A certification that expires within 90 days after the month's end.")
class ExpiringCertification:
    person_id: strawberry.ID
    certification: str
    level: CertificationLevel | None
    expires_on: dt.date
    days_left: int


@strawberry.type(description="A held customer whose loss alone would drop the partner below the designation.")
class CustomerAtRisk:
    tenant_id: strawberry.ID
    score_without: float
    best_track_without: Track


@strawberry.type(description="What may cost the partner its designation soon.")
class PartnerWarnings:
    month: Month
    expiring_certifications: list[ExpiringCertification]
    customers_at_risk: list[CustomerAtRisk] = strawberry.field(
        description=f"Only for a partner that attains in the month; at most {AT_RISK_LIMIT} held customers are tried."
    )


# ---- ScoreResult -> Scorecard ----------------------------------------------------------------


def scorecard_from_result(result: ScoreResult, partner_id: str) -> Scorecard:
    d = result.designations.filter(pl.col("partner_id") == partner_id).row(0, named=True)
    mp = result.metric_points.filter(pl.col("partner_id") == partner_id)
    paths = []
    for p in result.path_scores.filter(pl.col("partner_id") == partner_id).iter_rows(named=True):
        metrics = []
        rows = mp.filter(pl.col("track") == p["track"])
        for metric in sorted(rows["metric"].unique().to_list(), key=lambda m: METRIC_ORDER.get(m, 99)):
            opts = sorted(
                rows.filter(pl.col("metric") == metric).iter_rows(named=True),
                key=lambda o: OPTION_ORDER.get(o["option"], 99),
            )
            w = next((o for o in opts if o["is_winner"]), None)
            if w is None:
                continue
            metrics.append(
                MetricScore(
                    metric=Metric(metric),
                    points=w["points"],
                    max_points=w["max_points"],
                    value=float(w["value"]),
                    option=AssociationOption(w["option"]),
                    options=[
                        OptionScore(
                            option=AssociationOption(o["option"]),
                            value=float(o["value"]),
                            points=o["points"],
                            current=float(o["current"]),
                            year_ago=float(o["year_ago"]),
                            adjustment=float(o["adjustment"]),
                            is_winner=o["is_winner"],
                        )
                        for o in opts
                    ],
                    current=float(w["current"]),
                    year_ago=float(w["year_ago"]),
                    adjustment=float(w["adjustment"]),
                )
            )
        paths.append(
            PathScore(
                track=Track(p["track"]),
                total=p["total"],
                qualifies=p["qualifies"],
                metrics_at_minimum=p["metrics_at_minimum"],
                partner_id=partner_id,
                month=p["month"],
                preloaded_metrics=metrics,
            )
        )
    paths.sort(key=lambda x: TRACK_ORDER[x.track.value])
    return Scorecard(
        partner_id=strawberry.ID(partner_id),
        month=d["month"],
        attained=d["attained"],
        best_track=Track(d["best_track"]),
        score=d["score"],
        rulebook_id=d["rulebook_id"],
        preloaded_paths=paths,
    )


def _metric_deltas(actual: Scorecard, simulated: Scorecard) -> list[MetricDelta]:
    out = []
    for pa in actual.preloaded_paths or []:
        ps = next(p for p in simulated.preloaded_paths or [] if p.track is pa.track)
        for ma in pa.preloaded_metrics or []:
            ms = next(m for m in ps.preloaded_metrics or [] if m.metric is ma.metric)
            out.append(
                MetricDelta(
                    track=pa.track,
                    metric=ma.metric,
                    actual_points=ma.points,
                    simulated_points=ms.points,
                    delta=ms.points - ma.points,
                    actual_value=ma.value,
                    simulated_value=ms.value,
                )
            )
    return out


def _unavailable(exc: Exception) -> UserError:
    log.error("simulation data unavailable: %s", exc)
    return UserError(
        "The simulation is unavailable: the input data of that month cannot be read.", code="DATA_UNAVAILABLE"
    )


def _inputs(ctx: Context, partner_id: str, month: dt.date) -> sim.PartnerInputs:
    try:
        return sim.load_partner_inputs(ctx.services.certifications.data_dir, partner_id, month)
    except (InputError, OSError) as exc:
        raise _unavailable(exc) from None


def build_simulation(ctx: Context, partner_id: str, month: dt.date, changes: list[sim.Change]) -> Simulation:
    inputs = _inputs(ctx, partner_id, month)
    try:
        res = sim.simulate(
            partner_id=partner_id,
            month=month,
            snapshots=inputs.snapshots,
            certifications=inputs.certifications,
            rulebooks=ctx.services.rulebooks,
            changes=changes,
        )
    except RulebookError as exc:
        raise _unavailable(exc) from None
    except ValueError as exc:  # a change that cannot apply (e.g. an added tenant that already exists)
        raise UserError(str(exc)) from None
    actual = scorecard_from_result(res.actual, partner_id)
    simulated = scorecard_from_result(res.simulated, partner_id)
    return Simulation(
        partner_id=strawberry.ID(partner_id),
        month=month,
        actual=actual,
        simulated=simulated,
        score_delta=simulated.score - actual.score,
        attained_changes=simulated.attained != actual.attained,
        metric_deltas=_metric_deltas(actual, simulated),
    )


async def run_simulation(ctx: Context, partner_id: str, month: dt.date, changes: list[sim.Change]) -> Simulation:
    ctx.uncacheable()  # reads the data folder, which the cache's version does not cover
    return await asyncio.to_thread(build_simulation, ctx, partner_id, month, changes)


def status_from_scorecards(cards: list[Scorecard], partner_id: str, month: dt.date) -> QualificationStatus:
    frame = pl.DataFrame(
        [(c.month, str(c.partner_id), c.attained, c.best_track.value, c.score) for c in cards],
        schema={
            "month": pl.Date,
            "partner_id": pl.String,
            "attained": pl.Boolean,
            "best_track": pl.String,
            "score": pl.Float64,
        },
        orient="row",
    )
    st = sim.qualification_status(frame, partner_id, month)
    return QualificationStatus(
        month=month,
        state=QualificationState.QUALIFIED if st.qualified else QualificationState.NOT_QUALIFIED,
        qualified=st.qualified,
        since_month=st.since_month,
        track=Track(st.track) if st.track else None,
        valid_through=st.valid_through,
    )


def build_warnings(ctx: Context, partner_id: str, month: dt.date, attained: bool) -> PartnerWarnings:
    try:
        certs = ctx.services.certifications.for_partner(partner_id)
        levels = ctx.services.rulebooks.for_month(month).certification_levels
    except (InputError, RulebookError, OSError) as exc:
        raise _unavailable(exc) from None
    end = month_end(month)
    expiring = [
        ExpiringCertification(
            person_id=strawberry.ID(r["person_id"]),
            certification=r["certification"],
            level=CertificationLevel(lv) if (lv := levels.get(fold(r["certification"]))) else None,
            expires_on=r["expires_on"],
            days_left=(r["expires_on"] - end).days,
        )
        for r in sim.expiring_certifications(certs, partner_id, month).iter_rows(named=True)
    ]
    at_risk: list[CustomerAtRisk] = []
    if attained:
        inputs = _inputs(ctx, partner_id, month)
        at_risk = [
            CustomerAtRisk(
                tenant_id=strawberry.ID(c.tenant_id), score_without=c.score, best_track_without=Track(c.best_track)
            )
            for c in sim.customers_at_risk(
                partner_id=partner_id,
                month=month,
                snapshots=inputs.snapshots,
                certifications=inputs.certifications,
                rulebooks=ctx.services.rulebooks,
                limit=AT_RISK_LIMIT,
            )
        ]
    return PartnerWarnings(month=month, expiring_certifications=expiring, customers_at_risk=at_risk)
