"""``Query``: the root fields (partner, partners, designations, months, viewer, simulate, ...)."""

import datetime as dt

import strawberry

from graphql_api.context import Context
from graphql_api.enums import Track
from graphql_api.pagination import given
from graphql_api.resolvers import overview, query, simulation
from graphql_api.types.overview import ProgramOverview
from graphql_api.types.partner import Partner, PartnerConnection, Scorecard, ScorecardConnection
from graphql_api.types.rulebook import RulebookVersion
from graphql_api.types.scalars import Month
from graphql_api.types.scored_month import ScoredMonth
from graphql_api.types.simulation import Simulation, SimulationChangesInput
from graphql_api.types.viewer import Viewer

Info = strawberry.Info[Context, None]
UNSET = strawberry.UNSET


@strawberry.type(description="A partner token reads its own partner only; the admin token reads every partner.")
class Query:
    @strawberry.field(description="A partner by id (null when unknown, or not readable with this token).")
    async def partner(self, info: Info, id: strawberry.ID) -> Partner | None:
        row = await query.partner(info.context, str(id))
        return None if row is None else Partner.from_row(row)

    @strawberry.field(description="Partners by id (a partner token sees only its own partner).")
    async def partners(self, info: Info, first: int | None = 50, after: str | None = UNSET) -> PartnerConnection:
        page = await query.partners(info.context, first, given(after))
        return PartnerConnection.from_page(page, Partner.from_row)

    @strawberry.field(
        description="The scorecards of a month, highest score first (then by partner id). attained: only "
        "attained (true) or not attained (false); track: only scorecards whose bestTrack is that track. "
        "A partner token sees only its own scorecard."
    )
    async def designations(
        self,
        info: Info,
        month: Month,
        attained: bool | None = UNSET,
        first: int | None = 50,
        after: str | None = UNSET,
        track: Track | None = UNSET,
    ) -> ScorecardConnection:
        track = given(track)
        page = await query.designations(
            info.context,
            info,
            month=month,
            attained=given(attained),
            first=first,
            after=given(after),
            track=track.value if track else None,
        )
        return ScorecardConnection.from_page(page, Scorecard.from_rows)

    @strawberry.field(description="The months that have scores, ascending.")
    async def months(self, info: Info) -> list[Month]:
        return [r.month for r in await query.scored_months(info.context)]

    @strawberry.field(description="The months that have scores, ascending, with when each was last written.")
    async def scored_months(self, info: Info) -> list[ScoredMonth]:
        admin = info.context.viewer.admin
        return [ScoredMonth.from_row(r, admin=admin) for r in await query.scored_months(info.context)]

    @strawberry.field(description="When scores were last written, any month (null: nothing scored yet).")
    async def last_materialized_at(self, info: Info) -> dt.datetime | None:
        rows = await query.scored_months(info.context)
        return max((r.materialized_at for r in rows), default=None)

    @strawberry.field(
        description="The versions of the rules, by the month from which each is in force; a month is scored "
        "wholly under the version in force in it (Scorecard.rulebookId, ScoredMonth.rulebookId)."
    )
    def rulebooks(self, info: Info) -> list[RulebookVersion]:
        return [RulebookVersion.of(book) for book in query.rulebooks(info.context)]

    @strawberry.field(description="One version of the rules by its id (null when unknown).")
    def rulebook(self, info: Info, id: str) -> RulebookVersion | None:
        return next((RulebookVersion.of(b) for b in query.rulebooks(info.context) if b.id == id), None)

    @strawberry.field(description="Who the token belongs to.")
    def viewer(self, info: Info) -> Viewer:
        return Viewer.of(info.context.viewer)

    @strawberry.field(
        description="What-if: the partner's month (its latest scored month when omitted) scored as it is and "
        "with hypothetical changes, by the same scoring. Null when the partner is not readable with this token "
        "or has no scored month. Reads the month's M-12..M input snapshots from the data folder."
    )
    async def simulate(
        self, info: Info, partner_id: strawberry.ID, changes: SimulationChangesInput, month: Month | None = UNSET
    ) -> Simulation | None:
        pid = str(partner_id)
        found = await simulation.simulate(info.context, pid, given(month), changes)
        return None if found is None else Simulation.from_rows(pid, *found)

    @strawberry.field(
        description="Admin only (null for a partner token): partners attaining per track over the scored months, "
        "and the score distribution of a month (the latest scored month when omitted)."
    )
    async def program_overview(self, info: Info, month: Month | None = UNSET) -> ProgramOverview | None:
        found = await overview.overview(info.context, given(month))
        return None if found is None else ProgramOverview.of(found)

    @strawberry.field(
        description="Partners whose id starts with text or whose name contains it (case-insensitive), by id; "
        "a partner token finds only its own partner."
    )
    async def partner_search(self, info: Info, text: str, first: int | None = 20) -> list[Partner]:
        return [Partner.from_row(r) for r in await overview.search(info.context, text, first)]
