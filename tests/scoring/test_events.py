"""The alert events of a month (scoring/events.py), each type at its boundaries, from hand-made
result frames, certifications and projected lapses."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from scoring import events as E
from scoring.frames import CERTIFICATIONS_SCHEMA, DESIGNATIONS_SCHEMA, METRIC_POINTS_SCHEMA
from scoring.rulebook import load_rulebooks

BOOKS = load_rulebooks()
MAY, JUN, JUL = dt.date(2024, 5, 1), dt.date(2024, 6, 1), dt.date(2024, 7, 1)
BOOK = BOOKS.for_month(JUN)
ADVANCED = "Microsoft 365 Certified: Enterprise Administrator Expert"


def designations(month: dt.date, *rows: tuple[str, bool, str, float]) -> pl.DataFrame:
    return pl.DataFrame(
        [(month, p, a, t, s, BOOKS.for_month(month).id) for p, a, t, s in rows],
        schema=DESIGNATIONS_SCHEMA,
        orient="row",
    )


def points(month: dt.date, *rows: tuple[str, str, str, float, bool]) -> pl.DataFrame:
    """(partner, track, metric, points, is_winner) rows; option CPOR, other columns 0."""
    return pl.DataFrame(
        [(month, p, t, m, "CPOR", 0, 0, 0, 0, pts, 10.0, w) for p, t, m, pts, w in rows],
        schema=METRIC_POINTS_SCHEMA,
        orient="row",
    )


def certs(*rows: tuple[str, str, str, dt.date, dt.date | None]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=CERTIFICATIONS_SCHEMA, orient="row")


NO_CERTS = certs()


def run(month=JUN, *, now, before=None, pts=None, pts_before=None, certifications=NO_CERTS, **kw) -> pl.DataFrame:
    return E.month_events(
        month=month,
        designations=now,
        metric_points=pts if pts is not None else points(month),
        certifications=certifications,
        rulebook=BOOKS.for_month(month),
        designations_before=before,
        metric_points_before=pts_before,
        rulebook_before=BOOKS.for_month(month.replace(day=1) - dt.timedelta(days=1)),
        **kw,
    )


def of(frame: pl.DataFrame, kind: str) -> list[tuple[str | None, str]]:
    return [(r["partner_id"], r["subject"]) for r in frame.filter(pl.col("type") == kind).iter_rows(named=True)]


def data(frame: pl.DataFrame, kind: str, partner: str | None) -> dict:
    row = frame.filter((pl.col("type") == kind) & (pl.col("partner_id").eq_missing(partner))).row(0, named=True)
    return json.loads(row["data"])


# ---- month.scored ------------------------------------------------------------------------------


def test_month_scored_counts_partners_and_attained_per_track_once_without_a_partner():
    now = designations(JUN, ("P1", True, "SMB", 75.0), ("P2", True, "SMB", 71.0), ("P3", False, "ENTERPRISE", 30.0))
    got = run(now=now)
    assert of(got, E.MONTH_SCORED) == [(None, "")]
    assert data(got, E.MONTH_SCORED, None) == {
        "month": "2024-06",
        "partnersScored": 3,
        "partnersAttained": 2,
        "attainedPerTrack": {"ENTERPRISE": 0, "SMB": 2},
        "rulebookId": BOOK.id,
    }
    assert E.MONTH_SCORED in E.ADMIN_ONLY


# ---- designation.gained / lost ------------------------------------------------------------------


def test_gained_and_lost_against_the_month_before():
    now = designations(
        JUN,
        ("GAIN", True, "SMB", 70.0),  # exactly attained now, not before
        ("KEEP", True, "SMB", 80.0),
        ("LOSE", False, "SMB", 69.9975),
        ("NEW", True, "ENTERPRISE", 90.0),  # not scored the month before: gained
        ("NEVER", False, "SMB", 10.0),
    )
    before = designations(
        MAY,
        ("GAIN", False, "SMB", 69.9975),
        ("KEEP", True, "SMB", 80.0),
        ("LOSE", True, "SMB", 70.0),
        ("NEVER", False, "SMB", 12.0),
        ("GONE", True, "SMB", 90.0),  # not scored this month: nothing (no month to speak of)
    )
    got = run(now=now, before=before)
    assert of(got, E.DESIGNATION_GAINED) == [("GAIN", "designation"), ("NEW", "designation")]
    assert of(got, E.DESIGNATION_LOST) == [("LOSE", "designation")]
    assert data(got, E.DESIGNATION_LOST, "LOSE") == {
        "bestTrack": "SMB",
        "score": 69.9975,
        "previousBestTrack": "SMB",
        "previousScore": 70.0,
    }
    assert data(got, E.DESIGNATION_GAINED, "NEW")["previousScore"] is None


def test_no_designation_changes_when_the_month_before_was_not_scored():
    now = designations(JUN, ("P1", True, "SMB", 75.0))
    got = run(now=now, before=None)
    assert of(got, E.DESIGNATION_GAINED) == of(got, E.DESIGNATION_LOST) == []


# ---- metric.below_minimum ----------------------------------------------------------------------


def test_a_metric_of_the_best_track_falling_below_one_point():
    now = designations(JUN, ("P1", False, "SMB", 50.0), ("P2", False, "SMB", 50.0), ("P3", False, "SMB", 50.0))
    before = designations(MAY, ("P1", False, "ENTERPRISE", 50.0), ("P2", False, "SMB", 50.0))
    pts = points(
        JUN,
        ("P1", "SMB", "USAGE_GROWTH", 0.9975, True),  # just below: fell (was 1.0, exactly the minimum)
        ("P1", "SMB", "DEPLOYMENTS", 1.0, True),  # exactly the minimum is not below
        ("P1", "SMB", "NET_CUSTOMER_ADDS", 0.0, True),  # below, and below before too
        ("P1", "ENTERPRISE", "USAGE_GROWTH", 0.0, True),  # not the best track
        ("P2", "SMB", "USAGE_GROWTH", 0.0, False),  # not the winning option
        ("P2", "SMB", "USAGE_GROWTH", 3.0, True),
        ("P3", "SMB", "USAGE_GROWTH", 0.0, True),  # not scored the month before
    )
    pts_before = points(
        MAY,
        ("P1", "SMB", "USAGE_GROWTH", 1.0, True),
        ("P1", "SMB", "DEPLOYMENTS", 5.0, True),
        ("P1", "SMB", "NET_CUSTOMER_ADDS", 0.5, True),
        ("P1", "ENTERPRISE", "USAGE_GROWTH", 4.0, True),
        ("P2", "SMB", "USAGE_GROWTH", 3.0, True),
    )
    got = run(now=now, before=before, pts=pts, pts_before=pts_before)
    assert of(got, E.METRIC_BELOW_MINIMUM) == [("P1", "SMB/USAGE_GROWTH")]
    assert data(got, E.METRIC_BELOW_MINIMUM, "P1") == {
        "track": "SMB",
        "metric": "USAGE_GROWTH",
        "option": "CPOR",
        "points": 0.9975,
        "previousPoints": 1.0,
        "minimum": 1.0,
    }
    assert of(run(now=now, before=None, pts=pts), E.METRIC_BELOW_MINIMUM) == []


# ---- certification.expiring --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expires_on", "announced"),
    [
        (dt.date(2024, 6, 30), False),  # expires on the month's last day: no longer counts in June
        (dt.date(2024, 7, 1), False),  # within 90 days of May's end already: announced in May
        (dt.date(2024, 8, 29), False),  # May's end + 90 days: still May's
        (dt.date(2024, 8, 30), True),  # enters the window in June
        (dt.date(2024, 9, 28), True),  # June's end + 90 days
        (dt.date(2024, 9, 29), False),  # beyond: July's
        (None, False),
    ],
)
def test_an_expiring_certification_is_announced_in_the_month_it_enters_the_90_day_window(expires_on, announced):
    now = designations(JUN, ("P1", True, "SMB", 80.0))
    got = run(now=now, certifications=certs(("P1", "X1", ADVANCED, dt.date(2020, 1, 1), expires_on)))
    want = [("P1", f"X1/{ADVANCED}/{expires_on}")] if announced else []
    assert of(got, E.CERTIFICATION_EXPIRING) == want
    if announced:
        assert data(got, E.CERTIFICATION_EXPIRING, "P1") == {
            "personId": "X1",
            "certification": ADVANCED,
            "level": "ADVANCED",
            "expiresOn": expires_on.isoformat(),
            "countsThrough": None,
            "endsOn": expires_on.isoformat(),
            "reason": "expires",
            "daysLeft": (expires_on - dt.date(2024, 6, 30)).days,
        }


def test_only_counted_certifications_of_scored_partners_expire():
    now = designations(JUN, ("P1", True, "SMB", 80.0))
    soon = dt.date(2024, 9, 1)
    got = run(
        now=now,
        certifications=certs(
            ("P1", "X1", "Some Unrelated Certification", dt.date(2020, 1, 1), soon),  # not a counted one
            ("P1", "X2", ADVANCED, dt.date(2024, 7, 1), soon),  # earned after the month's end
            ("P9", "X3", ADVANCED, dt.date(2020, 1, 1), soon),  # partner not scored
            ("P1", "X4", ADVANCED.upper(), dt.date(2020, 1, 1), soon),  # counted, name as written
        ),
    )
    assert of(got, E.CERTIFICATION_EXPIRING) == [("P1", f"X4/{ADVANCED.upper()}/2024-09-01")]


def test_a_renewed_certification_does_not_stop_counting():
    now = designations(JUN, ("P1", True, "SMB", 80.0))
    soon, later = dt.date(2024, 9, 1), dt.date(2025, 9, 1)
    renewed = certs(
        ("P1", "X1", ADVANCED, dt.date(2021, 9, 1), soon),
        ("P1", "X1", ADVANCED.lower(), dt.date(2024, 6, 1), later),  # renewed, written otherwise
        ("P1", "X2", ADVANCED, dt.date(2021, 9, 1), soon),
        ("P1", "X2", ADVANCED, dt.date(2024, 7, 1), later),  # renewed after the month's end: not yet
    )
    assert of(run(now=now, certifications=renewed), E.CERTIFICATION_EXPIRING) == [("P1", f"X2/{ADVANCED}/{soon}")]


def test_a_counts_through_date_within_90_days_announces_the_certification():
    # 2026-09 version: Microsoft 365 Fundamentals counts through 2027-03-31
    name = "Microsoft 365 Fundamentals"
    rows = certs(("P1", "X1", name, dt.date(2025, 1, 1), None))
    dec, jan = dt.date(2026, 12, 1), dt.date(2027, 1, 1)
    first = run(dec, now=designations(dec, ("P1", True, "SMB", 80.0)), certifications=rows)
    assert of(first, E.CERTIFICATION_EXPIRING) == [("P1", f"X1/{name}/2027-03-31")]  # Dec 31 + 90 = Mar 31
    got = data(first, E.CERTIFICATION_EXPIRING, "P1")
    assert (got["reason"], got["countsThrough"], got["daysLeft"]) == ("counts_through", "2027-03-31", 90)
    assert (
        of(
            run(
                dt.date(2026, 11, 1),
                now=designations(dt.date(2026, 11, 1), ("P1", True, "SMB", 80.0)),
                certifications=rows,
            ),
            E.CERTIFICATION_EXPIRING,
        )
        == []
    )
    assert (
        of(run(jan, now=designations(jan, ("P1", True, "SMB", 80.0)), certifications=rows), E.CERTIFICATION_EXPIRING)
        == []
    )


# ---- qualification.at_risk ---------------------------------------------------------------------


def lapses(**by_partner: dt.date | None) -> pl.DataFrame:
    return pl.DataFrame(list(by_partner.items()), schema=E.LAPSE_SCHEMA, orient="row")


def test_at_risk_when_the_lapse_comes_within_six_months_and_did_not_the_month_before():
    partners = ["A", "B", "C", "D", "E", "F"]
    now = designations(JUN, *[(p, True, "SMB", 80.0) for p in partners])
    lapse = lapses(
        A=dt.date(2024, 12, 1),  # M + 6: at risk; before: none
        B=dt.date(2025, 1, 1),  # M + 7: not yet
        C=dt.date(2024, 12, 1),  # before: M-1 + 6 = 2024-11 -> already at risk then
        D=dt.date(2024, 7, 1),  # before: 2024-12, beyond M-1 + 6: newly at risk
        E=None,
        F=dt.date(2024, 9, 1),  # not in the month before's projection: newly at risk
    )
    lapse_before = lapses(A=None, B=None, C=dt.date(2024, 11, 1), D=dt.date(2024, 12, 1), E=None)
    got = run(now=now, lapse=lapse, lapse_before=lapse_before)
    assert of(got, E.QUALIFICATION_AT_RISK) == [("A", "2024-12"), ("D", "2024-07"), ("F", "2024-09")]
    assert data(got, E.QUALIFICATION_AT_RISK, "D") == {
        "lapseMonth": "2024-07",
        "previousLapseMonth": "2024-12",
        "monthsLeft": 1,
    }
    # without both projections: no at_risk events
    assert of(run(now=now, lapse=lapse), E.QUALIFICATION_AT_RISK) == []
    assert of(run(now=now), E.QUALIFICATION_AT_RISK) == []


# ---- ids ---------------------------------------------------------------------------------------


def test_ids_are_derived_from_what_the_event_says():
    now = designations(JUN, ("P1", True, "SMB", 75.0))
    before = designations(MAY, ("P1", False, "SMB", 60.0))
    first, again = run(now=now, before=before), run(now=now, before=before)
    assert first["id"].to_list() == again["id"].to_list()
    assert first["id"].n_unique() == first.height
    gained = first.filter(pl.col("type") == E.DESIGNATION_GAINED).row(0, named=True)
    assert gained["id"] == E.event_id(E.DESIGNATION_GAINED, "P1", JUN, "designation")
    # the same change in another month, or for another partner, is another event
    assert E.event_id(E.DESIGNATION_GAINED, "P1", JUL, "designation") != gained["id"]
    assert E.event_id(E.DESIGNATION_GAINED, "P2", JUN, "designation") != gained["id"]
    # a rescored month whose score moved says the same thing: same id
    rescored = run(now=designations(JUN, ("P1", True, "SMB", 77.0)), before=before)
    assert rescored.filter(pl.col("type") == E.DESIGNATION_GAINED)["id"].to_list() == [gained["id"]]
