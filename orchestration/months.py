"""Month ranges as the runs and the command line name them: spans (``2024-01..2024-03``), runs of
consecutive months, and the ``--from``/``--to`` argument check. No Dagster here, so ``pcs score``
can use it without importing Dagster."""

from __future__ import annotations

import datetime as dt

from scoring.calendar import add_months, month_range, parse_month


def chunks(months: list[dt.date]) -> list[list[dt.date]]:
    """The runs of consecutive months, in order (a gap starts a new one)."""
    out: list[list[dt.date]] = []
    for m in sorted(set(months)):
        if out and add_months(out[-1][-1], 1) == m:
            out[-1].append(m)
        else:
            out.append([m])
    return out


def span(months: list[dt.date]) -> str:
    """``2024-06`` or ``2024-01..2024-12``."""
    first, last = min(months), max(months)
    return f"{first:%Y-%m}" if first == last else f"{first:%Y-%m}..{last:%Y-%m}"


def spans(months: list[dt.date]) -> str:
    """Each run of consecutive ``months`` as a span: ``2024-01..2024-03, 2024-06``; ``none``."""
    return ", ".join(span(c) for c in chunks(months)) or "none"


def month_span(first: str, last: str | None, *, names: tuple[str, str] = ("from", "to")) -> list[dt.date]:
    """The months ``first``..``last`` (``YYYY-MM``; ``last`` defaults to ``first``); a malformed
    month or a reversed range raises ``ValueError`` naming the argument (``names``)."""
    start = parse_month(first, what=names[0])
    end = parse_month(last, what=names[1]) if last else start
    if end < start:
        raise ValueError(f"{names[1]} {end:%Y-%m} is before {names[0]} {start:%Y-%m}")
    return month_range(start, end)
