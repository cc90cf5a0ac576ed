"""Depth and alias limits as graphql-core validation rules made once per limit, so
``ValidationCache`` works and each fragment is measured once (docs/architecture.md, "Limits")."""

from __future__ import annotations

import functools

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import AddValidationRules, MaxAliasesLimiter, QueryDepthLimiter


def _measure(selections: SelectionSetNode, fragments: dict, memo: dict, active: set) -> tuple[int, int]:
    """(depth, aliases) of a selection set: depth as Strawberry's depth limiter counts it (fields
    below the top level; introspection fields not counted), aliases as its alias limiter counts
    them (with every spread of a fragment), but each fragment measured once: Strawberry's rules
    re-walk a fragment at every spread, exponential in fragments that spread fragments."""
    depth = aliases = 0
    for sel in selections.selections:
        if isinstance(sel, FieldNode):
            aliases += sel.alias is not None
            if sel.selection_set is not None:
                d, a = _measure(sel.selection_set, fragments, memo, active)
                aliases += a
                if not sel.name.value.startswith("__"):
                    depth = max(depth, d + 1)
        elif isinstance(sel, InlineFragmentNode):
            d, a = _measure(sel.selection_set, fragments, memo, active)
            depth, aliases = max(depth, d), aliases + a
        elif isinstance(sel, FragmentSpreadNode):
            name = sel.name.value
            if name in active or name not in fragments:  # cycles and unknown names: other rules say so
                continue
            if name not in memo:
                active.add(name)
                memo[name] = _measure(fragments[name].selection_set, fragments, memo, active)
                active.discard(name)
            d, a = memo[name]
            depth, aliases = max(depth, d), aliases + a
    return depth, aliases


def _measure_document(context: ValidationContext) -> list[tuple[str, OperationDefinitionNode, int, int]]:
    definitions = context.document.definitions
    fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
    memo: dict = {}
    return [
        (d.name.value if d.name else "anonymous", d, *_measure(d.selection_set, fragments, memo, set()))
        for d in definitions
        if isinstance(d, OperationDefinitionNode)
    ]


@functools.cache
def _depth_rule(max_depth: int) -> type:
    class DepthRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            for name, node, depth, _ in _measure_document(context):
                if depth > max_depth:
                    context.report_error(GraphQLError(f"'{name}' exceeds maximum operation depth of {max_depth}", node))

    return DepthRule


@functools.cache
def _alias_rule(limit: int) -> type:
    class AliasRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            total = sum(aliases for *_, aliases in _measure_document(context))
            if total > limit:
                context.report_error(GraphQLError(f"{total} aliases found. Allowed: {limit}"))

    return AliasRule


class DepthLimiter(QueryDepthLimiter):
    """``QueryDepthLimiter`` (a new instance per request) whose stateless rule class is made once
    per limit, so ``ValidationCache`` keeps working."""

    def __init__(self, max_depth: int) -> None:
        AddValidationRules.__init__(self, [_depth_rule(max_depth)])


class AliasesLimiter(MaxAliasesLimiter):
    """``MaxAliasesLimiter`` with its rule class made once per limit (see ``DepthLimiter``)."""

    def __init__(self, max_alias_count: int) -> None:
        AddValidationRules.__init__(self, [_alias_rule(max_alias_count)])
