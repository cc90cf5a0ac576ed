import datetime as dt

import strawberry

from graphql_api import db
from graphql_api.context import Context
from graphql_api.pagination import check_first, decode_cursor, encode_cursor, given, page_info
from graphql_api.prefetch import preload
from graphql_api.types.enums import Track
from graphql_api.types.partner import Partner, partner_from_row
from graphql_api.types.partner_connection import PartnerConnection, PartnerEdge
from graphql_api.types.scalars import Month
from graphql_api.types.scorecard import scorecard_from_row
from graphql_api.types.scorecard_connection import ScorecardConnection, ScorecardEdge
from graphql_api.types.scored_month import ScoredMonth
from graphql_api.types.simulation import Simulation, SimulationChangesInput, run_simulation, to_changes
from graphql_api.types.viewer import Viewer

Info = strawberry.Info[Context, None]
UNSET = strawberry.UNSET


@strawberry.type(description="A partner token reads its own partner only; the admin token reads every partner.")
class Query:
    @strawberry.field(description="A partner by id (null when unknown, or not readable with this token).")
    async def partner(self, info: Info, id: strawberry.ID) -> Partner | None:
        if "\x00" in str(id) or not info.context.viewer.can_read(str(id)):  # no id holds NUL (PostgreSQL text cannot)
            return None
        return await info.context.loaders.partner.load(str(id))

    @strawberry.field(description="Partners by id (a partner token sees only its own partner).")
    async def partners(self, info: Info, first: int | None = 50, after: str | None = UNSET) -> PartnerConnection:
        ctx = info.context
        after = given(after)
        limit = check_first(first, ctx.services.settings.max_page_size)
        cursor = decode_cursor(after, "p", (str,))
        only = ctx.viewer.only_partner
        rows = await ctx.db.run(
            lambda conn: db.partner_page(conn, only=only, after=cursor[0] if cursor else None, limit=limit + 1)
        )
        has_next = len(rows) > limit
        edges = [PartnerEdge(cursor=encode_cursor("p", r.partner_id), node=partner_from_row(r)) for r in rows[:limit]]
        for e in edges:
            ctx.loaders.partner.prime(str(e.node.id), e.node)

        async def count() -> int:
            return await ctx.db.run(lambda conn: db.partner_count(conn, only=only))

        return PartnerConnection(edges=edges, page_info=page_info(edges, has_next, after), count=count)

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
        ctx = info.context
        attained, track, after = given(attained), given(track), given(after)
        limit = check_first(first, ctx.services.settings.max_page_size)
        cursor = decode_cursor(after, "d", ((int, float), str))
        filters = {
            "month": month,
            "attained": attained,
            "track": track.value if track else None,
            "only": ctx.viewer.only_partner,
        }
        rows = await ctx.db.run(
            lambda conn: db.designation_page(
                conn, **filters, after=(float(cursor[0]), cursor[1]) if cursor else None, limit=limit + 1
            )
        )
        has_next = len(rows) > limit
        rows = rows[:limit]
        ctx.budget.charge_scorecards(len(rows))
        edges = []
        for r in rows:
            card = scorecard_from_row(r)
            edges.append(ScorecardEdge(cursor=encode_cursor("d", r.score, r.partner_id), node=card))
        ctx.loaders.prime_scorecards([e.node for e in edges])
        await preload(info, [e.node for e in edges])

        async def count() -> int:
            return await ctx.db.run(lambda conn: db.designation_count(conn, **filters))

        return ScorecardConnection(edges=edges, page_info=page_info(edges, has_next, after), count=count)

    @strawberry.field(description="The months that have scores, ascending.")
    async def months(self, info: Info) -> list[Month]:
        return [r.month for r in await info.context.db.run(db.scored_months)]

    @strawberry.field(description="The months that have scores, ascending, with when each was last written.")
    async def scored_months(self, info: Info) -> list[ScoredMonth]:
        admin = info.context.viewer.admin
        return [
            ScoredMonth(
                month=r.month,
                rulebook_id=r.rulebook_id,
                last_materialized_at=r.materialized_at,
                partners_scored=r.partners_scored if admin else None,
                partners_attained=r.partners_attained if admin else None,
                run_id=r.run_id if admin else None,
            )
            for r in await info.context.db.run(db.scored_months)
        ]

    @strawberry.field(description="When scores were last written, any month (null: nothing scored yet).")
    async def last_materialized_at(self, info: Info) -> dt.datetime | None:
        rows = await info.context.db.run(db.scored_months)
        return max((r.materialized_at for r in rows), default=None)

    @strawberry.field(description="Who the token belongs to.")
    def viewer(self, info: Info) -> Viewer:
        v = info.context.viewer
        return Viewer(admin=v.admin, partner_id=strawberry.ID(v.partner_id) if v.partner_id else None)

    @strawberry.field(
        description="What-if: the partner's month (its latest scored month when omitted) scored as it is and "
        "with hypothetical changes, by the same scoring. Null when the partner is not readable with this token "
        "or has no scored month. Reads the month's M-12..M input snapshots from the data folder."
    )
    async def simulate(
        self, info: Info, partner_id: strawberry.ID, changes: SimulationChangesInput, month: Month | None = UNSET
    ) -> Simulation | None:
        ctx = info.context
        pid = str(partner_id)
        if "\x00" in pid or not ctx.viewer.can_read(pid) or await ctx.loaders.partner.load(pid) is None:
            return None
        month = given(month)
        if month is None:
            latest = await ctx.loaders.latest_scorecard.load(pid)
            if latest is None:
                return None
            month = latest.month
        ctx.budget.charge_rescorings(1)
        return await run_simulation(ctx, pid, month, to_changes(changes))
