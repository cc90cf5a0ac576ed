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


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_engine_agrees_with_reference_implementation(w: World):
    res = w.score().res
    ref = _reference(w)
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
