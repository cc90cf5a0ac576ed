"""The skilling report's types: certified persons and their certifications."""

import datetime as dt

import strawberry

from graphql_api.enums import CertificationLevel, NotCountingReason
from graphql_api.resolvers.skilling import HeldCertification, Person
from graphql_api.types.scalars import Month


@strawberry.type(description="A certification a person holds (as written in the input).")
class Certification:
    name: str
    level: CertificationLevel | None = strawberry.field(description="Null: not an eligible certification.")
    earned_on: dt.date
    expires_on: dt.date | None
    active: bool = strawberry.field(description="earnedOn <= month end and (no expiry or expiresOn > month end).")
    counts: bool = strawberry.field(description="It counts for its level this month (see notCountingReason).")
    counts_through: dt.date | None = strawberry.field(
        description="The last day it counts under the month's rulebook version (null: no such date)."
    )
    not_counting_reason: NotCountingReason | None = strawberry.field(
        description="Why it does not count this month; null when it counts."
    )

    @classmethod
    def from_held(cls, c: HeldCertification) -> "Certification":
        level = CertificationLevel(c.level) if c.level else None
        return cls(
            name=c.name,
            level=level,
            earned_on=c.earned_on,
            expires_on=c.expires_on,
            active=c.active,
            counts=c.counts,
            counts_through=c.counts_through,
            not_counting_reason=NotCountingReason(c.reason) if c.reason else None,
        )


@strawberry.type(description="A person of the partner and what they count for.")
class CertifiedPerson:
    person_id: strawberry.ID
    counts_intermediate: bool
    counts_advanced: bool
    certifications: list[Certification]

    @classmethod
    def from_person(cls, p: Person) -> "CertifiedPerson":
        return cls(
            person_id=strawberry.ID(p.person_id),
            counts_intermediate=p.counts_intermediate,
            counts_advanced=p.counts_advanced,
            certifications=[Certification.from_held(c) for c in p.certifications],
        )


@strawberry.type(
    description="Who counts for the skilling metrics in a month, from the certifications file "
    "(persons are not stored in the results database)."
)
class SkillingReport:
    month: Month
    intermediate_persons: int = strawberry.field(description="Persons with an intermediate certification that counts.")
    advanced_persons: int = strawberry.field(description="Persons with an advanced certification that counts.")
    persons: list[CertifiedPerson] = strawberry.field(
        description="Every person with a certification earned by the month's end (active or expired; eligible "
        "or not), by person id."
    )

    @classmethod
    def from_persons(cls, month: dt.date, persons: list[Person]) -> "SkillingReport":
        out = [CertifiedPerson.from_person(p) for p in persons]
        return cls(
            month=month,
            intermediate_persons=sum(p.counts_intermediate for p in out),
            advanced_persons=sum(p.counts_advanced for p in out),
            persons=out,
        )
