"""Keyset pagination for the Relay-style connections: opaque cursors, page-size checks, and the
``Page`` a resolver returns (``types.connection.Connection.from_page`` makes the GraphQL type)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Container
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from strawberry.types.unset import UNSET

from graphql_api.errors import UserError

R = TypeVar("R")


def encode_cursor(kind: str, *values: Any) -> str:
    raw = json.dumps([kind, *values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(
    cursor: str | None, kind: str, types: tuple[type, ...], names: tuple[Container[str] | None, ...] = ()
) -> list[Any] | None:
    """The values of a cursor made by ``encode_cursor(kind, ...)`` (None for no cursor). ``names``:
    per value, the names it must be one of (None: any), for values stored as codes (a name
    outside the vocabulary cannot be bound: ``storage.models.Code``)."""
    if cursor is None:
        return None
    data = None
    if len(cursor) <= 512:
        try:
            data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            data = None
    if (
        not isinstance(data, list)
        or len(data) != len(types) + 1
        or data[0] != kind
        or any(isinstance(v, bool) or not isinstance(v, t) for v, t in zip(data[1:], types, strict=True))
        or any(isinstance(v, str) and "\x00" in v for v in data[1:])  # PostgreSQL text cannot hold NUL
        or any(known is not None and v not in known for v, known in zip(data[1:], names))
    ):
        raise UserError("Invalid cursor: use the cursor of an edge from the same list.")
    return data[1:]


def check_first(first: int | None, max_page_size: int) -> int:
    if first is None:
        return min(50, max_page_size)
    if first < 0 or first > max_page_size:
        raise UserError(f"first must be between 0 and {max_page_size}, not {first}.")
    return first


def given(value: Any) -> Any:
    """An optional argument's value: None when it was left out (``strawberry.UNSET``) or null."""
    return None if value is UNSET else value


async def _no_rows() -> int:
    return 0


@dataclass
class Page(Generic[R]):
    """One page of a list: ``(cursor, item)`` pairs, whether more follow, the ``after`` cursor it
    was asked for with (hasPreviousPage: forward pagination only), and the total's counter."""

    items: list[tuple[str, R]]
    has_next: bool
    after: str | None
    count: Callable[[], Awaitable[int]] = field(default=_no_rows)
