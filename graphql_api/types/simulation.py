"""What-if simulation: the input types (with their conversion to ``scoring.simulate`` changes)
and the output types."""

from __future__ import annotations

import datetime as dt

import strawberry

from graphql_api.enums import AssociationOption, CertificationLevel, Metric, Track
from graphql_api.errors import UserError
from graphql_api.resolvers.simulation import SimulationRows
from graphql_api.types.partner import Scorecard
from graphql_api.types.scalars import Month
from scoring import simulate as sim

MAX_CHANGES = 50
MAX_COUNT = 1000


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

    def to_changes(self) -> list[sim.Change]:
        """The changes for ``scoring.simulate``, checked (a readable error for each mistake)."""
        out: list[sim.Change] = []
        for p in self.add_certified_persons:
            out.append(sim.AddCertifiedPersons(p.level.value, p.count))
        for p in self.remove_certified_persons:
            out.append(sim.RemoveCertifiedPersons(p.level.value, p.count))
        for c in self.add_customers:
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
        for a in self.change_active_users:
            out.append(sim.ChangeActiveUsers(str(a.tenant_id), a.workload, a.active_users))
        for lo in self.lose_associations:
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

    @classmethod
    def from_rows(cls, partner_id: str, month: dt.date, rows: SimulationRows) -> Simulation:
        actual, simulated = Scorecard.from_rows(rows.actual), Scorecard.from_rows(rows.simulated)
        return cls(
            partner_id=strawberry.ID(partner_id),
            month=month,
            actual=actual,
            simulated=simulated,
            score_delta=simulated.score - actual.score,
            attained_changes=simulated.attained != actual.attained,
            metric_deltas=_metric_deltas(actual, simulated),
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
