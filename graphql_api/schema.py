"""The Strawberry schema, its limits, and the SDL export (``schema.graphql`` beside this file).

Limits (each a class or factory, so every request gets its own extension instance):
query depth, aliases, tokens per document; no suggestions in error messages; unexpected errors
masked (``UserError`` messages and graphql-core's own validation errors pass through). Parsing
and validation are cached per document text (``ParserCache``, ``ValidationCache``). Plain
attribute fields skip Strawberry's resolver wrapper, and plain scalar/enum ones graphql-core's
per-field work too (``fast_resolvers``, ``LeafExecutionContext``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import strawberry
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLObjectType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    ValidationContext,
    ValidationRule,
    get_nullable_type,
    is_leaf_type,
    is_non_null_type,
)
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types import ExecutionContext
from strawberry.types.field import StrawberryField

from graphql_api.config import ApiSettings
from graphql_api.errors import MaskUnexpectedErrors, log_errors
from graphql_api.types.query import Query
from graphql_api.types.scalars import SCALAR_MAP

SDL_PATH = Path(__file__).resolve().parent / "schema.graphql"


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
    """``QueryDepthLimiter`` (a new instance per request) whose validation rule class is made
    once per limit: the stock one makes a new rule class per instance, which gives every
    request a different rule tuple and so defeats ``ValidationCache``. The rule classes are
    stateless (graphql-core instantiates them per validation), so sharing them is safe."""

    def __init__(self, max_depth: int) -> None:
        AddValidationRules.__init__(self, [_depth_rule(max_depth)])


class AliasesLimiter(MaxAliasesLimiter):
    """``MaxAliasesLimiter`` with its rule class made once per limit (see ``DepthLimiter``)."""

    def __init__(self, max_alias_count: int) -> None:
        AddValidationRules.__init__(self, [_alias_rule(max_alias_count)])


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        for error in errors:  # no suggestions at all: fields (Strawberry's option), enum values, arguments
            if error.path is None and isinstance(error.original_error, ValueError):
                # graphql-core could not read a literal (int() refuses an Int of 5,000 digits): the
                # request's mistake, said without Python's message
                error.message = error.message.split(", found ")[0] + "."
                error.original_error = None
            if error.original_error is None and "Did you mean" in error.message:
                error.message = error.message.split(" Did you mean")[0].strip()
        log_errors(errors)


def build_schema(settings: ApiSettings | None = None, *, leaf_execution: bool = True) -> strawberry.Schema:
    """The schema; ``leaf_execution=False``: graphql-core's stock execution for every field
    (tests compare the two)."""
    max_depth = settings.max_depth if settings else ApiSettings.max_depth
    alias_limit = settings.max_aliases if settings else ApiSettings.max_aliases
    max_tokens = settings.max_tokens if settings else ApiSettings.max_tokens
    built = Schema(
        query=Query,
        config=StrawberryConfig(disable_field_suggestions=True, scalar_map=SCALAR_MAP),
        execution_context_class=LeafExecutionContext if leaf_execution else StrawberryGraphQLCoreExecutionContext,
        extensions=[
            partial(MaxTokensLimiter, max_token_count=max_tokens),
            partial(ParserCache, maxsize=256),  # parse_options (max tokens) are part of its key
            partial(DepthLimiter, max_depth=max_depth),
            partial(AliasesLimiter, max_alias_count=alias_limit),
            partial(ValidationCache, maxsize=256),  # keyed by (schema, document, rules)
            MaskUnexpectedErrors,
        ],
    )
    fast_resolvers(built)
    return built


def _getter(attr: str) -> Callable[[object, object], object]:
    def resolve(source: object, info: object) -> object:
        return getattr(source, attr)

    return resolve


# set on a GraphQLField by fast_resolvers: (attribute, the leaf type's serialize, non-null)
LEAF = "_pcs_leaf"


def _serializer(leaf: Any) -> Callable[[Any], Any]:
    """The leaf type's serialize; for a Strawberry enum, a dict lookup member -> name (its own
    serialize compares the value with each of the enum's values in turn). A value that is not a
    member gives None, which sends the field to graphql-core's own way."""
    wrapped = getattr(leaf, "wrapped_cls", None)
    if isinstance(leaf, GraphQLEnumType) and wrapped is not None:
        names = {}
        for member in wrapped:
            for name, value in leaf.values.items():
                if member.value == value.value:
                    names[member] = name
                    break
        return names.get
    return leaf.serialize


def fast_resolvers(built: strawberry.Schema) -> int:
    """Resolve plain attribute fields (no resolver, no extension, no permission) with a bare
    ``getattr`` instead of Strawberry's per-field wrapper. Same values (Strawberry's own basic
    resolver is ``getattr(source, python_name)``), less work: a 100-scorecard page resolves
    ~12,000 such fields. Those without arguments whose type is a scalar or an enum are also
    marked for ``LeafExecutionContext``. Returns how many fields it changed."""
    changed = 0
    for name, gql_type in built._schema.type_map.items():
        if name.startswith("__") or not isinstance(gql_type, GraphQLObjectType):
            continue
        for gql_field in gql_type.fields.values():
            field = (gql_field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if isinstance(field, StrawberryField) and field.is_basic_field and not field.permission_classes:
                gql_field.resolve = _getter(field.python_name)
                leaf = get_nullable_type(gql_field.type)
                if not gql_field.args and is_leaf_type(leaf):
                    setattr(gql_field, LEAF, (field.python_name, _serializer(leaf), is_non_null_type(gql_field.type)))
                changed += 1
    return changed


class LeafExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution with a short way for the plain leaf fields ``fast_resolvers``
    marked (an attribute holding a scalar or an enum, no arguments): read the attribute and
    serialize it, without the resolve info, argument coercion, awaitable checks and completion
    graphql-core spends on every field (~3/4 of the server time of a 100-scorecard page is
    graphql-core's, most of its fields such leaves). Anything unusual (a null for a non-null
    field, a value that does not serialize, an exception, a field middleware) takes
    graphql-core's own way, which gives the same value or the same error as without this."""

    def execute_field(self, parent_type: Any, source: Any, field_nodes: list, path: Any) -> Any:
        field_def = parent_type.fields.get(field_nodes[0].name.value)
        leaf = getattr(field_def, LEAF, None) if field_def is not None else None
        middleware = self.middleware_manager
        if leaf is not None and (middleware is None or not middleware.middlewares):
            attr, serialize, non_null = leaf
            try:
                value = getattr(source, attr)
                if value is None:
                    if not non_null:
                        return None
                else:
                    result = serialize(value)
                    if result is not None and result is not Undefined:
                        return result
            except Exception:
                pass
        return super().execute_field(parent_type, source, field_nodes, path)


schema = build_schema()


def sdl() -> str:
    return schema.as_str().rstrip() + "\n"


def export_sdl(path: str | Path = SDL_PATH) -> Path:
    """Write the schema's SDL to ``path`` (default ``graphql_api/schema.graphql``)."""
    path = Path(path)
    path.write_text(sdl(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(export_sdl())
