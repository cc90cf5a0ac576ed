"""Scorecards with their paths and metrics loaded ahead, in bulk, when the query below asks for
them: the nested fields then resolve without awaiting (docs/architecture.md, "Look-ahead")."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from graphql_api.context import Context
from graphql_api.records import MetricRows, PartnerMonth, PathRows, ScorecardRows

_PATHS = frozenset({"paths", "path"})
_METRICS = frozenset({"metrics", "metric"})


def _names(selections: Iterable) -> set[str]:
    """Every field name anywhere below (fragments included)."""
    out: set[str] = set()
    stack = list(selections)
    while stack:
        node = stack.pop()
        if isinstance(node, SelectedField):
            out.add(node.name)
        if isinstance(node, (SelectedField, FragmentSpread, InlineFragment)):
            stack.extend(node.selections)
    return out


def wanted(info: strawberry.Info) -> tuple[bool, bool]:
    """(paths, metrics): whether the current field's selection asks for them somewhere below."""
    names = _names(info.selected_fields)
    return bool(names & _PATHS), bool(names & _METRICS)


async def with_children(ctx: Context, info: strawberry.Info, rows: Sequence[Any]) -> list[ScorecardRows]:
    """``designation`` rows -> scorecards, with their paths (and metrics) when ``info`` asks for them."""
    cards = [ScorecardRows(r) for r in rows]
    if not cards:
        return cards
    want_paths, want_metrics = wanted(info)
    if not want_paths:
        return cards
    loaders = ctx.loaders
    keys = [(r.partner_id, r.month) for r in rows]
    if want_metrics:  # both batches dispatched at once: no extra round of the event loop
        paths, metrics = await asyncio.gather(loaders.paths.load_many(keys), loaders.metrics.load_many(keys))
        for card, ps, by_track in zip(cards, paths, metrics, strict=True):
            card.paths = [PathRows(p, by_track.get(p.track, [])) for p in ps]
    else:
        paths = await loaders.paths.load_many(keys)
        for card, ps in zip(cards, paths, strict=True):
            card.paths = [PathRows(p) for p in ps]
    return cards


async def paths(ctx: Context, key: PartnerMonth) -> list[PathRows]:
    """A scorecard's paths, ENTERPRISE then SMB (metrics loaded when asked for)."""
    return [PathRows(p) for p in await ctx.loaders.paths.load(key)]


async def metrics(ctx: Context, key: PartnerMonth, track: str) -> list[MetricRows]:
    """A path's metrics, in enum order."""
    by_track = await ctx.loaders.metrics.load(key)
    return by_track.get(track, [])


async def partner(ctx: Context, partner_id: str) -> Any:
    """A scorecard's partner row."""
    return await ctx.loaders.partner.load(partner_id)
