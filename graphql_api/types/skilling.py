import datetime as dt

import strawberry

from graphql_api.types.enums import CertificationLevel
from graphql_api.types.scalars import Month


@strawberry.type(description="A certification a person holds (as written in the input).")
class Certification:
    name: str
    level: CertificationLevel | None = strawberry.field(description="Null: not an eligible certification.")
    earned_on: dt.date
    expires_on: dt.date | None
    active: bool = strawberry.field(description="earnedOn <= month end and (no expiry or expiresOn > month end).")


@strawberry.type(description="A person of the partner and what they count for.")
class CertifiedPerson:
    person_id: strawberry.ID
    counts_intermediate: bool
    counts_advanced: bool
    certifications: list[Certification]


@strawberry.type(
    description="Who counts for the skilling metrics in a month, from the certifications file "
    "(persons are not stored in the results database)."
)
class SkillingReport:
    month: Month
    intermediate_persons: int = strawberry.field(description="Persons with an active intermediate certification.")
    advanced_persons: int = strawberry.field(description="Persons with an active advanced certification.")
    persons: list[CertifiedPerson] = strawberry.field(
        description="Every person with a certification earned by the month's end (active or expired; eligible "
        "or not), by person id."
    )
