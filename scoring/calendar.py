"""Calendar months: parsing ``YYYY-MM``, formatting, arithmetic and month ends.

A month is a ``datetime.date`` on its first day; every module of pcs uses these helpers.
"""

from __future__ import annotations

import datetime as dt
import re

MONTH_PATTERN = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


def parse_month(text: str, *, what: str = "month") -> dt.date:
    """``"YYYY-MM"`` (or a ``"YYYY-MM-01"`` partition key) -> the month's first day.

    Raises ``ValueError`` naming ``what`` when the text is anything else.
    """
    value = text.strip() if isinstance(text, str) else text
    if isinstance(value, str) and len(value) == 10 and value.endswith("-01"):
        value = value[:7]
    match = MONTH_PATTERN.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{what} must be YYYY-MM (e.g. 2024-06), not {text!r}")
    return dt.date(int(match[1]), int(match[2]), 1)


def format_month(month: dt.date) -> str:
    """``date(2024, 6, 1)`` -> ``"2024-06"``."""
    return f"{month.year:04d}-{month.month:02d}"


def month_start(day: dt.date) -> dt.date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


def add_months(day: dt.date, n: int) -> dt.date:
    """The first day of the month ``n`` months after ``day``'s (``n`` may be negative)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + n, 12)
    return dt.date(year, month0 + 1, 1)


def month_end(day: dt.date) -> dt.date:
    """The last day of ``day``'s month."""
    return add_months(month_start(day), 1) - dt.timedelta(days=1)


def month_range(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every month from ``first``'s to ``last``'s, both included (empty when ``last`` is earlier)."""
    months, month = [], month_start(first)
    while month <= month_start(last):
        months.append(month)
        month = add_months(month, 1)
    return months
