"""The admin's program overview (attained per track over the months, a month's score
distribution) and the partner search by id or name."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Row

from graphql_api.context import Context
from graphql_api.db import overview as db
from graphql_api.errors import UserError
from graphql_api.pagination import check_first

MAX_SEARCH_TEXT = 100


@dataclass(frozen=True)
class MonthCounts:
    month: dt.date
    scored: int
    attained: int
    qualifying: dict[str, int]  # track -> partners whose path qualifies


@dataclass(frozen=True)
class Overview:
    months: list[MonthCounts]
    month: dt.date | None  # the distribution's month
    buckets: list[tuple[float, float | None, int]]  # (from, to or None for the open top, partners)


async def overview(ctx: Context, month: dt.date | None) -> Overview | None:
    """None for a partner token (program-wide figures are the admin's)."""
    if not ctx.viewer.admin:
        return None
    attained, qualifying = await ctx.db.run(db.attained_by_month)
    per_track: dict[dt.date, dict[str, int]] = {}
    for r in qualifying:
        per_track.setdefault(r.month, {})[r.track] = int(r.qualifying)
    months = [MonthCounts(r.month, int(r.scored), int(r.attained or 0), per_track.get(r.month, {})) for r in attained]
    if month is None and months:
        month = months[-1].month
    rows: list[Row] = [] if month is None else await ctx.db.run(db.score_distribution, month)
    counts = {int(r.lo): int(r.partners) for r in rows}
    width = db.BUCKET_POINTS
    buckets: list[tuple[float, float | None, int]] = [
        (float(lo), float(lo + width) if lo < 100 else None, counts.get(lo, 0)) for lo in range(0, 101, width)
    ]
    return Overview(months, month, buckets if rows else [])


async def search(ctx: Context, text: str, first: int | None) -> list[Row]:
    """Partners whose id starts with ``text`` or whose name contains it; a partner token finds only itself."""
    limit = check_first(first, ctx.services.settings.max_page_size)
    text = text.strip()
    if len(text) > MAX_SEARCH_TEXT or "\x00" in text:
        raise UserError(f"text must be at most {MAX_SEARCH_TEXT} characters.")
    if not text:
        return []
    rows = await ctx.db.run(lambda conn: db.search_partners(conn, text, only=ctx.viewer.only_partner, limit=limit))
    for r in rows:
        ctx.loaders.partner.prime(r.partner_id, r)
    return rows
