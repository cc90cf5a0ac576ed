"""The skilling report: persons are not in the results database, so it reads the certifications
file (the pipeline's validated reader) and applies the rulebook's levels and the skilling rule:
active at month end M when ``earned_on <= M`` and (no ``expires_on`` or ``expires_on > M``)."""

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
        levels = ctx.services.rulebooks.for_month(month).certification_levels
    except (InputError, RulebookError, OSError) as exc:
        log.error("skilling report unavailable: %s", exc)
        raise UserError(
            "The skilling report is unavailable: the certifications data cannot be read.", code="DATA_UNAVAILABLE"
        ) from None
    end = month_end(month)
    persons: dict[str, list[HeldCertification]] = {}
    earned_by_then = frame.filter(pl.col("earned_on") <= end).with_columns(certification_active(end).alias("active"))
    for person, name, earned, expires, active in earned_by_then.select(
        "person_id", "certification", "earned_on", "expires_on", "active"
    ).iter_rows():
        level = levels.get(fold(name)) or None
        persons.setdefault(person, []).append(HeldCertification(name, level, earned, expires, active))
    out = []
    for person in sorted(persons):
        certs = sorted(persons[person], key=lambda c: (c.earned_on, c.name))
        active_levels = {c.level for c in certs if c.active and c.level is not None}
        out.append(Person(person, "INTERMEDIATE" in active_levels, "ADVANCED" in active_levels, certs))
    return out


async def skilling(ctx: Context, partner_id: str, month: dt.date) -> list[Person]:
    ctx.uncacheable()  # reads the certifications file, which the cache's version does not cover
    return await asyncio.to_thread(build_report, ctx, partner_id, month)
