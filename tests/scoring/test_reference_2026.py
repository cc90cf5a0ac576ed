"""Acceptance of the plain reference implementation itself: it scores the shared example folders
exactly as their expected scorecards say, across the 2026 revision (small-2026) and under the
2023 rules (small).

The folders are read with the csv module into the reference's rows; the scorecards are put
together here in the shape of expected-scorecards.json. No engine code is involved.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from fractions import Fraction
from pathlib import Path

import pytest

from scoring.calendar import add_months
from scoring.rulebook import load_rulebooks
from tests.support.paths import SHARED
from tests.support.reference import reference_score

SMALL_2026 = SHARED / "examples" / "small-2026"
SMALL = SHARED / "examples" / "small"
RULEBOOKS = load_rulebooks()
METRICS = ("NET_CUSTOMER_ADDS", "INTERMEDIATE_CERTIFICATIONS", "ADVANCED_CERTIFICATIONS", "USAGE_GROWTH", "DEPLOYMENTS")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_folder(data: Path) -> tuple[list[tuple], list[tuple], list[tuple], list[str]]:
    """A data folder (CSV) as the reference's rows: usage, associations, certifications, partners."""
    usage: list[tuple] = []
    assoc: list[tuple] = []
    for folder in sorted((data / "months").iterdir()):
        mon = dt.date.fromisoformat(folder.name + "-01")
        for r in _rows(folder / "workload_usage.csv"):
            usage.append((mon, r["tenant_id"], r["workload"], int(r["paid_seats"]), int(r["active_users"])))
        for r in _rows(folder / "associations.csv"):
            on = dt.date.fromisoformat(r["associated_on"])
            assoc.append((mon, r["partner_id"], r["tenant_id"], r["workload"], r["association_type"], on))
    certs = [
        (
            r["partner_id"],
            r["person_id"],
            r["certification"],
            dt.date.fromisoformat(r["earned_on"]),
            dt.date.fromisoformat(r["expires_on"]) if r["expires_on"].strip() else None,
        )
        for r in _rows(data / "certifications.csv")
    ]
    partners = {r["partner_id"] for r in _rows(data / "partners.csv")}
    partners |= {a[1] for a in assoc} | {c[0] for c in certs}
    return usage, assoc, certs, sorted(partners)


def reference_scorecards(data: Path, months: list[dt.date]) -> dict[tuple, dict]:
    """(partner, "YYYY-MM") -> the reference's scorecard, shaped like expected-scorecards.json."""
    usage, assoc, certs, partners = read_folder(data)
    cards: dict[tuple, dict] = {}
    for m in months:
        book = RULEBOOKS.for_month(m)
        ref = reference_score(book, m, usage, assoc, certs, partners)
        for p in partners:
            attained, best, score = ref["designations"][p]
            card_paths = []
            for track in book.tracks:
                total, qualifies = ref["paths"][(p, track.name)]
                maxima = {
                    "NET_CUSTOMER_ADDS": track.net_customer_adds.max_points,
                    "INTERMEDIATE_CERTIFICATIONS": track.intermediate_certifications.max_points,
                    "ADVANCED_CERTIFICATIONS": track.advanced_certifications.max_points,
                    "USAGE_GROWTH": track.usage_growth.max_points,
                    "DEPLOYMENTS": track.deployments.max_points,
                }
                metrics = []
                for metric in METRICS:
                    options = track.options if metric in ("USAGE_GROWTH", "DEPLOYMENTS") else ("ALL",)
                    each = [
                        {"option": o, "value": float(v), "points": float(pts)}
                        for o in options
                        for v, pts in [ref["metrics"][(p, track.name, metric, o)]]
                    ]
                    winner = ref["metrics"][(p, track.name, metric, "WINNER")] if options != ("ALL",) else "ALL"
                    value, points = ref["metrics"][(p, track.name, metric, winner)]
                    metrics.append(
                        {
                            "metric": metric,
                            "points": float(points),
                            "maxPoints": float(maxima[metric]),
                            "value": float(value),
                            "option": winner,
                            "options": each,
                        }
                    )
                card_paths.append(
                    {"track": track.name, "total": float(total), "qualifies": qualifies, "metrics": metrics}
                )
            cards[(p, f"{m:%Y-%m}")] = {
                "partnerId": p,
                "month": f"{m:%Y-%m}",
                "attained": attained,
                "bestTrack": best,
                "score": float(score),
                "paths": card_paths,
            }
    return cards


def _close(a, b, path=""):
    if isinstance(b, float) or isinstance(a, float):
        assert a == pytest.approx(b, abs=1e-6), path
    elif isinstance(b, dict):
        assert set(a) >= set(b), path
        for k in b:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(b, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


def _months(first: dt.date, n: int) -> list[dt.date]:
    return [add_months(first, i) for i in range(n)]


def _check(folder: Path, months: list[dt.date], attained: int) -> None:
    expected = json.loads((folder / "expected-scorecards.json").read_text())
    got = reference_scorecards(folder / "data", months)
    assert len(got) == len(expected) == 360
    for e in expected:
        _close(got[(e["partnerId"], e["month"])], e, f"{e['partnerId']} {e['month']}")
    assert sum(c["attained"] for c in got.values()) == attained


@pytest.mark.skipif(not SMALL_2026.exists(), reason="shared/examples/small-2026 is not beside the project")
def test_reference_scores_the_2026_example_as_expected():
    months = _months(dt.date(2026, 8, 1), 12)
    assert {RULEBOOKS.for_month(m).id for m in months} == {"2023-06-12", "2026-09"}
    _check(SMALL_2026, months, attained=16)


@pytest.mark.skipif(not SMALL.exists(), reason="shared/examples/small is not beside the project")
def test_reference_scores_the_2024_example_as_expected():
    _check(SMALL, _months(dt.date(2024, 1, 1), 12), attained=8)


def test_points_are_exact_fractions():
    """The reference keeps points exact (the 70-point boundary is decided on fractions)."""
    m = dt.date(2026, 9, 1)
    book = RULEBOOKS.for_month(m)
    usage = [(m, "T", "Exchange", 5000, 1333), (add_months(m, -12), "T", "Exchange Online", 5000, 0)]
    assoc = [(mon, "P", "T", "Exchange Online", "DPOR", dt.date(2020, 1, 1)) for mon, *_ in usage]
    ref = reference_score(book, m, usage, assoc, [], ["P"])
    value, points = ref["metrics"][("P", "ENTERPRISE", "USAGE_GROWTH", "DPOR")]
    assert (value, points) == (1333, Fraction(1333 * 30, 4000))
