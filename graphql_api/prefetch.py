"""Look-ahead loading: a resolver that returns scorecards loads their paths and metrics in bulk
right away when the query below it asks for them, and hangs them on the objects. The nested
``paths`` / ``metrics`` resolvers then answer synchronously, so graphql-core completes the whole
subtree without awaiting (a 100-scorecard page: 180 ms -> 95 ms of server time). Anything not
preloaded still goes through the DataLoaders: correct either way, and batched either way."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from graphql_api.types.scorecard import Scorecard

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


async def preload(info: strawberry.Info, cards: Sequence[Scorecard]) -> None:
    cards = [c for c in cards if c is not None and c.preloaded_paths is None]
    if not cards:
        return
    want_paths, want_metrics = wanted(info)
    if not want_paths:
        return
    loaders = info.context.loaders
    keys = [(str(c.partner_id), c.month) for c in cards]
    if want_metrics:  # both batches dispatched at once: no extra round of the event loop
        paths, metrics = await asyncio.gather(loaders.paths.load_many(keys), loaders.metrics.load_many(keys))
        for ps, by_track in zip(paths, metrics):
            for p in ps:
                p.preloaded_metrics = by_track.get(p.track.value, [])
    else:
        paths = await loaders.paths.load_many(keys)
    for card, ps in zip(cards, paths):
        card.preloaded_paths = ps
