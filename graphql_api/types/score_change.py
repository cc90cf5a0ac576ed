"""``ScoreChange``: why a partner's score moved from the month before to a month
(``Partner.scoreChange``), built from ``scoring.attribution.ScoreChange``."""

from __future__ import annotations

import strawberry

from graphql_api.enums import METRICS, OPTIONS, TRACKS, AssociationOption, CauseKind, CauseSide, Metric, Track
from graphql_api.types.scalars import Month
from scoring import attribution


@strawberry.type(
    description="One countable event: a tenant or person whose term of the measure changed, on one side of it. "
    "The changes of an option's causes add up exactly to measureAfter - measureBefore."
)
class ScoreCause:
    kind: CauseKind
    side: CauseSide
    change: int = strawberry.field(description="The change of the option's measure (in the metric's unit).")
    text: str = strawberry.field(description='One line, e.g. "tenant T1 reached 40% active under CPOR ...".')
    tenant_id: strawberry.ID | None
    person_id: strawberry.ID | None
    certification: str | None = strawberry.field(description="As written in the input (certification causes).")
    workload: str | None = strawberry.field(
        description="The one workload whose active users changed, when only one did (ACTIVE_USERS_CHANGED)."
    )

    @classmethod
    def from_cause(cls, c: attribution.Cause) -> ScoreCause:
        return cls(
            kind=CauseKind[c.kind.value],
            side=CauseSide[c.side.value],
            change=c.change,
            text=c.text,
            tenant_id=strawberry.ID(c.tenant_id) if c.tenant_id is not None else None,
            person_id=strawberry.ID(c.person_id) if c.person_id is not None else None,
            certification=c.certification,
            workload=c.workload,
        )


@strawberry.type(description="One option of a metric in both months, and every cause of its change.")
class ScoreChangeOption:
    option: AssociationOption
    measure_before: int
    measure_after: int
    points_before: float
    points_after: float
    winner_before: bool = strawberry.field(description="The option gave the metric its points in the month before.")
    winner_after: bool
    causes: list[ScoreCause] = strawberry.field(description="Sides MONTH, YEAR_AGO, AT_ASSOCIATION; largest first.")


@strawberry.type(description="One metric of a path in both months.")
class ScoreChangeMetric:
    metric: Metric
    unit: str = strawberry.field(
        description='One unit of the measure: "customer", "person", "active_user", "deployment".'
    )
    points_before: float
    points_after: float
    options: list[ScoreChangeOption]


@strawberry.type(description="One path in both months.")
class ScoreChangeTrack:
    track: Track
    total_before: float
    total_after: float
    qualifies_before: bool
    qualifies_after: bool
    metrics: list[ScoreChangeMetric]


@strawberry.type(
    description="Why the score moved from previousMonth to month: per path, metric and option the measures and "
    "points of both months (as stored) and the causes of the change."
)
class ScoreChange:
    month: Month
    previous_month: Month
    rulebook_id_before: str = strawberry.field(description="The rulebook version that scored previousMonth.")
    rulebook_id_after: str = strawberry.field(description="The rulebook version that scored month.")
    score_before: float
    score_after: float
    attained_before: bool
    attained_after: bool
    best_track_before: Track
    best_track_after: Track
    tracks: list[ScoreChangeTrack] = strawberry.field(description="ENTERPRISE then SMB.")

    @classmethod
    def from_change(cls, ch: attribution.ScoreChange) -> ScoreChange:
        return cls(
            month=Month(ch.month),
            previous_month=Month(ch.previous_month),
            rulebook_id_before=ch.rulebook_before,
            rulebook_id_after=ch.rulebook_after,
            score_before=ch.score_before,
            score_after=ch.score_after,
            attained_before=ch.attained_before,
            attained_after=ch.attained_after,
            best_track_before=TRACKS[ch.best_track_before],
            best_track_after=TRACKS[ch.best_track_after],
            tracks=[
                ScoreChangeTrack(
                    track=TRACKS[t.track],
                    total_before=t.total_before,
                    total_after=t.total_after,
                    qualifies_before=t.qualifies_before,
                    qualifies_after=t.qualifies_after,
                    metrics=[
                        ScoreChangeMetric(
                            metric=METRICS[m.metric],
                            unit=m.unit,
                            points_before=m.points_before,
                            points_after=m.points_after,
                            options=[
                                ScoreChangeOption(
                                    option=OPTIONS[o.option],
                                    measure_before=o.measure_before,
                                    measure_after=o.measure_after,
                                    points_before=o.points_before,
                                    points_after=o.points_after,
                                    winner_before=o.winner_before,
                                    winner_after=o.winner_after,
                                    causes=[ScoreCause.from_cause(c) for c in o.causes],
                                )
                                for o in m.options
                            ],
                        )
                        for m in t.metrics
                    ],
                )
                for t in ch.tracks
            ],
        )
