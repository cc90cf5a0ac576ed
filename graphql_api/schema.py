"""The Strawberry schema with its limits and extensions, and the SDL export (``schema.graphql``)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxTokensLimiter, ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import ExecutionContext

from graphql_api.config import ApiSettings
from graphql_api.errors import MaskUnexpectedErrors, log_errors
from graphql_api.limits import AliasesLimiter, DepthLimiter
from graphql_api.perf import LeafExecutionContext, fast_resolvers
from graphql_api.types.query import Query
from graphql_api.types.scalars import SCALAR_MAP

SDL_PATH = Path(__file__).resolve().parent / "schema.graphql"


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
