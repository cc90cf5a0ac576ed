"""The what-if simulator, qualification status and warnings (issue 6), pure and through the API."""

from __future__ import annotations

import polars as pl
import pytest

from scoring import simulate as sim
from scoring.frames import CERTIFICATIONS_SCHEMA
from scoring.scorecards import scorecards
from tests.support.api_server import example_results
from tests.support.builders import RULEBOOKS, World, day, month
from tests.support.paths import EXAMPLE_DATA

METRICS = ("NET_CUSTOMER_ADDS", "INTERMEDIATE_CERTIFICATIONS", "ADVANCED_CERTIFICATIONS", "USAGE_GROWTH", "DEPLOYMENTS")


def run(w: World, changes: list, partner: str = "P1") -> sim.SimulationResult:
    return sim.simulate(
        partner_id=partner,
        month=w.m,
        snapshots=w.snapshots(),
        certifications=pl.DataFrame(w.cert_rows, schema=CERTIFICATIONS_SCHEMA, orient="row"),
        rulebooks=w.rulebooks,
        changes=changes,
    )


def points(res, track: str) -> dict[str, float]:
    f = res.metric_points.filter(pl.col("is_winner") & (pl.col("track") == track))
    return dict(zip(f["metric"], f["points"], strict=True))


def changed(r: sim.SimulationResult) -> dict[tuple[str, str], float]:
    out = {}
    for t in ("ENTERPRISE", "SMB"):
        a, s = points(r.actual, t), points(r.simulated, t)
        for m in METRICS:
            if a[m] != s[m]:
                out[(t, m)] = s[m] - a[m]
    return out


def base_world() -> World:
    """P1 holds an enterprise tenant (600 seats, 100 active users both years) and an SMB one."""
    w = World()
    w.tenant([w.ago(12), w.scored], "TE", "Exchange", 600, 100, partner="P1")
    w.tenant([w.ago(12), w.scored], "TS", "Teams", 50, 10, partner="P1")
    w.certs("P1", "adv", 1).certs("P1", "int", 1)
    return w


# ---- no changes == the scoring ---------------------------------------------------------------


@pytest.mark.skipif(not EXAMPLE_DATA.exists(), reason="example data not beside the project")
@pytest.mark.parametrize("partner", ["P000000", "P000001", "P000003", "P000007"])
@pytest.mark.parametrize("mon", ["2024-06", "2024-10", "2024-12"])
def test_no_changes_equals_the_stored_scorecard(partner, mon):
    inputs = sim.load_partner_inputs(EXAMPLE_DATA, partner, month(mon))
    r = sim.simulate(
        partner_id=partner,
        month=month(mon),
        snapshots=inputs.snapshots,
        certifications=inputs.certifications,
        rulebooks=RULEBOOKS,
        changes=[],
    )
    stored = [c for c in scorecards(example_results().result) if c["partnerId"] == partner and c["month"] == mon]
    assert scorecards(r.actual) == stored
    assert scorecards(r.simulated) == stored


def test_no_changes_equals_full_scoring_of_a_world_with_other_partners():
    w = base_world()
    w.tenant([w.ago(12), w.scored], "TE", "Exchange", 600, 100, partner="P2", kind="DPOR")
    full = w.score()
    r = run(w, [])
    assert scorecards(r.actual) == [c for c in scorecards(full.res) if c["partnerId"] == "P1"]


# ---- each change moves exactly its metric ----------------------------------------------------


def test_add_advanced_person():
    r = run(base_world(), [sim.AddCertifiedPersons("ADVANCED", 1)])
    assert changed(r) == {("ENTERPRISE", "ADVANCED_CERTIFICATIONS"): 7.5}  # SMB already capped at 15
    w = base_world()
    w.cert_rows = [c for c in w.cert_rows if "Expert" not in c[2]]
    r = run(w, [sim.AddCertifiedPersons("ADVANCED", 1)])
    assert changed(r) == {("ENTERPRISE", "ADVANCED_CERTIFICATIONS"): 7.5, ("SMB", "ADVANCED_CERTIFICATIONS"): 15.0}


def test_add_and_remove_intermediate_persons():
    r = run(base_world(), [sim.AddCertifiedPersons("INTERMEDIATE", 2)])
    assert changed(r) == {
        ("ENTERPRISE", "INTERMEDIATE_CERTIFICATIONS"): 5.0,
        ("SMB", "INTERMEDIATE_CERTIFICATIONS"): 5.0,
    }
    r = run(base_world(), [sim.RemoveCertifiedPersons("INTERMEDIATE", 1)])
    assert changed(r) == {
        ("ENTERPRISE", "INTERMEDIATE_CERTIFICATIONS"): -2.5,
        ("SMB", "INTERMEDIATE_CERTIFICATIONS"): -5.0,
    }


def test_remove_persons_ignores_expired_and_other_levels():
    w = base_world()
    w.cert("P1", "old", "Microsoft 365 Certified: Enterprise Administrator Expert", expires="2023-01-01")
    r = run(w, [sim.RemoveCertifiedPersons("ADVANCED", 5)])
    assert changed(r) == {("ENTERPRISE", "ADVANCED_CERTIFICATIONS"): -7.5, ("SMB", "ADVANCED_CERTIFICATIONS"): -15.0}


def test_add_enterprise_customer():
    r = run(base_world(), [sim.AddCustomer(seats=500, active_users=300, option="CPOR")])
    assert changed(r) == {
        ("ENTERPRISE", "NET_CUSTOMER_ADDS"): 4.0,
        ("ENTERPRISE", "USAGE_GROWTH"): 9.0,  # 300 users * 30 / 1000
        ("ENTERPRISE", "DEPLOYMENTS"): 5.0,  # 1 deployment * 25 / 5
    }


def test_add_customer_associated_recently_gets_baseline_and_exclusion():
    w = base_world()
    r = run(w, [sim.AddCustomer(seats=500, active_users=300, associated_on=day("2024-06-10"))])
    # associated in M itself: its users are the baseline and the deployment is excluded
    assert changed(r) == {("ENTERPRISE", "NET_CUSTOMER_ADDS"): 4.0}


def test_add_smb_customer_csp():
    r = run(base_world(), [sim.AddCustomer(seats=100, active_users=50, option="CSP", workloads=["Teams"])])
    assert changed(r) == {
        ("SMB", "NET_CUSTOMER_ADDS"): 2.0,
        ("SMB", "USAGE_GROWTH"): 0.75,  # 50 * 30 / 2000
        ("SMB", "DEPLOYMENTS"): 2.5,  # 1 * 25 / 10
    }


def test_change_active_users():
    r = run(base_world(), [sim.ChangeActiveUsers("TE", "exchange ", 400)])
    assert changed(r) == {("ENTERPRISE", "USAGE_GROWTH"): 9.0, ("ENTERPRISE", "DEPLOYMENTS"): 5.0}


def test_lose_association():
    w = base_world()
    r = run(w, [sim.LoseAssociation("TE")])
    a = r.actual.metric_points.filter((pl.col("track") == "ENTERPRISE") & (pl.col("metric") == "NET_CUSTOMER_ADDS"))
    s = r.simulated.metric_points.filter((pl.col("track") == "ENTERPRISE") & (pl.col("metric") == "NET_CUSTOMER_ADDS"))
    assert (a["current"][0], s["current"][0]) == (1, 0)
    assert changed(r) == {}  # net adds and growth were already 0 (negative values score 0)
    # of another option: nothing changes at all
    r = run(w, [sim.LoseAssociation("TE", "DPOR")])
    assert r.simulated.metric_points.equals(r.actual.metric_points)


def test_add_customer_then_lose_it_is_the_actual_score():
    r = run(base_world(), [sim.AddCustomer(tenant_id="NEW", seats=500, active_users=300), sim.LoseAssociation("NEW")])
    assert scorecards(r.simulated) == scorecards(r.actual)


def test_changes_do_not_touch_the_inputs():
    w = base_world()
    snaps = w.snapshots()
    before = (snaps.usage.clone(), snaps.associations.clone())
    sim.simulate(
        partner_id="P1",
        month=w.m,
        snapshots=snaps,
        certifications=pl.DataFrame(w.cert_rows, schema=CERTIFICATIONS_SCHEMA, orient="row"),
        rulebooks=RULEBOOKS,
        changes=[sim.AddCustomer(seats=500, active_users=300), sim.LoseAssociation("TE")],
    )
    assert snaps.usage.equals(before[0]) and snaps.associations.equals(before[1])


# ---- status over a window --------------------------------------------------------------------


def _designations(rows):
    return pl.DataFrame(
        [(month(m), "P1", a, t, 0.0) for m, a, t in rows],
        schema={
            "month": pl.Date,
            "partner_id": pl.String,
            "attained": pl.Boolean,
            "best_track": pl.String,
            "score": pl.Float64,
        },
        orient="row",
    )


def test_qualification_status_window():
    d = _designations(
        [("2024-01", True, "SMB"), ("2024-02", False, "SMB"), ("2024-03", True, "ENTERPRISE")]
        + [(f"2024-{k:02d}", False, "SMB") for k in range(4, 13)]
    )
    st = sim.qualification_status(d, "P1", month("2024-03"))
    assert (st.qualified, st.since_month, st.track) == (True, month("2024-03"), "ENTERPRISE")
    st = sim.qualification_status(d, "P1", month("2024-08"))  # 2024-03 is the 6th month back
    assert (st.qualified, st.since_month, st.track, st.valid_through) == (
        True,
        month("2024-03"),
        "ENTERPRISE",
        month("2024-08"),
    )
    assert not sim.qualification_status(d, "P1", month("2024-09")).qualified
    assert not sim.qualification_status(d, "P2", month("2024-03")).qualified
    st = sim.qualification_status(d, "P1", month("2024-02"))
    assert (st.qualified, st.since_month, st.track) == (True, month("2024-01"), "SMB")


@pytest.mark.skipif(not EXAMPLE_DATA.exists(), reason="example data not beside the project")
def test_qualification_status_on_the_example():
    d = example_results().result.designations
    attained = set(d.filter(pl.col("attained") & (pl.col("partner_id") == "P000003"))["month"].to_list())
    for m in sorted(set(d["month"].to_list())):
        st = sim.qualification_status(d, "P000003", m)
        expected = any(a <= m and (m.year * 12 + m.month) - (a.year * 12 + a.month) < 6 for a in attained)
        assert st.qualified == expected, m


# ---- warnings --------------------------------------------------------------------------------


def test_expiring_certifications():
    w = World()
    w.cert("P1", "a", "Microsoft 365 Fundamentals", expires="2024-07-15")
    w.cert("P1", "b", "Microsoft 365 Fundamentals", expires="2024-09-28")  # day 90 after 2024-06-30
    w.cert("P1", "c", "Microsoft 365 Fundamentals", expires="2024-09-29")  # day 91
    w.cert("P1", "d", "Microsoft 365 Fundamentals", expires="2024-06-30")  # already expired at month end
    w.cert("P1", "e", "Microsoft 365 Fundamentals")  # no expiry
    w.cert("P2", "f", "Microsoft 365 Fundamentals", expires="2024-07-15")
    certs = pl.DataFrame(w.cert_rows, schema=CERTIFICATIONS_SCHEMA, orient="row")
    assert sim.expiring_certifications(certs, "P1", w.m)["person_id"].to_list() == ["a", "b"]


def _attaining_world() -> World:
    """P1 attains ENTERPRISE with exactly 70 points: 4 new deployed customers (16 + 24 + 20 points)
    and 1 + 1 persons (2.5 + 7.5); it also holds a tiny tenant that counts nowhere."""
    w = World()
    for i in range(4):
        w.tenant([w.scored], f"T{i}", "Exchange", 500, 200, partner="P1")
    w.tenant([w.ago(12), w.scored], "TINY", "Exchange", 5, 5, partner="P1")
    w.certs("P1", "adv", 1).certs("P1", "int", 1)
    return w


def test_customers_at_risk():
    w = _attaining_world()
    certs = pl.DataFrame(w.cert_rows, schema=CERTIFICATIONS_SCHEMA, orient="row")
    full = w.score()
    assert full.designation("P1")["attained"] and full.designation("P1")["score"] == 70
    risk = sim.customers_at_risk(
        partner_id="P1", month=w.m, snapshots=w.snapshots(), certifications=certs, rulebooks=RULEBOOKS
    )
    # losing any of the 4 new customers drops the total below 70; the tiny one is harmless
    assert [c.tenant_id for c in risk] == [f"T{i}" for i in range(4)]
    assert all(c.score < 70 for c in risk)


def test_no_customers_at_risk_when_not_attained():
    w = base_world()
    certs = pl.DataFrame(w.cert_rows, schema=CERTIFICATIONS_SCHEMA, orient="row")
    assert (
        sim.customers_at_risk(
            partner_id="P1", month=w.m, snapshots=w.snapshots(), certifications=certs, rulebooks=RULEBOOKS
        )
        == []
    )


# ---- GraphQL ---------------------------------------------------------------------------------

SIMULATE = """
query($p: ID!, $m: Month, $c: SimulationChangesInput!) {
  simulate(partnerId: $p, month: $m, changes: $c) {
    partnerId month scoreDelta attainedChanges
    actual { score attained bestTrack paths { track total metrics { metric points } } }
    simulated { score attained paths { track total metrics { metric points } } }
    metricDeltas { track metric actualPoints simulatedPoints delta }
  }
}
"""


def test_graphql_simulate_status_and_warnings(api_sqlite):
    changes = {"addCertifiedPersons": [{"level": "ADVANCED", "count": 1}]}
    data = api_sqlite.client.data(SIMULATE, {"p": "P000003", "m": "2024-10", "c": changes})["simulate"]
    stored = next(
        c for c in scorecards(example_results().result) if c["partnerId"] == "P000003" and c["month"] == "2024-10"
    )
    assert data["actual"]["score"] == stored["score"] and data["actual"]["attained"] == stored["attained"]
    assert data["scoreDelta"] == pytest.approx(data["simulated"]["score"] - data["actual"]["score"])
    moved = {(d["track"], d["metric"]) for d in data["metricDeltas"] if d["delta"]}
    assert moved <= {("ENTERPRISE", "ADVANCED_CERTIFICATIONS"), ("SMB", "ADVANCED_CERTIFICATIONS")}

    # a partner token reads only itself
    mine = api_sqlite.as_partner("P000001").data(SIMULATE, {"p": "P000001", "m": "2024-10", "c": {}})
    assert mine["simulate"]["scoreDelta"] == 0
    other = api_sqlite.as_partner("P000001").data(SIMULATE, {"p": "P000003", "m": "2024-10", "c": changes})
    assert other["simulate"] is None

    q = """query($p: ID!, $m: Month) { partner(id: $p) {
        status(month: $m) { state qualified sinceMonth track validThrough }
        warnings(month: $m) { expiringCertifications { personId expiresOn daysLeft } customersAtRisk { tenantId } }
    } }"""
    p = api_sqlite.client.data(q, {"p": "P000003", "m": "2024-12"})["partner"]
    assert p["status"] == {
        "state": "QUALIFIED",
        "qualified": True,
        "sinceMonth": "2024-10",
        "track": "SMB",
        "validThrough": "2025-03",
    }
    assert p["warnings"]["customersAtRisk"] == []  # not attained in 2024-12
    p = api_sqlite.client.data(q, {"p": "P000003", "m": "2024-10"})["partner"]
    assert isinstance(p["warnings"]["customersAtRisk"], list)
    assert api_sqlite.as_partner("P000001").data(q, {"p": "P000003", "m": "2024-10"})["partner"] is None


def test_add_customer_with_an_existing_tenant_id_is_refused():
    with pytest.raises(ValueError, match="already has usage"):
        run(base_world(), [sim.AddCustomer(tenant_id="TE", seats=500, active_users=300)])


def test_graphql_simulate_rejects_bad_changes(api_sqlite):
    body = api_sqlite.client.execute(
        SIMULATE,
        {"p": "P000003", "m": "2024-10", "c": {"addCustomers": [{"tenantId": "x", "seats": -1, "activeUsers": 1}]}},
    )
    assert body["data"]["simulate"] is None and "out of range" in body["errors"][0]["message"]
