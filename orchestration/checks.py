"""The asset checks: their specs, the results a run reports, and the input-error texts they carry
(``input_valid`` blocking, the seats and partner-name warnings)."""

from __future__ import annotations

import datetime as dt
import re

import dagster as dg
import polars as pl

from orchestration.months import span, spans
from orchestration.specs import DESIGNATIONS, SNAPSHOT
from scoring.frames import InputError

INPUT_VALID = "input_valid"
SEATS_WARNING = "active_users_within_paid_seats"
PARTNERS_NAMED = "partners_named"
INPUT_VALID_KEY = dg.AssetCheckKey(SNAPSHOT, INPUT_VALID)

CHECK_SPECS = [
    dg.AssetCheckSpec(
        INPUT_VALID,
        asset=SNAPSHOT,
        blocking=True,
        description=(
            "Every input file the run reads follows input-data.md; else the months that read a "
            "bad file are not written."
        ),
    ),
    dg.AssetCheckSpec(
        SEATS_WARNING,
        asset=SNAPSHOT,
        description="No usage row with active_users > paid_seats (allowed, worth a warning).",
    ),
    dg.AssetCheckSpec(
        PARTNERS_NAMED,
        asset=DESIGNATIONS,
        description="Every scored partner has a name in the partners file.",
    ),
]

_MONTH_FILE = re.compile(r"^months/(\d{4}-\d{2})(/|$)")
MONTH_LABEL = re.compile(r"^\d{4}-\d{2}$")


# ---- input errors ----------------------------------------------------------------------------


def broken_inputs(exc: InputError) -> list[str]:
    """The inputs an error is about: month folders (``2024-06``) or files (``partners.csv``)."""
    out = set()
    for p in exc.problems:
        m = _MONTH_FILE.match(p.file)
        out.add(m.group(1) if m else p.file)
    return sorted(out)


def failure_text(months: list[dt.date], exc: InputError) -> str:
    """Why ``months`` failed: which months, nothing written, the bad inputs, then the error."""
    bad = ", ".join(broken_inputs(exc))
    return f"{span(months)} not scored, nothing written (bad input: {bad})\n{exc}"


def failure_summary(failures: list[tuple[list[dt.date], InputError]], written: list[dt.date]) -> str:
    """The run's failure message: every group of months not scored and why, then what was written."""
    parts = [failure_text(chunk, exc) for chunk, exc in failures]
    if written:
        parts.append(f"(scored and written: {spans(written)})")
    return "\n".join(parts)


# ---- check results ---------------------------------------------------------------------------


def input_valid(read_span: str | None = None) -> dg.AssetCheckResult:
    """The passed blocking check (with the snapshots read, when the months were scored)."""
    metadata = {"snapshots read": read_span} if read_span else None
    return dg.AssetCheckResult(asset_key=SNAPSHOT, check_name=INPUT_VALID, passed=True, metadata=metadata)


def input_invalid(text: str, metadata: dict) -> dg.AssetCheckResult:
    """The failed blocking check: its description is the first line of ``text``."""
    return dg.AssetCheckResult(
        asset_key=SNAPSHOT,
        check_name=INPUT_VALID,
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=text.splitlines()[0],
        metadata={**metadata, "error": dg.MetadataValue.md(f"```\n{text}\n```")},
    )


def month_evaluation(result: dg.AssetCheckResult, month: dt.date) -> dg.AssetCheckEvaluation:
    """A check result as an event an op can log or yield (the month in its metadata)."""
    return dg.AssetCheckEvaluation(
        asset_key=result.asset_key,
        check_name=result.check_name,
        passed=result.passed,
        metadata={**result.metadata, "month": f"{month:%Y-%m}"},
        severity=result.severity,
        description=result.description,
    )


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines) or "none"


def seats_check(label: str, warnings: list[str], earlier: list[str]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=SNAPSHOT,
        check_name=SEATS_WARNING,
        passed=not warnings,
        severity=dg.AssetCheckSeverity.WARN,
        description=(f"{len(warnings)} usage file(s) of {label} with active_users > paid_seats" if warnings else None),
        metadata={
            "files": len(warnings),
            "details": dg.MetadataValue.md(_bullets(warnings)),
            "earlier snapshots read (M-12..)": dg.MetadataValue.md(_bullets(earlier)),
        },
    )


PARTNERS_NAMED_EXAMPLES = 10


def unnamed_partners(partners: pl.DataFrame) -> dict:
    """What the partners-named check counts of a registry (sorted by partner_id): partners with
    no name not in the partners file, with an empty name there, and the first few of them. The
    counts of disjoint registries add up (``merge_unnamed``)."""
    unnamed = partners.filter(pl.col("partner_name").is_null())
    return {
        "unlisted": unnamed.filter(~pl.col("in_registry")).height,
        "empty": unnamed.filter(pl.col("in_registry")).height,
        "examples": unnamed["partner_id"].head(PARTNERS_NAMED_EXAMPLES).to_list(),
    }


def merge_unnamed(parts: list[dict]) -> dict:
    """``unnamed_partners`` of the union of disjoint registries, from theirs."""
    return {
        "unlisted": sum(p["unlisted"] for p in parts),
        "empty": sum(p["empty"] for p in parts),
        "examples": sorted(e for p in parts for e in p["examples"])[:PARTNERS_NAMED_EXAMPLES],
    }


def partners_named_check(partners: pl.DataFrame) -> dg.AssetCheckResult:
    return partners_named_result(unnamed_partners(partners))


def partners_named_result(unnamed: dict) -> dg.AssetCheckResult:
    """The check from ``unnamed_partners`` counts."""
    n = unnamed["unlisted"] + unnamed["empty"]
    return dg.AssetCheckResult(
        asset_key=DESIGNATIONS,
        check_name=PARTNERS_NAMED,
        passed=n == 0,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"{n} scored partner(s) without a name: {unnamed['unlisted']} not in the "
            f"partners file, {unnamed['empty']} with an empty name"
            if n
            else None
        ),
        metadata={
            "without a name": n,
            "not in partners file": unnamed["unlisted"],
            "empty name": unnamed["empty"],
            "examples": ", ".join(unnamed["examples"]) or "none",
        },
    )
