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
from tests.support.scorecards import assert_fields_close

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


def _months(first: dt.date, n: int) -> list[dt.date]:
    return [add_months(first, i) for i in range(n)]


def _check(folder: Path, months: list[dt.date], attained: int) -> None:
    expected = json.loads((folder / "expected-scorecards.json").read_text())
    got = reference_scorecards(folder / "data", months)
    assert len(got) == len(expected) == 360
    for e in expected:
        assert_fields_close(got[(e["partnerId"], e["month"])], e, f"{e['partnerId']} {e['month']}")
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


# ---- boundaries the example does not reach, each written from docs/scoring-rules-2026.md -----

SEP26 = dt.date(2026, 9, 1)
ON = dt.date(2020, 1, 1)


def _score(m: dt.date, usage: list[tuple], assoc: list[tuple] = (), certs: list[tuple] = ()) -> dict:
    return reference_score(RULEBOOKS.for_month(m), m, list(usage), list(assoc), list(certs), ["P"])


def _nca(ref: dict, track: str) -> int:
    return ref["metrics"][("P", track, "NET_CUSTOMER_ADDS", "ALL")][0]


@pytest.mark.parametrize(
    ("seats_ago", "seats_now", "smb_now"),
    [(300, 301, 1), (11, 5000, 1), (10, 301, 0), (301, 301, 0), (11, 10, 0), (0, 301, 0)],
)
def test_promoted_tenant_counts_for_smb_in_the_scored_month_only(seats_ago, seats_now, smb_now):
    ago = add_months(SEP26, -12)
    usage = [(ago, "T", "Exchange", seats_ago, 0), (SEP26, "T", "Exchange Online", seats_now, 0)]
    assoc = [(mon, "P", "T", "exchange", "CPOR", ON) for mon in (ago, SEP26)]
    ref = _score(SEP26, usage, assoc)
    smb_ago = 1 if 11 <= seats_ago <= 300 else 0
    assert _nca(ref, "SMB") == smb_now - smb_ago
    # under the 2023 rules (August 2026) there is no promotion
    aug = add_months(SEP26, -1)
    usage = [(add_months(aug, -12), "T", "Exchange", seats_ago, 0), (aug, "T", "Exchange", seats_now, 0)]
    assoc = [(mon, "P", "T", "Exchange", "CPOR", ON) for mon, *_ in usage]
    assert _nca(_score(aug, usage, assoc), "SMB") == (1 if 11 <= seats_now <= 300 else 0) - smb_ago


def test_teams_premium_makes_smb_for_usage_and_deployments_not_customer_adds():
    usage = [(SEP26, "T", "Teams Premium", 100, 60)]
    assoc = [(SEP26, "P", "T", "Teams Premium", "CPOR", dt.date(2026, 9, 2))]
    ref = _score(SEP26, usage, assoc)
    assert _nca(ref, "SMB") == 0
    assert ref["metrics"][("P", "SMB", "USAGE_GROWTH", "CPOR")][0] == 60 - 60  # claimed this month
    assert ref["metrics"][("P", "SMB", "DEPLOYMENTS", "CPOR")][0] == 0  # excluded: met 40% at claim
    assoc = [(SEP26, "P", "T", "Teams Premium", "CPOR", ON)]
    ref = _score(SEP26, usage, assoc)
    assert ref["metrics"][("P", "SMB", "USAGE_GROWTH", "CPOR")][0] == 60
    assert ref["metrics"][("P", "SMB", "DEPLOYMENTS", "CPOR")][0] == 1
    # under 2023 Teams Premium never counts
    aug = add_months(SEP26, -1)
    ref = _score(aug, [(aug, "T", "Teams Premium", 100, 60)], [(aug, "P", "T", "Teams Premium", "CPOR", ON)])
    assert ref["metrics"][("P", "SMB", "USAGE_GROWTH", "CPOR")][0] == 0


def test_teams_platform_counts_in_2023_only_and_teams_apps_in_2026_only():
    for m, counted in ((add_months(SEP26, -1), "Teams Platform"), (SEP26, "Teams Apps")):
        for name in ("Teams Platform", "Teams Apps"):
            ref = _score(m, [(m, "T", name, 50, 30)], [(m, "P", "T", name, "CSP_T1", ON)])
            assert _nca(ref, "SMB") == (1 if name == counted else 0), (m, name)


def test_renamed_workload_is_one_workload_across_months_and_tables():
    """Usage named the old way a year ago and the new way now, held under the other name: one
    workload, so the tenant is neither added nor lost, and growth is the difference."""
    for m in (add_months(SEP26, -1), SEP26):
        ago = add_months(m, -12)
        usage = [(ago, "T", "VivaInsights", 50, 10), (m, "T", " viva insights", 50, 25)]
        assoc = [(ago, "P", "T", "Viva Insights", "CPOR", ON), (m, "P", "T", "VIVAINSIGHTS", "CPOR", ON)]
        ref = _score(m, usage, assoc)
        assert _nca(ref, "SMB") == 0
        assert ref["metrics"][("P", "SMB", "USAGE_GROWTH", "CPOR")][0] == 15


@pytest.mark.parametrize(
    ("name", "last_month_counted"),
    [
        ("Microsoft 365 Fundamentals", "2027-03"),
        ("Teams Meetings and Meeting Rooms Technical Assessment", "2027-05"),
        ("Microsoft 365 Certified: Enterprise Administrator Expert", "2027-11"),
        ("Microsoft 365 Certified: Copilot and Agent Administration Fundamentals", None),
        ("Microsoft 365 Certified: Modern Desktop Administrator Associate", None),
    ],
)
def test_certifications_count_through_their_dates(name, last_month_counted):
    for m in _months(dt.date(2026, 9, 1), 18):
        ref = _score(m, [], [], [("P", "X", name, dt.date(2020, 1, 1), None)])
        n = sum(ref["metrics"][("P", "SMB", f"{lvl}_CERTIFICATIONS", "ALL")][0] for lvl in ("INTERMEDIATE", "ADVANCED"))
        assert n == (1 if last_month_counted is None or f"{m:%Y-%m}" <= last_month_counted else 0), m


def test_removed_certifications_count_until_the_revision_only():
    for name in (
        "Microsoft 365 Certified: Messaging Administrator Associate",
        "Microsoft 365 Certified: Teams Application Developer Associate",
    ):
        for m, n in ((add_months(SEP26, -1), 1), (SEP26, 0)):
            ref = _score(m, [], [], [("P", "X", name, dt.date(2020, 1, 1), None)])
            assert ref["metrics"][("P", "SMB", "INTERMEDIATE_CERTIFICATIONS", "ALL")][0] == n


def test_a_certification_expiring_after_its_counts_through_date_stops_at_the_date():
    name = "Microsoft 365 Fundamentals"
    for expires, counted in ((dt.date(2027, 3, 31), 0), (dt.date(2027, 4, 1), 1), (None, 1)):
        ref = _score(dt.date(2027, 3, 1), [], [], [("P", "X", name, dt.date(2027, 3, 31), expires)])
        assert ref["metrics"][("P", "SMB", "INTERMEDIATE_CERTIFICATIONS", "ALL")][0] == counted
