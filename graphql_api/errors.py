"""Errors the API shows to its users, and the rule for masking all the others."""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

log = logging.getLogger("graphql_api")


class UserError(Exception):
    """A mistake in the request (bad month, bad cursor, page too large, ...).

    Its message is written for the API's user and is never masked; every other exception
    raised while executing a query is masked as "Unexpected error." (and logged).
    """

    def __init__(self, message: str, code: str = "BAD_USER_INPUT") -> None:
        super().__init__(message)
        self.extensions = {"code": code}


def is_public(error: GraphQLError) -> bool:
    """Errors that may be shown as they are.

    graphql-core's own errors (syntax, validation, limits, variable coercion) have no original
    error; ``UserError`` is ours. Anything else came out of our code or a library: masked.
    """
    original = error.original_error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    return original is None or isinstance(original, (UserError, GraphQLError))


class MaskUnexpectedErrors(MaskErrors):
    """``MaskErrors`` keeping the public errors (``is_public``) and masking the rest."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda e: not is_public(e))


def log_errors(errors: list[GraphQLError]) -> None:
    """Server-side log of a result's errors (before masking): tracebacks for unexpected ones
    only; a user's mistakes are not the server's errors."""
    for error in errors:
        if is_public(error):
            log.debug("request error: %s", error.message)
        else:
            log.error(
                "unexpected error at %s: %r",
                ".".join(map(str, error.path or ())) or "-",
                error.original_error,
                exc_info=error.original_error,
            )
