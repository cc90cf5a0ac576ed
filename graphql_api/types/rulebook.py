"""``RulebookVersion`` and its parts: the rules each version holds, as the scoring reads them."""

import datetime as dt

import strawberry

from graphql_api.enums import Metric
from graphql_api.types.scalars import Month
from scoring.rulebook import WORKLOAD_METRICS, Rulebook


@strawberry.type(description="The workloads that count for one metric under a rulebook version.")
class MetricWorkloads:
    metric: Metric
    workloads: list[str] = strawberry.field(description="Their names as this version writes them, in its order.")


@strawberry.type(description="A renamed workload: input data may use either name, in every version.")
class WorkloadRename:
    old_name: str
    new_name: str


@strawberry.type(description="A certification that counts under a rulebook version.")
class RulebookCertification:
    name: str
    level: str = strawberry.field(description="INTERMEDIATE or ADVANCED.")
    aliases: list[str] = strawberry.field(description="Other names it is recorded under.")
    counts_through: dt.date | None = strawberry.field(
        description="The last day on which it counts (a month counts when its last day is on or before it); "
        "null: no such date."
    )


@strawberry.type(description="One version of the rules: what it counts, and from which month it is in force.")
class RulebookVersion:
    id: str
    effective_from: Month = strawberry.field(description="The first month scored under this version.")
    effective_from_approximate: bool = strawberry.field(
        description="True when the source gives no date and the month is this project's choice."
    )
    source: str
    min_total_points: float
    workloads: list[MetricWorkloads] = strawberry.field(
        description="Per metric that counts workloads: net customer adds, usage growth, deployments."
    )
    workload_renames: list[WorkloadRename]
    certifications: list[RulebookCertification]
    removed_certifications: list[str] = strawberry.field(
        description="Certifications an earlier version counted that this one does not."
    )
    keeps_promoted_smb_tenants: bool = strawberry.field(
        description="A tenant grown past the SMB seats stays SMB-eligible when it was SMB a year before."
    )

    @classmethod
    def of(cls, book: Rulebook) -> "RulebookVersion":
        def certifications(level: str, names: tuple[str, ...]) -> list[RulebookCertification]:
            return [
                RulebookCertification(
                    name=name,
                    level=level,
                    aliases=[a for a, c in book.certification_aliases.items() if c == name],
                    counts_through=book.certification_counts_through.get(name),
                )
                for name in names
            ]

        return cls(
            id=book.id,
            effective_from=book.effective_from,  # type: ignore[arg-type]  # a Month is a date
            effective_from_approximate=book.effective_from_approximate,
            source=book.source,
            min_total_points=float(book.min_total_points),
            workloads=[MetricWorkloads(metric=Metric[m], workloads=list(book.workloads[m])) for m in WORKLOAD_METRICS],
            workload_renames=[WorkloadRename(old_name=o, new_name=n) for o, n in book.workload_renames.items()],
            certifications=certifications("INTERMEDIATE", book.intermediate_certifications)
            + certifications("ADVANCED", book.advanced_certifications),
            removed_certifications=list(book.removed_certifications),
            keeps_promoted_smb_tenants=any(t.keep_promoted for t in book.tracks),
        )
