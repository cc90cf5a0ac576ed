"""Opaque cursors and page-size checks for the Relay-style connections (keyset pagination)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from strawberry.types.unset import UNSET

from graphql_api.errors import UserError
from graphql_api.types.page_info import PageInfo


def encode_cursor(kind: str, *values: Any) -> str:
    raw = json.dumps([kind, *values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: str, types: tuple[type, ...]) -> list[Any] | None:
    """The values of a cursor made by ``encode_cursor(kind, ...)`` (None for no cursor)."""
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


def page_info(edges: list, has_next: bool, after: str | None) -> PageInfo:
    """Forward pagination: hasPreviousPage is true when the page was asked for with ``after``."""
    return PageInfo(
        has_next_page=has_next,
        has_previous_page=after is not None,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
