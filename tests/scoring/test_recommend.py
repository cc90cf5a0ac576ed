"""Recommendations: exact, minimal against a brute-force search, and they qualify."""

from __future__ import annotations

import dataclasses
import itertools
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.recommend import Costs, measures_of, points, recommend
from scoring.rulebook import OptionMetric
from tests.support.builders import RULEBOOKS, World

BOOK = RULEBOOKS.versions[0]  # the version of the tests' 2024 months
METRICS = ("NET_CUSTOMER_ADDS", "INTERMEDIATE_CERTIFICATIONS", "ADVANCED_CERTIFICATIONS", "USAGE_GROWTH", "DEPLOYMENTS")


def _small_book():
    """The real rulebook with usage thresholds small enough to brute-force."""
    tracks = tuple(
        dataclasses.replace(
            t,
            usage_growth=OptionMetric(
                t.usage_growth.max_points, {o: Fraction(6 * (i + 1)) for i, o in enumerate(t.options)}
            ),
        )
        for t in BOOK.tracks
    )
    return dataclasses.replace(BOOK, tracks=tracks)


def _metric_points(book, track, measures, adds):
    out = {}
    for m in METRICS:
        opts = track.options if m in ("USAGE_GROWTH", "DEPLOYMENTS") else ("ALL",)
        out[m] = max(points(track, m, o, measures.get((m, o), 0) + adds.get((m, o), 0)) for o in opts)
    return out


def _qualifies(book, pts):
    return sum(pts.values()) >= book.min_total_points and all(p >= book.min_metric_points for p in pts.values())


def _brute_force(book, track, measures, costs):
    """Cheapest qualifying set by trying every count up to past each cap, one option per metric."""
    reach = {
        "NET_CUSTOMER_ADDS": 12,
        "INTERMEDIATE_CERTIFICATIONS": 4,
        "ADVANCED_CERTIFICATIONS": 2,
        "DEPLOYMENTS": 11,
        "USAGE_GROWTH": 15,
    }
    axes = []
    for m in METRICS:
        opts = track.options if m in ("USAGE_GROWTH", "DEPLOYMENTS") else ("ALL",)
        axes.append([None] + [((m, o), n) for o in opts for n in range(1, reach[m] + 1)])
    best = None
    for combo in itertools.product(*axes):
        adds = dict(c for c in combo if c)
        cost = sum(n * costs.of(m) for (m, _), n in adds.items())
        if best is not None and cost >= best:
            continue
        if _qualifies(book, _metric_points(book, track, measures, adds)):
            best = cost
    return best


measures_st = st.fixed_dictionaries(
    {
        ("NET_CUSTOMER_ADDS", "ALL"): st.integers(-2, 6),
        ("INTERMEDIATE_CERTIFICATIONS", "ALL"): st.integers(0, 4),
        ("ADVANCED_CERTIFICATIONS", "ALL"): st.integers(0, 2),
        ("USAGE_GROWTH", "CPOR"): st.integers(-3, 8),
        ("USAGE_GROWTH", "DPOR"): st.integers(-3, 8),
        ("USAGE_GROWTH", "CSP"): st.integers(-3, 8),
        ("DEPLOYMENTS", "CPOR"): st.integers(-1, 5),
        ("DEPLOYMENTS", "DPOR"): st.integers(-1, 5),
        ("DEPLOYMENTS", "CSP"): st.integers(-1, 5),
    }
)


@settings(max_examples=12, deadline=None)
@given(
    measures_st,
    st.sampled_from(["ENTERPRISE", "SMB"]),
    st.sampled_from([Costs(), Costs(person=Fraction(3), active_user=Fraction(1, 2))]),
)
def test_no_cheaper_plan_than_the_recommendation(measures, track_name, costs):
    book = _small_book()
    track = book.track(track_name)
    plan = recommend(book, track_name, measures, costs)
    brute = _brute_force(book, track, measures, costs)
    assert plan.reachable is (brute is not None)
    if plan.reachable:
        assert plan.cost == brute
        adds = {(g.metric, g.option): g.units for g in plan.gains}
        pts = _metric_points(book, track, measures, adds)
        assert _qualifies(book, pts)
        assert plan.total_after == sum(pts.values())


def test_example_plan_reads_like_partner_center():
    # Enterprise: 5 customers (20), 4 intermediate (10), no advanced, 1,000 CPOR users (30), 3 CPOR deployments (15)
    measures = {
        ("NET_CUSTOMER_ADDS", "ALL"): 5,
        ("INTERMEDIATE_CERTIFICATIONS", "ALL"): 4,
        ("ADVANCED_CERTIFICATIONS", "ALL"): 0,
        ("USAGE_GROWTH", "CPOR"): 1000,
        ("DEPLOYMENTS", "CPOR"): 3,
    }
    plan = recommend(BOOK, "ENTERPRISE", measures)
    assert [g.describe() for g in plan.gains] == ["1 more advanced-certified person (+7.5)"]
    assert plan.total_after == Fraction(165, 2)


def test_already_qualifying_needs_nothing_and_unreachable_is_said():
    measures = {
        ("NET_CUSTOMER_ADDS", "ALL"): 5,
        ("INTERMEDIATE_CERTIFICATIONS", "ALL"): 4,
        ("ADVANCED_CERTIFICATIONS", "ALL"): 2,
        ("USAGE_GROWTH", "CPOR"): 1000,
        ("DEPLOYMENTS", "CPOR"): 5,
    }
    assert recommend(BOOK, "ENTERPRISE", measures).gains == []


def test_recommendation_simulated_through_the_engine_qualifies():
    """Persons and usage: the plan's gains applied to real inputs make the path qualify."""
    w = World()
    for i in range(5):  # Enterprise: 5 new customers, 2 deployed, 600 CPOR users of growth
        w.tenant([w.scored], f"E{i}", "Exchange", 1000, 500 if i < 2 else 0, partner="P", on="2020-01-01")
    w.tenant([w.scored], "E0", "Teams", 4000, 0, partner="P", on="2020-01-01")  # keeps E0 at 500/5000: not deployed
    r = w.score()
    measures = measures_of(r.res.metric_points, "P", "ENTERPRISE")
    plan = recommend(BOOK, "ENTERPRISE", measures)
    assert plan.reachable and plan.gains
    for g in plan.gains:
        if g.metric in ("INTERMEDIATE_CERTIFICATIONS", "ADVANCED_CERTIFICATIONS"):
            w.certs("P", "int" if g.metric.startswith("INTER") else "adv", g.units, prefix="rec")
        elif g.metric == "USAGE_GROWTH":  # more users on a held, counted workload of that option
            w.use(w.scored, "E4", "Teams Phone", 4000, g.units)
            w.assoc(w.scored, "P", "E4", "Teams Phone", g.option, "2020-01-01")
        elif g.metric == "DEPLOYMENTS":
            for j in range(g.units):  # held a year ago, deployed only now: net new deployments
                w.tenant([w.ago(12)], f"D{j}", "Exchange", 1000, 0, partner="P", kind=g.option, on="2020-01-01")
                w.tenant([w.scored], f"D{j}", "Exchange", 1000, 1000, partner="P", kind=g.option, on="2020-01-01")
        else:
            pytest.fail(f"unexpected gain {g}")
    after = w.score()
    assert after.path("P", "ENTERPRISE")["qualifies"] is True


REC_QUERY = """query($id: ID!) { partner(id: $id) { recommendations(month: "2024-12") {
  track reachable cost totalBefore totalAfter gains { metric option units points text } } } }"""


def test_recommendations_over_graphql(api_sqlite):
    data = api_sqlite.client.data(REC_QUERY, {"id": "P000001"})
    recs = data["partner"]["recommendations"]
    assert [r["track"] for r in recs] == ["ENTERPRISE", "SMB"]
    for r in recs:
        if r["reachable"]:
            assert r["totalAfter"] >= 70
            assert r["cost"] == pytest.approx(
                sum(g["units"] * (0.01 if g["metric"] == "USAGE_GROWTH" else 1) for g in r["gains"])
            )
    other = api_sqlite.as_partner("P000002").execute(REC_QUERY, {"id": "P000001"})
    assert other["data"]["partner"] is None
