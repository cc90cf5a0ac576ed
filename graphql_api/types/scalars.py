"""``Month``: a calendar month, ``"YYYY-MM"``; a ``datetime.date`` on the 1st in Python."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import NewType

import strawberry

from graphql_api.errors import UserError

Month = NewType("Month", dt.date)

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


def parse_month(value: object) -> dt.date:
    """``"2024-06"`` -> ``date(2024, 6, 1)``; anything else raises a readable ``UserError``."""
    m = _MONTH.fullmatch(value) if isinstance(value, str) else None
    if m is None or not 1 <= int(m[2]) <= 12 or not 2 <= int(m[1]) <= 9998:  # M-12 .. M+1 are dates
        shown = (
            json.dumps(value) if isinstance(value, (str, int, float, bool)) or value is None else type(value).__name__
        )
        if len(shown) > 40:
            shown = shown[:37] + "..."
        raise UserError(f'Month must be a string "YYYY-MM" with a month 01-12 (e.g. "2024-06"), not {shown}.')
    return dt.date(int(m[1]), int(m[2]), 1)


def serialize_month(value: dt.date) -> str:
    return f"{value.year:04d}-{value.month:02d}"


MONTH_SCALAR = strawberry.scalar(
    name="Month",
    description='A calendar month, "YYYY-MM" (e.g. "2024-06").',
    serialize=serialize_month,
    parse_value=parse_month,
)

SCALAR_MAP = {Month: MONTH_SCALAR}
