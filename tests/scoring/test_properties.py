"""Property tests: the engine against the plain reference implementation, and invariants."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring import calendar
from tests.support.builders import RULEBOOKS, World
from tests.support.reference import reference_score

SCORED = "2024-06"
MONTHS = ["2023-06", "2023-09", "2024-01", "2024-03", "2024-06"]
WORKLOADS = ["Exchange", "teams ", "Teams Phone", "Power BI"]
SEATS = [0, 5, 10, 11, 40, 100, 300, 301, 1000]
TYPES = ["CPOR", "DPOR", "csp_t1", "CSP_T2"]
CERTS = [
    "Microsoft 365 Fundamentals",
    "Microsoft 365 Certified: Modern Desktop Administrator Associate",
    "Microsoft 365 Certified: Enterprise Administrator Expert",
    "Teams Meetings and Meeting Rooms Technical Assessment",
    "Azure Fundamentals",
]
PARTNERS = ["P1", "P2"]
TENANTS = ["T1", "T2", "T3", "T4"]


@st.composite
def worlds(draw) -> World:
    w = World(scored=SCORED)
    for mon in MONTHS:
        first = dt.date.fromisoformat(mon + "-01")
        for t in TENANTS:
            for wl in draw(st.sets(st.sampled_from(WORKLOADS), max_size=3)):
                paid = draw(st.sampled_from(SEATS))
                active = draw(st.integers(0, paid + 20))
                w.use(mon, t, wl, paid, active)
        keys = draw(
            st.sets(
                st.tuples(
                    st.sampled_from(PARTNERS),
                    st.sampled_from(TENANTS),
                    st.sampled_from(WORKLOADS),
                    st.sampled_from(TYPES),
                ),
                max_size=10,
            )
        )
        for p, t, wl, kind in keys:
            back = draw(st.sampled_from([0, 0, 1, 3, 8, 12, 20]))
            on = calendar.add_months(first, -back) + dt.timedelta(days=draw(st.integers(0, 27)))
            w.assoc(mon, p, t, wl, kind, on.isoformat())
    for p in PARTNERS:
        for i in range(draw(st.integers(0, 5))):
            earned = dt.date(2024, draw(st.integers(1, 8)), draw(st.integers(1, 28)))
            expires = draw(st.sampled_from([None, dt.date(2024, 6, 30), dt.date(2024, 7, 1), dt.date(2025, 1, 1)]))
            if expires is not None and expires <= earned:
                expires = None
            w.cert(
                p,
                f"{p}-person{i % 3}",
                draw(st.sampled_from(CERTS)),
                earned.isoformat(),
                expires.isoformat() if expires else None,
            )
    w.partners.update(PARTNERS)
    return w


def _reference(w: World) -> dict:
    book = RULEBOOKS.for_month(w.m)
    return reference_score(book, w.m, w.usage_rows, w.assoc_rows, w.cert_rows, sorted(w.partners))


def _assert_engine_matches_reference(w: World) -> None:
    """Every metric, option, path and designation of the engine equals the reference's, field by field."""
    res = w.score().res
    ref = _reference(w)
    option_rows = {k for k in ref["metrics"] if k[3] != "WINNER"}
    assert {
        (r["partner_id"], r["track"], r["metric"], r["option"]) for r in res.metric_points.iter_rows(named=True)
    } == option_rows
    assert res.metric_points.height == len(option_rows)
    assert res.path_scores.height == len(ref["paths"]) and res.designations.height == len(ref["designations"])
    for row in res.metric_points.iter_rows(named=True):
        value, points = ref["metrics"][(row["partner_id"], row["track"], row["metric"], row["option"])]
        assert (row["value"], row["points"]) == (value, float(points)), row
        if row["option"] != "ALL" and row["is_winner"]:
            assert ref["metrics"][(row["partner_id"], row["track"], row["metric"], "WINNER")] == row["option"]
    for row in res.path_scores.iter_rows(named=True):
        total, qualifies = ref["paths"][(row["partner_id"], row["track"])]
        assert (row["total"], row["qualifies"]) == (float(total), qualifies), row
    for row in res.designations.iter_rows(named=True):
        attained, best, score = ref["designations"][row["partner_id"]]
        assert (row["attained"], row["best_track"], row["score"]) == (attained, best, float(score)), row


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_engine_agrees_with_reference_implementation(w: World):
    _assert_engine_matches_reference(w)


# ---- across the 2026 revision (docs/scoring-rules-2026.md) ---------------------------------------
#
# Scored months on both sides of the rulebook's 2026-09 version and around the certifications'
# counts-through dates (2027-03-31, 2027-06-15, 2027-11-30); each world fills M-12, three months
# between (association months) and M. On a branch whose engine scores only the 2023 rules this
# test fails (promoted tenants, workloads per metric, counts-through dates): it is the check of
# the 2026 engine against the reference.

# (the last month before the revision, its first months, and the last month each retiring
# certification counts in and the first it does not)
SCORED_2026 = [
    "2026-08",
    "2026-09",
    "2026-10",
    "2027-03",
    "2027-04",
    "2027-05",
    "2027-06",
    "2027-11",
    "2027-12",
    "2026-09",
]
OFFSETS_2026 = [12, 9, 5, 3, 0]
# one workload per entry, with the names the input may give it (a renamed workload has both; the
# input never uses two names of one workload in one key, so a world picks one name per key)
WORKLOADS_2026 = [
    ["Exchange", "Exchange Online", " exchange online "],
    ["ProPlus", "Microsoft 365 Apps"],
    ["VivaInsights", "viva insights"],
    ["teams "],
    ["Teams Premium"],
    ["Teams Platform"],
    ["Teams Apps"],
    ["M365 Copilot"],
    ["Power BI"],
]
# 10/11 and 300/301 a year apart make promoted and shrunk tenants (the generator favours the first
# values: above 300 or below 11 in M, within 11..300 a year before)
SEATS_2026 = [0, 10, 11, 40, 300, 301, 1000]
SEATS_NOW = [301, 1000, 10, 0, 11, 40, 300]
SEATS_YEAR_AGO = [300, 11, 40, 0, 10, 301, 1000]
CERTS_2026 = [
    "Microsoft 365 Fundamentals",  # counts through 2027-03-31
    "Teams Meetings and Meeting Rooms Technical Assessment",  # through 2027-06-15
    "Microsoft 365 Certified: Enterprise Administrator Expert",  # through 2027-11-30
    "Microsoft 365 Certified: Copilot and Agent Administration Fundamentals",  # new
    "Microsoft 365 Certified: Modern Desktop Administrator Associate",  # an alias
    "Microsoft 365 Certified: Messaging Administrator Associate",  # removed in 2026-09
    "microsoft 365 certified: teams application developer associate ",  # removed in 2026-09
    "Azure Fundamentals",  # never counts
]
COUNTS_THROUGH = [dt.date(2027, 3, 31), dt.date(2027, 6, 15), dt.date(2027, 11, 30)]


@st.composite
def worlds_2026(draw) -> World:
    w = World(scored=draw(st.sampled_from(SCORED_2026)))
    slots = range(len(WORKLOADS_2026))
    for back in OFFSETS_2026:
        mon = w.ago(back)
        first = calendar.add_months(w.m, -back)
        for t in TENANTS:
            for slot in draw(st.sets(st.sampled_from(slots), max_size=3)):
                paid = draw(st.sampled_from({0: SEATS_NOW, 12: SEATS_YEAR_AGO}.get(back, SEATS_2026)))
                active = draw(st.integers(0, paid + 20))
                w.use(mon, t, draw(st.sampled_from(WORKLOADS_2026[slot])), paid, active)
        keys = draw(
            st.sets(
                st.tuples(
                    st.sampled_from(PARTNERS), st.sampled_from(TENANTS), st.sampled_from(slots), st.sampled_from(TYPES)
                ),
                max_size=10,
            )
        )
        for p, t, slot, kind in keys:
            back_on = draw(st.sampled_from([0, 0, 1, 3, 8, 12, 20]))
            on = calendar.add_months(first, -back_on) + dt.timedelta(days=draw(st.integers(0, 27)))
            w.assoc(mon, p, t, draw(st.sampled_from(WORKLOADS_2026[slot])), kind, on.isoformat())
    end = calendar.add_months(w.m, 1) - dt.timedelta(days=1)
    near = [end - dt.timedelta(days=1), end, end + dt.timedelta(days=1)]
    near += [d + dt.timedelta(days=k) for d in COUNTS_THROUGH for k in (-1, 0, 1)]
    for p in PARTNERS:
        for i in range(draw(st.integers(0, 6))):
            earned = draw(st.sampled_from([dt.date(2024, 1, 1), dt.date(2026, 6, 1), *near]))
            expires = draw(st.sampled_from([None, None, *near]))
            if expires is not None and expires <= earned:
                expires = None
            w.cert(
                p,
                f"{p}-person{i % 3}",
                draw(st.sampled_from(CERTS_2026)),
                earned.isoformat(),
                expires.isoformat() if expires else None,
            )
    w.partners.update(PARTNERS)
    return w


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds_2026())
def test_engine_matches_reference_across_the_2026_change(w: World):
    _assert_engine_matches_reference(w)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_points_bounded_totals_add_up_and_one_winner(w: World):
    res = w.score().res
    mp = res.metric_points
    assert mp.filter((pl.col("points") < 0) | (pl.col("points") > pl.col("max_points"))).height == 0
    winners = mp.filter("is_winner").group_by("partner_id", "track", "metric").len()
    assert winners["len"].to_list() == [1] * winners.height
    assert winners.height == len(w.partners) * 2 * 5
    sums = mp.filter("is_winner").group_by("partner_id", "track").agg(pl.col("points").sum().alias("s"))
    joined = sums.join(res.path_scores, on=["partner_id", "track"])
    assert ((joined["s"] - joined["total"]).abs() < 1e-9).all()
    best_option = mp.group_by("partner_id", "track", "metric").agg(pl.col("points").max().alias("best"))
    win = mp.filter("is_winner").join(best_option, on=["partner_id", "track", "metric"])
    assert (win["points"] == win["best"]).all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), st.sampled_from(CERTS[:4]))
def test_one_more_certified_person_never_lowers_a_score(w: World, cert: str):
    before = w.score().res
    w.cert("P1", "newcomer", cert, "2020-01-01")
    after = w.score().res
    a = before.metric_points.join(after.metric_points, on=["partner_id", "track", "metric", "option"], suffix="_after")
    assert (a["points_after"] >= a["points"]).all()
    d = before.designations.join(after.designations, on="partner_id", suffix="_after")
    assert (d["score_after"] >= d["score"]).all()
    assert (d["attained_after"] | ~d["attained"]).all()
