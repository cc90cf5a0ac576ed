"""The Strawberry schema, its limits, and the SDL export (``schema.graphql`` beside this file).

Limits (each a class or factory, so every request gets its own extension instance):
query depth, aliases, tokens per document; no suggestions in error messages; unexpected errors
masked (``UserError`` messages and graphql-core's own validation errors pass through). Parsing
and validation are cached per document text (``ParserCache``, ``ValidationCache``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import partial
from pathlib import Path

import strawberry
from graphql import GraphQLError, GraphQLObjectType
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
    max_aliases,
    query_depth_limiter,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types import ExecutionContext
from strawberry.types.field import StrawberryField

from graphql_api.config import ApiSettings
from graphql_api.errors import MaskUnexpectedErrors, log_errors
from graphql_api.types.query import Query
from graphql_api.types.scalars import SCALAR_MAP

SDL_PATH = Path(__file__).resolve().parent / "schema.graphql"


@functools.cache
def _depth_rule(max_depth: int) -> type:
    return query_depth_limiter.create_validator(max_depth, None, None)


@functools.cache
def _alias_rule(limit: int) -> type:
    return max_aliases.create_validator(limit)


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
            if error.original_error is None and "Did you mean" in error.message:
                error.message = error.message.split(" Did you mean")[0].strip()
        log_errors(errors)


def build_schema(settings: ApiSettings | None = None) -> strawberry.Schema:
    max_depth = settings.max_depth if settings else ApiSettings.max_depth
    alias_limit = settings.max_aliases if settings else ApiSettings.max_aliases
    max_tokens = settings.max_tokens if settings else ApiSettings.max_tokens
    built = Schema(
        query=Query,
        config=StrawberryConfig(disable_field_suggestions=True, scalar_map=SCALAR_MAP),
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


def fast_resolvers(built: strawberry.Schema) -> int:
    """Resolve plain attribute fields (no resolver, no extension, no permission) with a bare
    ``getattr`` instead of Strawberry's per-field wrapper. Same values (Strawberry's own basic
    resolver is ``getattr(source, python_name)``), less work: a 100-scorecard page resolves
    ~12,000 such fields. Returns how many fields it changed."""
    changed = 0
    for name, gql_type in built._schema.type_map.items():
        if name.startswith("__") or not isinstance(gql_type, GraphQLObjectType):
            continue
        for gql_field in gql_type.fields.values():
            field = (gql_field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if isinstance(field, StrawberryField) and field.is_basic_field and not field.permission_classes:
                gql_field.resolve = _getter(field.python_name)
                changed += 1
    return changed


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
