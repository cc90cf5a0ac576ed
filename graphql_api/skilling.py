"""The skilling report: persons are not in the results database, so the report reads the
certifications file (the pipeline's validated reader) and applies the rulebook's levels and the
rule of the skilling metrics: a certification is active at month end M when
``earned_on <= M`` and (``expires_on`` is empty or ``expires_on > M``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import polars as pl
import strawberry

from graphql_api.context import Context
from graphql_api.errors import UserError
from graphql_api.types.enums import CertificationLevel
from graphql_api.types.skilling import Certification, CertifiedPerson, SkillingReport
from scoring.calendar import month_end
from scoring.engine import certification_active
from scoring.frames import InputError
from scoring.rulebook import RulebookError, fold

log = logging.getLogger("graphql_api")


def build_report(ctx: Context, partner_id: str, month: dt.date) -> SkillingReport:
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
    persons: dict[str, list[Certification]] = {}
    earned_by_then = frame.filter(pl.col("earned_on") <= end).with_columns(certification_active(end).alias("active"))
    for person, name, earned, expires, active in earned_by_then.select(
        "person_id", "certification", "earned_on", "expires_on", "active"
    ).iter_rows():
        level = levels.get(fold(name))
        persons.setdefault(person, []).append(
            Certification(
                name=name,
                level=CertificationLevel(level) if level else None,
                earned_on=earned,
                expires_on=expires,
                active=active,
            )
        )
    out = []
    for person in sorted(persons):
        certs = sorted(persons[person], key=lambda c: (c.earned_on, c.name))
        active = {c.level for c in certs if c.active and c.level is not None}
        out.append(
            CertifiedPerson(
                person_id=strawberry.ID(person),
                counts_intermediate=CertificationLevel.INTERMEDIATE in active,
                counts_advanced=CertificationLevel.ADVANCED in active,
                certifications=certs,
            )
        )
    return SkillingReport(
        month=month,
        intermediate_persons=sum(p.counts_intermediate for p in out),
        advanced_persons=sum(p.counts_advanced for p in out),
        persons=out,
    )


async def skilling_report(ctx: Context, partner_id: str, month: dt.date) -> SkillingReport:
    ctx.uncacheable()  # reads the certifications file, which the cache's version does not cover
    return await asyncio.to_thread(build_report, ctx, partner_id, month)
