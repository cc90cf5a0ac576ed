"""The materialization metadata of scored months, shared by the ``score_months`` asset and the
month-parallel job: what a run tallies as it writes months, and the metadata and checks built
from that tally."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import polars as pl

from orchestration.checks import input_valid, seats_check
from orchestration.months import span
from orchestration.specs import RESULT_ORDER
from orchestration.tables import markdown
from scoring.calendar import add_months
from scoring.scorecards import summary
from storage import results as store


@dataclass
class Tally:
    """What the metadata needs from the scored months (small: not the result frames)."""

    months: list[dt.date] = field(default_factory=list)  # written
    counts: Counter = field(default_factory=Counter)  # rows written per result table
    designations: list[pl.DataFrame] = field(default_factory=list)
    summaries: list[pl.DataFrame] = field(default_factory=list)
    qualifying: Counter = field(default_factory=Counter)
    tracks: list[str] = field(default_factory=list)
    partners: pl.DataFrame | None = None
    rulebooks: dict[dt.date, list[str]] = field(default_factory=dict)  # month -> the version(s) that scored it
    read_warnings: list[str] = field(default_factory=list)  # of every snapshot read
    snapshot_reads: int = 0
    read_score_s: float = 0.0
    write_s: float = 0.0

    def add(self, month: dt.date, result, partners: pl.DataFrame, counts, write_s: float) -> None:
        """A month scored (``result``) and written (``counts`` rows per table in ``write_s``)."""
        self.months.append(month)
        self.rulebooks[month] = result.designations["rulebook_id"].unique().sort().to_list()
        self.counts.update({n: counts[n] for n in store.RESULTS})
        self.designations.append(result.designations.select("month", "partner_id", "attained", "best_track", "score"))
        self.summaries.append(summary(result))
        self.qualifying.update(per_track(result.path_scores, "track", "qualifies"))
        for t in result.path_scores["track"].unique(maintain_order=True).to_list():
            if t not in self.tracks:
                self.tracks.append(t)
        self.partners = partners
        self.write_s += write_s

    def _own(self, warning: str) -> bool:
        return warning.startswith(tuple(f"months/{m:%Y-%m}/" for m in self.months))

    @property
    def warnings(self) -> list[str]:
        """Warnings of the snapshots of the written months."""
        return list(dict.fromkeys(w for w in self.read_warnings if self._own(w)))

    @property
    def earlier_warnings(self) -> list[str]:
        """Warnings of the lookback snapshots (M-12..) only."""
        return list(dict.fromkeys(w for w in self.read_warnings if not self._own(w)))


def rulebook_versions(tally: Tally, months: list[dt.date]) -> str:
    """The rulebook versions that scored ``months``, each with its months: "2026-09 (2026-09..2027-07)"."""
    by_version: dict[str, list[dt.date]] = {}
    for m in months:
        for version in tally.rulebooks.get(m, []):
            by_version.setdefault(version, []).append(m)
    return "; ".join(f"{v} ({span(ms)})" for v, ms in by_version.items())


def read_span(months: list[dt.date]) -> str:
    """The snapshots scoring ``months`` reads: M-12 of the first to the last."""
    return span([add_months(min(months), -12), max(months)])


def snapshot_metadata(tally: Tally, months: list[dt.date], directory: Path | str, **extra: object) -> dict:
    """The ``monthly_snapshot`` materialization of scored ``months``."""
    return {
        "months": span(months),
        "snapshots read": read_span(months),
        "snapshot reads": tally.snapshot_reads,
        "data folder": str(directory),
        "read and score seconds": round(tally.read_score_s, 1),
        "warnings": len(tally.warnings),
        **extra,
    }


def snapshot_checks(tally: Tally, months: list[dt.date]) -> list[dg.AssetCheckResult]:
    """The ``monthly_snapshot`` checks of scored ``months``: input valid, seats warning."""
    return [input_valid(read_span(months)), seats_check(span(months), tally.warnings, tally.earlier_warnings)]


def result_metadata(tally: Tally, months: list[dt.date], *, tables: bool, **extra: object) -> dict[str, dict]:
    """Result asset name -> its materialization metadata; ``tables``: with the designations'
    Markdown tables (per month, score distribution, top scores)."""
    designations = pl.concat(tally.designations)
    out: dict[str, dict] = {}
    for name in RESULT_ORDER:
        metadata: dict[str, object] = {
            "dagster/row_count": tally.counts[name],
            "months": span(months),
            "rulebook version": rulebook_versions(tally, months),
            "write seconds": round(tally.write_s, 1),
            **extra,
        }
        if name == "designations":
            attained = per_track(designations, "best_track", "attained")
            metadata |= {
                "partners scored": designations["partner_id"].n_unique(),
                "attained": int(designations["attained"].sum()),
                **{f"attained ({t})": attained.get(t, 0) for t in tally.tracks},
                **{f"qualifying ({t})": tally.qualifying.get(t, 0) for t in tally.tracks},
            }
            if tables:
                per_month = pl.concat(tally.summaries, how="diagonal_relaxed")
                metadata |= {
                    "per month": dg.MetadataValue.md(markdown(per_month, rows=200)),
                    "score distribution": dg.MetadataValue.md(markdown(score_distribution(designations))),
                    "top scores": dg.MetadataValue.md(markdown(top_scores(designations, tally.partners))),
                }
        out[name] = metadata
    return out


def score_distribution(designations: pl.DataFrame) -> pl.DataFrame:
    """Partners (and attaining partners) per 10-point score band, every band listed."""
    bands = pl.DataFrame({"lo": list(range(0, 100, 10))}, schema={"lo": pl.Int64})
    counts = (
        designations.select((pl.col("score") // 10).cast(pl.Int64).clip(0, 9).mul(10).alias("lo"), "attained")
        .group_by("lo")
        .agg(pl.len().alias("partners"), pl.col("attained").sum().alias("attained"))
    )
    return (
        bands.join(counts, on="lo", how="left")
        .sort("lo")
        .select(
            pl.format("{}–{}", "lo", pl.col("lo") + 10).alias("score"),
            pl.col("partners").fill_null(0).cast(pl.Int64),
            pl.col("attained").fill_null(0).cast(pl.Int64),
        )
    )


def top_scores(designations: pl.DataFrame, partners: pl.DataFrame, n: int = 10) -> pl.DataFrame:
    """The ``n`` best scores (any month), with the partners' names."""
    names = partners.select("partner_id", "partner_name")
    return (
        designations.sort(["score", "month", "partner_id"], descending=[True, False, False])
        .head(n)
        .join(names, on="partner_id", how="left", maintain_order="left")
        .select("month", "partner_id", "partner_name", "best_track", "score", "attained")
    )


def per_track(frame: pl.DataFrame, track: str, flag: str) -> dict[str, int]:
    """How many rows per track have ``flag`` set."""
    rows = frame.filter(pl.col(flag)).group_by(track).len().sort(track).rows()
    return {t: int(n) for t, n in rows}
