"""The enums of the schema, shared by the loaders, resolvers and types: their order is the order
lists are served in."""

from __future__ import annotations

import enum

import strawberry


@strawberry.enum(description="An attainment path; paths are listed ENTERPRISE then SMB.")
class Track(enum.Enum):
    ENTERPRISE = "ENTERPRISE"
    SMB = "SMB"


@strawberry.enum(description="The five metrics of a path, in the order they are listed.")
class Metric(enum.Enum):
    NET_CUSTOMER_ADDS = "NET_CUSTOMER_ADDS"
    INTERMEDIATE_CERTIFICATIONS = "INTERMEDIATE_CERTIFICATIONS"
    ADVANCED_CERTIFICATIONS = "ADVANCED_CERTIFICATIONS"
    USAGE_GROWTH = "USAGE_GROWTH"
    DEPLOYMENTS = "DEPLOYMENTS"


@strawberry.enum(
    description="How a partner is associated with a customer. ALL: a metric that is not split by association."
)
class AssociationOption(enum.Enum):
    CPOR = "CPOR"
    DPOR = "DPOR"
    CSP = "CSP"
    ALL = "ALL"


@strawberry.enum(description="The level of a certification in the skilling metrics.")
class CertificationLevel(enum.Enum):
    INTERMEDIATE = "INTERMEDIATE"
    ADVANCED = "ADVANCED"


@strawberry.enum(description="Why a held certification does not count in a month.")
class NotCountingReason(enum.Enum):
    NOT_ELIGIBLE = "NOT_ELIGIBLE"  # not in the month's rulebook lists
    REMOVED = "REMOVED"  # listed by an earlier rulebook version, removed from the month's version
    EXPIRED = "EXPIRED"  # not active at the month's end
    PAST_COUNTS_THROUGH = "PAST_COUNTS_THROUGH"  # the month ends after its counts-through date


TRACK_ORDER = {t.value: i for i, t in enumerate(Track)}
METRIC_ORDER = {m.value: i for i, m in enumerate(Metric)}
OPTION_ORDER = {o.value: i for i, o in enumerate(AssociationOption)}


class _Members(dict):
    """value -> enum member, by a dict lookup (an enum's call costs ~20x more; a page of
    scorecards makes thousands); unknown values go to the enum itself (its error)."""

    def __init__(self, enum: type[enum.Enum]) -> None:
        super().__init__((m.value, m) for m in enum)
        self.enum = enum

    def __missing__(self, value: object) -> object:
        return self.enum(value)


TRACKS, METRICS, OPTIONS = _Members(Track), _Members(Metric), _Members(AssociationOption)


@strawberry.enum(description="Why a counted certification stops counting.")
class StopReason(enum.Enum):
    EXPIRES = "EXPIRES"  # its expiry date
    RETIRES = "RETIRES"  # the rulebook version's counts-through date passes
