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


@strawberry.enum(
    description="What happened to one tenant or person between the month before and the month "
    "(Partner.scoreChange); YEAR_AGO_* act on the year-ago month the metric subtracts."
)
class CauseKind(enum.Enum):
    CUSTOMER_GAINED = "CUSTOMER_GAINED"  # counted in the month, not in the month before
    CUSTOMER_LOST = "CUSTOMER_LOST"  # counted in the month before, not in the month
    ACTIVE_USERS_CHANGED = "ACTIVE_USERS_CHANGED"  # counted in both, other active users
    DEPLOYMENT_REACHED = "DEPLOYMENT_REACHED"  # deployed (40% active) in the month, not before
    DEPLOYMENT_LOST = "DEPLOYMENT_LOST"  # deployed before, not in the month
    YEAR_AGO_CUSTOMER_ADDED = "YEAR_AGO_CUSTOMER_ADDED"  # the year-ago month now includes the customer
    YEAR_AGO_CUSTOMER_DROPPED = "YEAR_AGO_CUSTOMER_DROPPED"  # the year-ago month no longer includes it
    YEAR_AGO_ACTIVE_USERS_CHANGED = "YEAR_AGO_ACTIVE_USERS_CHANGED"  # in both year-ago months, other users
    YEAR_AGO_DEPLOYMENT_ADDED = "YEAR_AGO_DEPLOYMENT_ADDED"  # deployed in the year-ago month, not the one before
    YEAR_AGO_DEPLOYMENT_DROPPED = "YEAR_AGO_DEPLOYMENT_DROPPED"  # deployed in the one before, not the year-ago month
    BASELINE_ADDED = "BASELINE_ADDED"  # users at association now subtracted (a new association)
    BASELINE_DROPPED = "BASELINE_DROPPED"  # users at association no longer subtracted
    BASELINE_CHANGED = "BASELINE_CHANGED"  # users at association subtracted in both, other users
    DEPLOYMENT_EXCLUDED = "DEPLOYMENT_EXCLUDED"  # already deployed when associated: not counted
    EXCLUSION_ENDED = "EXCLUSION_ENDED"  # excluded before, not in the month
    CERTIFICATION_EARNED = "CERTIFICATION_EARNED"  # a person counts from the month on
    CERTIFICATION_EXPIRED = "CERTIFICATION_EXPIRED"  # a person's counting certification expired
    CERTIFICATION_RETIRED = "CERTIFICATION_RETIRED"  # past its counts-through date
    RULEBOOK_CHANGED = "RULEBOOK_CHANGED"  # the month before counts differently under the month's rulebook version


@strawberry.enum(description="The term of a measure a cause acts on.")
class CauseSide(enum.Enum):
    MONTH = "MONTH"  # the month itself
    YEAR_AGO = "YEAR_AGO"  # the same month a year earlier, which the metric subtracts
    AT_ASSOCIATION = "AT_ASSOCIATION"  # users or deployments a customer had when associated (subtracted)
