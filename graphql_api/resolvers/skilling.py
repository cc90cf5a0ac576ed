"""The skilling report: persons are not in the results database, so it reads the certifications
file (the pipeline's validated reader) and applies the month's rulebook: its levels, the skilling
rule (active at month end E: ``earned_on <= E`` and no ``expires_on`` or ``expires_on > E``) and
a certification's counts-through date D (counts only while ``E <= D``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

import polars as pl

from graphql_api.context import Context
from graphql_api.errors import UserError
from scoring.calendar import month_end
from scoring.engine import certification_active
from scoring.frames import InputError
from scoring.rulebook import RulebookError, fold

log = logging.getLogger("graphql_api")


@dataclass(frozen=True)
class HeldCertification:
    name: str
    level: str | None  # None: not an eligible certification
    earned_on: dt.date
    expires_on: dt.date | None
    active: bool
    counts_through: dt.date | None  # the last day it counts under the month's rulebook
    reason: str | None  # why it does not count this month; None: it counts

    @property
    def counts(self) -> bool:
        return self.reason is None


def not_counting_reason(
    *, level: str | None, removed: bool, active: bool, counts_through: dt.date | None, end: dt.date
) -> str | None:
    """Why a held certification does not count at month end ``end`` (None: it counts)."""
    if removed:
        return "REMOVED"  # an earlier version counted it; the month's version does not
    if level is None:
        return "NOT_ELIGIBLE"
    if not active:
        return "EXPIRED"
    if counts_through is not None and end > counts_through:
        return "PAST_COUNTS_THROUGH"
    return None


@dataclass(frozen=True)
class Person:
    person_id: str
    counts_intermediate: bool
    counts_advanced: bool
    certifications: list[HeldCertification]  # by date earned, then name


def build_report(ctx: Context, partner_id: str, month: dt.date) -> list[Person]:
    """Every person with a certification earned by the month's end, by person id."""
    try:
        if not ctx.services.certifications.data_dir.is_dir():
            raise OSError(f"data folder {ctx.services.certifications.data_dir} does not exist")
        frame = ctx.services.certifications.for_partner(partner_id)
        book = ctx.services.rulebooks.for_month(month)
    except (InputError, RulebookError, OSError) as exc:
        log.error("skilling report unavailable: %s", exc)
        raise UserError(
            "The skilling report is unavailable: the certifications data cannot be read.", code="DATA_UNAVAILABLE"
        ) from None
    levels, deadlines = book.certification_levels, book.certification_deadlines
    removed = {fold(c) for c in book.removed_certifications}
    end = month_end(month)
    persons: dict[str, list[HeldCertification]] = {}
    earned_by_then = frame.filter(pl.col("earned_on") <= end).with_columns(certification_active(end).alias("active"))
    for person, name, earned, expires, active in earned_by_then.select(
        "person_id", "certification", "earned_on", "expires_on", "active"
    ).iter_rows():
        key = fold(name)
        level, through = levels.get(key) or None, deadlines.get(key)
        reason = not_counting_reason(
            level=level, removed=key in removed, active=active, counts_through=through, end=end
        )
        persons.setdefault(person, []).append(HeldCertification(name, level, earned, expires, active, through, reason))
    out = []
    for person in sorted(persons):
        certs = sorted(persons[person], key=lambda c: (c.earned_on, c.name))
        counted_levels = {c.level for c in certs if c.counts}
        out.append(Person(person, "INTERMEDIATE" in counted_levels, "ADVANCED" in counted_levels, certs))
    return out


async def skilling(ctx: Context, partner_id: str, month: dt.date) -> list[Person]:
    ctx.uncacheable()  # reads the certifications file, which the cache's version does not cover
    return await asyncio.to_thread(build_report, ctx, partner_id, month)
