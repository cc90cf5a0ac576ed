"""Customer and skilling hygiene (scoring/hygiene.py): each finding checked against the engine
itself, by making the change the finding suggests and scoring again."""

from __future__ import annotations

import datetime as dt

import polars as pl

from scoring.hygiene import certifications_by_stop_month, near_band_tenants, other_option_tenants
from tests.support.builders import RULEBOOKS, World

FUNDAMENTALS = "Microsoft 365 Fundamentals"
TEAMS_ADMIN = "Microsoft 365 Certified: Teams Administrator Associate"
EXPERT = "Microsoft 365 Certified: Enterprise Administrator Expert"


def _other_option(w: World, partner: str = "P1") -> pl.DataFrame:
    res = w.score().res
    return other_option_tenants(RULEBOOKS.for_month(w.m), res.customer_details, res.metric_points, partner, w.m)


def _smb_world() -> World:
    """P1 holds A (CPOR, large growth), B only under CSP, C under both; all SMB-eligible."""
    w = World()
    w.tenant([w.ago(12)], "A", "Exchange", 200, 0, "P1", "CPOR")
    w.tenant([w.scored], "A", "Exchange", 200, 150, "P1", "CPOR")
    w.tenant([w.scored], "B", "Exchange", 100, 60, "P1", "CSP_T1")
    w.tenant([w.scored], "C", "Exchange", 50, 30, "P1", "CPOR")
    w.assoc(w.scored, "P1", "C", "Exchange", "CSP_T2", "2020-01-01")
    return w


def test_a_customer_counted_only_under_a_losing_option_is_reported_with_the_winning_option():
    w = _smb_world()
    found = _other_option(w)
    assert found.to_dicts() == [
        {
            "tenant_id": "B",
            "track": "SMB",
            "counted_under": ["CSP"],
            "winning_option": "CPOR",
            "metrics": ["DEPLOYMENTS", "USAGE_GROWTH"],
        }
    ]
    # the claim holds: associated under CPOR too, B counts there and adds its 60 users to AU(M)
    before = w.score()
    w.assoc(w.scored, "P1", "B", "Exchange", "CPOR", "2020-01-01")
    after = w.score()
    assert after.detail("P1", "B", "SMB", "CPOR")["counted"]
    grew = after.metric("P1", "SMB", "USAGE_GROWTH", "CPOR")["current"]
    assert grew - before.metric("P1", "SMB", "USAGE_GROWTH", "CPOR")["current"] == 60
    assert _other_option(w).height == 0


def test_no_finding_when_every_counted_customer_is_under_the_winning_option():
    w = World()
    w.tenant([w.scored], "A", "Exchange", 200, 150, "P1", "CPOR")
    w.tenant([w.scored], "B", "Exchange", 100, 60, "P1", "CPOR")
    assert _other_option(w).height == 0


def test_an_ineligible_customer_is_not_reported_under_another_option():
    w = _smb_world()
    w.tenant([w.scored], "D", "Exchange", 5, 5, "P1", "CSP_T1")  # below the SMB band: counts nowhere
    assert "D" not in _other_option(w).get_column("tenant_id").to_list()


def _near(w: World, partner: str = "P1") -> pl.DataFrame:
    snaps = w.snapshots()
    mine = snaps.associations.filter(pl.col("partner_id") == partner)
    return near_band_tenants(RULEBOOKS.for_month(w.m), snaps.usage, mine, w.m)


def test_a_held_customer_one_seat_below_a_band_is_reported_and_one_more_seat_makes_it_eligible():
    w = World()
    w.tenant([w.scored], "T10", "Exchange", 10, 5, "P1")
    w.tenant([w.scored], "T9", "Exchange", 9, 5, "P1")  # two seats below: not reported
    w.tenant([w.scored], "T300", "SharePoint", 300, 5, "P1")  # one below Enterprise's 301
    w.tenant([w.scored], "MIX", "Exchange", 10, 5, "P1")  # 10 seats, but in the band by another workload
    w.use(w.scored, "MIX", "SharePoint", 40, 5)
    w.use(w.scored, "FREE", "Exchange", 10, 5)  # held by no one
    found = _near(w)
    assert found.select("tenant_id", "track", "workload", "paid_seats").rows() == [
        ("T10", "SMB", "Exchange", 10),
        ("T300", "ENTERPRISE", "SharePoint", 300),
    ]
    assert found.get_column("metrics").to_list()[0] == ["DEPLOYMENTS", "NET_CUSTOMER_ADDS", "USAGE_GROWTH"]
    assert w.score().eligible("T10") == set()
    bumped = World(usage_rows=[r if r[1] != "T10" else (*r[:3], 11, 5) for r in w.usage_rows], assoc_rows=w.assoc_rows)
    assert bumped.score().eligible("T10") == {"SMB"}


def test_near_band_follows_the_metrics_workload_lists_of_the_2026_version():
    # Teams Premium is in the 2026 usage-growth and deployments lists, not in net customer adds'
    w = World(scored="2026-10")
    w.tenant([w.scored], "TP", "Teams Premium", 10, 5, "P1")
    assert _near(w).get_column("metrics").to_list() == [["DEPLOYMENTS", "USAGE_GROWTH"]]
    w.scored = "2026-08"  # under the 2023 version Teams Premium is no eligible workload
    assert _near(w).height == 0


def _stops(w: World, horizon: int = 12) -> list[tuple]:
    frame = certifications_by_stop_month(RULEBOOKS.for_month(w.m), w.cert_frame(), "P1", w.m, horizon)
    return [
        (r["person_id"], r["certification"], r["stops_in"], r["reason"], r["person_still_counts"])
        for r in frame.iter_rows(named=True)
    ]


def test_each_counted_certification_with_the_first_month_it_no_longer_counts():
    w = World(scored="2024-06")
    w.cert("P1", "a", FUNDAMENTALS, expires="2024-08-15")  # counts through July
    w.cert("P1", "b", FUNDAMENTALS, expires="2024-07-31")  # the month's last day: July no longer
    w.cert("P1", "c", FUNDAMENTALS, expires="2024-07-01")
    w.cert("P1", "d", FUNDAMENTALS)  # no expiry: never stops
    w.cert("P1", "e", FUNDAMENTALS, expires="2024-06-30")  # already not counted in June
    w.cert("P1", "f", FUNDAMENTALS, expires="2025-07-01")  # beyond 12 months
    w.cert("P1", "g", "Unknown certification", expires="2024-08-01")  # never counted
    w.cert("P1", "h", FUNDAMENTALS, earned="2024-07-02", expires="2024-09-01")  # not yet counted
    assert _stops(w) == [
        ("b", FUNDAMENTALS, dt.date(2024, 7, 1), "EXPIRES", False),
        ("c", FUNDAMENTALS, dt.date(2024, 7, 1), "EXPIRES", False),
        ("a", FUNDAMENTALS, dt.date(2024, 8, 1), "EXPIRES", False),
    ]
    assert [s[0] for s in _stops(w, horizon=13)] == ["b", "c", "a", "f"]
    # the stop month is exact: the engine counts a b c d f in June, and a d f h in July
    for mon, persons in (("2024-06", 5), ("2024-07", 4)):
        w.scored = mon
        assert w.score().metric("P1", "SMB", "INTERMEDIATE_CERTIFICATIONS")["value"] == persons


def test_a_person_covered_by_another_certification_of_the_level_still_counts():
    w = World(scored="2024-06")
    w.cert("P1", "a", FUNDAMENTALS, expires="2024-08-15")
    w.cert("P1", "a", TEAMS_ADMIN, expires="2025-01-01")
    w.cert("P1", "b", FUNDAMENTALS, expires="2024-08-15")
    w.cert("P1", "b", EXPERT)  # another level does not cover the intermediate one
    w.cert("P1", "c", FUNDAMENTALS, earned="2023-08-01", expires="2024-08-01")
    w.cert("P1", "c", FUNDAMENTALS, earned="2024-05-01", expires="2025-05-01")  # renewed before it expired
    rows = _stops(w)
    assert rows == [
        ("a", FUNDAMENTALS, dt.date(2024, 8, 1), "EXPIRES", True),
        ("b", FUNDAMENTALS, dt.date(2024, 8, 1), "EXPIRES", False),
        ("c", FUNDAMENTALS, dt.date(2024, 8, 1), "EXPIRES", True),
        ("a", TEAMS_ADMIN, dt.date(2025, 1, 1), "EXPIRES", False),
        ("c", FUNDAMENTALS, dt.date(2025, 5, 1), "EXPIRES", False),
    ]


def test_a_retiring_certification_stops_the_month_after_its_counts_through_date():
    # 2026 version: Fundamentals counts through 2027-03-31; the Expert through 2027-11-30
    w = World(scored="2027-01")
    w.cert("P1", "a", FUNDAMENTALS)
    w.cert("P1", "b", FUNDAMENTALS, expires="2027-03-15")  # expires before its retirement
    w.cert("P1", "c", EXPERT)
    assert _stops(w) == [
        ("b", FUNDAMENTALS, dt.date(2027, 3, 1), "EXPIRES", False),
        ("a", FUNDAMENTALS, dt.date(2027, 4, 1), "RETIRES", False),
        ("c", EXPERT, dt.date(2027, 12, 1), "RETIRES", False),
    ]
    for mon, persons in (("2027-03", 1), ("2027-04", 0)):
        w.scored = mon
        assert w.score().metric("P1", "SMB", "INTERMEDIATE_CERTIFICATIONS")["value"] == persons
