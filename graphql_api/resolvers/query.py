"""The root fields: partners, a month's designations, the scored months."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from sqlalchemy import Row

from graphql_api.context import Context
from graphql_api.db import queries
from graphql_api.pagination import Page, check_first, decode_cursor, encode_cursor
from graphql_api.records import ScorecardRows
from graphql_api.resolvers.scorecards import with_children
from scoring.rulebook import Rulebook


def rulebooks(ctx: Context) -> tuple[Rulebook, ...]:
    """The rulebook versions, by effective month (the same for every viewer)."""
    return ctx.services.rulebooks.versions


async def partner(ctx: Context, partner_id: str) -> Row | None:
    if "\x00" in partner_id or not ctx.viewer.can_read(partner_id):  # no id holds NUL (PostgreSQL text cannot)
        return None
    return await ctx.loaders.partner.load(partner_id)


async def partners(ctx: Context, first: int | None, after: str | None) -> Page[Row]:
    """A page of the partners the viewer may read, by id."""
    limit = check_first(first, ctx.services.settings.max_page_size)
    cursor = decode_cursor(after, "p", (str,))
    only = ctx.viewer.only_partner
    rows = await ctx.db.run(
        lambda conn: queries.partner_page(conn, only=only, after=cursor[0] if cursor else None, limit=limit + 1)
    )
    has_next = len(rows) > limit
    rows = rows[:limit]
    for r in rows:
        ctx.loaders.partner.prime(r.partner_id, r)

    async def count() -> int:
        return await ctx.db.run(lambda conn: queries.partner_count(conn, only=only))

    return Page([(encode_cursor("p", r.partner_id), r) for r in rows], has_next, after, count)


async def designations(
    ctx: Context,
    info: strawberry.Info,
    *,
    month: dt.date,
    attained: bool | None,
    first: int | None,
    after: str | None,
    track: str | None,
) -> Page[ScorecardRows]:
    """A page of a month's scorecards, highest score first, then by partner id (keyset)."""
    limit = check_first(first, ctx.services.settings.max_page_size)
    cursor = decode_cursor(after, "d", ((int, float), str))
    filters: dict[str, Any] = {
        "month": month,
        "attained": attained,
        "track": track,
        "only": ctx.viewer.only_partner,
    }
    rows = await ctx.db.run(
        lambda conn: queries.designation_page(
            conn, **filters, after=(float(cursor[0]), cursor[1]) if cursor else None, limit=limit + 1
        )
    )
    has_next = len(rows) > limit
    rows = rows[:limit]
    ctx.budget.charge_scorecards(len(rows))
    ctx.loaders.prime_scorecards(rows)
    cards = await with_children(ctx, info, rows)

    async def count() -> int:
        return await ctx.db.run(lambda conn: queries.designation_count(conn, **filters))

    return Page([(encode_cursor("d", c.row.score, c.row.partner_id), c) for c in cards], has_next, after, count)


async def scored_months(ctx: Context) -> list[Row]:
    """``scored_month`` rows, ascending."""
    return await ctx.db.run(queries.scored_months)
