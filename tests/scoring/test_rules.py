"""Every boundary that scoring-rules.md names, and the seed's consistent worked examples."""

from __future__ import annotations

import pytest

from scoring.frames import MissingSnapshotError
from tests.support.builders import World

ENT, SMB = "ENTERPRISE", "SMB"
OLD = "2020-01-01"  # an association date long before M-12
INT_CERT = "Microsoft 365 Fundamentals"
ADV_CERT = "Microsoft 365 Certified: Enterprise Administrator Expert"


# ---- tenant eligibility ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "seats,tracks",
    [(0, set()), (10, set()), (11, {SMB}), (300, {SMB}), (301, {ENT}), (50_000, {ENT})],
)
def test_seat_bands(seats, tracks):
    w = World().use(World().scored, "T", "Exchange", seats, 0)
    assert w.score().eligible("T") == tracks


def test_a_tenant_can_be_eligible_for_both_tracks_and_ineligible_workloads_never_count():
    w = World()
    w.use(w.scored, "BOTH", "Teams", 20, 0).use(w.scored, "BOTH", " exchange ", 900, 0)
    w.use(w.scored, "OTHER", "Dynamics 365", 5000, 0).use(w.scored, "OTHER", "Teams", 5, 0)
    r = w.score()
    assert r.eligible("BOTH") == {ENT, SMB}
    assert r.eligible("OTHER") == set()


# ---- net customer adds ----------------------------------------------------------------------


def test_net_customer_adds_pool_options_and_count_tenants_once():
    w = World()
    now, ago = w.scored, w.ago(12)
    for t in ("A", "B", "C"):
        w.tenant([now], t, "Exchange", 500, 0, partner="P", kind="CPOR", on=OLD)
    w.assoc(now, "P", "A", "Teams", "DPOR", OLD)  # a second option on the same tenant: still one
    w.tenant([ago], "A", "Exchange", 500, 0, partner="P", kind="DPOR", on=OLD)
    w.tenant([now], "S", "Teams", 50, 0, partner="P", kind="CSP_T1", on=OLD)  # SMB only
    r = w.score()
    nca = r.metric("P", ENT, "NET_CUSTOMER_ADDS")
    assert (nca["current"], nca["year_ago"], nca["value"], nca["points"]) == (3, 1, 2, 8.0)
    assert nca["option"] == "ALL"
    smb = r.metric("P", SMB, "NET_CUSTOMER_ADDS")
    assert (smb["value"], smb["points"]) == (1, 2.0)


def test_net_customer_adds_cap_and_negative_net():
    w = World()
    for i in range(7):
        w.tenant([w.scored], f"N{i}", "Exchange", 400, 0, partner="P", on=OLD)
        w.tenant([w.ago(12)], f"L{i}", "Teams", 50, 0, partner="P", on=OLD)
    r = w.score()
    assert r.metric("P", ENT, "NET_CUSTOMER_ADDS")["points"] == 20.0  # 7 * 4 capped at 20
    smb = r.metric("P", SMB, "NET_CUSTOMER_ADDS")
    assert (smb["value"], smb["points"]) == (-7, 0.0)


def test_held_but_ineligible_workload_or_wrong_option_does_not_serve():
    w = World()
    w.tenant([w.scored], "T", "Exchange", 900, 0)
    w.assoc(w.scored, "P", "T", "Dynamics 365", "CPOR", OLD)  # workload not eligible
    w.assoc(w.scored, "P", "T", "Exchange", "CSP_T2", OLD)  # CSP is not an Enterprise option
    r = w.score()
    assert r.metric("P", ENT, "NET_CUSTOMER_ADDS")["current"] == 0


# ---- skilling -------------------------------------------------------------------------------


def test_persons_count_once_alias_and_folding():
    w = World()
    w.cert("P", "a", INT_CERT).cert("P", "a", "Microsoft 365 Certified: Teams Administrator Associate")
    w.cert("P", "b", "Microsoft 365 Certified: Modern Desktop Administrator Associate")  # alias
    w.cert("P", "c", "  microsoft 365 FUNDAMENTALS ")
    w.cert("P", "d", "microsoft 365 certified: teams administrator")  # not a listed name
    w.cert("P", "a", ADV_CERT)  # same person, other metric
    r = w.score()
    assert r.metric("P", ENT, "INTERMEDIATE_CERTIFICATIONS")["value"] == 3
    assert r.points("P", ENT, "INTERMEDIATE_CERTIFICATIONS") == 7.5
    assert r.points("P", SMB, "INTERMEDIATE_CERTIFICATIONS") == 10.0  # 3 * 5 capped
    assert r.metric("P", ENT, "ADVANCED_CERTIFICATIONS")["value"] == 1
    assert r.points("P", ENT, "ADVANCED_CERTIFICATIONS") == 7.5
    assert r.points("P", SMB, "ADVANCED_CERTIFICATIONS") == 15.0


@pytest.mark.parametrize(
    "earned,expires,counts",
    [
        ("2024-06-30", None, True),  # earned on the month's last day
        ("2024-07-01", None, False),  # earned after the month
        ("2020-01-01", "2024-06-30", False),  # expires on the month's last day
        ("2020-01-01", "2024-07-01", True),  # expires the day after
        ("2020-01-01", "2024-06-15", False),
    ],
)
def test_certification_active_at_month_end(earned, expires, counts):
    w = World(scored="2024-06").cert("P", "a", ADV_CERT, earned, expires)
    assert w.score().metric("P", ENT, "ADVANCED_CERTIFICATIONS")["value"] == int(counts)


# ---- usage growth ---------------------------------------------------------------------------


def test_seed_enterprise_usage_example_and_cap():
    """DPOR 2,000 -> 15 points; CPOR 1,500 -> 45 capped at 30; the metric takes CPOR."""
    w = World()
    now, ago = w.scored, w.ago(12)
    w.tenant([ago], "A", "Exchange", 3000, 100, partner="P", kind="CPOR", on=OLD)
    w.tenant([now], "A", "Exchange", 3000, 1600, partner="P", kind="CPOR", on=OLD)
    w.tenant([ago], "B", "Teams", 3000, 0, partner="P", kind="DPOR", on=OLD)
    w.tenant([now], "B", "Teams", 3000, 2000, partner="P", kind="DPOR", on=OLD)
    r = w.score()
    assert r.metric("P", ENT, "USAGE_GROWTH", "DPOR")["value"] == 2000
    assert r.points("P", ENT, "USAGE_GROWTH", "DPOR") == 15.0
    assert r.metric("P", ENT, "USAGE_GROWTH", "CPOR")["value"] == 1500
    assert r.points("P", ENT, "USAGE_GROWTH", "CPOR") == 30.0
    win = r.metric("P", ENT, "USAGE_GROWTH")
    assert (win["option"], win["value"], win["points"]) == ("CPOR", 1500, 30.0)


def test_option_tie_goes_to_the_first_option():
    w = World()
    w.tenant([w.scored], "A", "Exchange", 9000, 5000, partner="P", kind="CPOR", on=OLD)
    w.tenant([w.scored], "B", "Exchange", 9000, 8000, partner="P", kind="DPOR", on=OLD)
    win = w.score().metric("P", ENT, "USAGE_GROWTH")
    assert (win["option"], win["points"]) == ("CPOR", 30.0)


def test_negative_growth_scores_zero_but_reports_the_loss():
    w = World()
    w.tenant([w.ago(12)], "A", "Exchange", 900, 500, partner="P", on=OLD)
    w.tenant([w.scored], "A", "Exchange", 900, 200, partner="P", on=OLD)
    m = w.score().metric("P", ENT, "USAGE_GROWTH", "CPOR")
    assert (m["value"], m["points"]) == (-300, 0.0)


def test_usage_only_counts_while_tenant_is_eligible_and_no_usage_row_is_zero():
    w = World()
    w.use(w.scored, "A", "Exchange", 900, 100)
    w.assoc(w.scored, "P", "A", "Exchange", "CPOR", OLD)
    w.assoc(w.scored, "P", "A", "Teams", "CPOR", OLD)  # held, no usage row: 0 seats, 0 users
    w.tenant([w.scored], "SMALL", "Exchange", 100, 90, partner="P", on=OLD)  # not ENT-eligible
    r = w.score()
    assert r.metric("P", ENT, "USAGE_GROWTH", "CPOR")["current"] == 100
    d = r.detail("P", "A", ENT, "CPOR")
    assert (d["workloads"], d["paid_seats"], d["active_users"]) == (2, 900, 100)


@pytest.mark.parametrize(
    "assoc_on,users_at_claim,expected_growth",
    [
        ("2024-01-15", 300, 400),  # new within 12 months: users at claim are baseline
        ("2023-07-01", 300, 400),  # first month after M-12
        ("2023-06-30", 300, 700),  # in M-12's month: not after M-12, no baseline
        ("2024-01-15", None, 700),  # no usage row in the claim month: baseline 0
        ("2024-06-10", None, 0),  # claimed in M itself: the baseline is M's own users
    ],
)
def test_usage_baseline_for_new_associations(assoc_on, users_at_claim, expected_growth):
    w = World()
    w.use(w.ago(12), "A", "Exchange", 2000, 100)  # not held by P a year ago
    claim_month = assoc_on[:7]
    if users_at_claim is not None and claim_month != w.scored:
        w.use(claim_month, "A", "Exchange", 2000, users_at_claim)
    w.tenant([w.scored], "A", "Exchange", 2000, 700, partner="P", on=assoc_on)
    m = w.score().metric("P", ENT, "USAGE_GROWTH", "CPOR")
    assert m["value"] == expected_growth
    assert m["adjustment"] == 700 - expected_growth


def test_usage_baseline_not_applied_to_what_was_counted_a_year_ago():
    w = World()
    w.tenant([w.ago(12)], "A", "Exchange", 2000, 100, partner="P", on=OLD)
    w.use("2024-01", "A", "Exchange", 2000, 300)
    w.tenant([w.scored], "A", "Exchange", 2000, 700, partner="P", on="2024-01-15")  # re-dated
    m = w.score().metric("P", ENT, "USAGE_GROWTH", "CPOR")
    assert (m["value"], m["adjustment"]) == (600, 0)


# ---- deployments ----------------------------------------------------------------------------


@pytest.mark.parametrize("active,deployed", [(400, True), (399, False), (1000, True)])
def test_forty_percent_boundary(active, deployed):
    w = World().tenant([World().scored], "A", "Exchange", 1000, active, partner="P", on=OLD)
    assert w.score().detail("P", "A", ENT, "CPOR")["deployed"] is deployed


def test_zero_paid_seats_is_never_deployed():
    w = World()
    w.use(w.scored, "A", "Exchange", 900, 0)  # makes A eligible; not held
    w.assoc(w.scored, "P", "A", "Teams", "CPOR", OLD)  # held workload without seats
    assert w.score().detail("P", "A", ENT, "CPOR")["deployed"] is False


def test_seed_enterprise_deployments_example():
    """4 net DPOR deployments -> 10 points; 3 CPOR -> 15; the metric takes CPOR."""
    w = World()
    for i in range(4):
        w.tenant([w.ago(12)], f"D{i}", "Exchange", 1000, 100, partner="P", kind="DPOR", on=OLD)
        w.tenant([w.scored], f"D{i}", "Exchange", 1000, 500, partner="P", kind="DPOR", on=OLD)
    for i in range(3):
        w.tenant([w.scored], f"C{i}", "Exchange", 1000, 500, partner="P", kind="CPOR", on=OLD)
    r = w.score()
    assert (r.metric("P", ENT, "DEPLOYMENTS", "DPOR")["value"], r.points("P", ENT, "DEPLOYMENTS", "DPOR")) == (4, 10.0)
    assert (r.metric("P", ENT, "DEPLOYMENTS", "CPOR")["value"], r.points("P", ENT, "DEPLOYMENTS", "CPOR")) == (3, 15.0)
    assert r.metric("P", ENT, "DEPLOYMENTS")["option"] == "CPOR"


@pytest.mark.parametrize(
    "active_at_claim,excluded",
    [(450, True), (400, True), (399, False), (None, False)],  # None: no usage row at claim
)
def test_deployment_already_deployed_at_claim_is_excluded(active_at_claim, excluded):
    w = World()
    if active_at_claim is not None:
        w.use("2024-02", "A", "Exchange", 1000, active_at_claim)
    w.tenant([w.scored], "A", "Exchange", 1000, 500, partner="P", kind="CPOR", on="2024-02-03")
    r = w.score()
    m = r.metric("P", ENT, "DEPLOYMENTS", "CPOR")
    assert r.detail("P", "A", ENT, "CPOR")["excluded"] is excluded
    assert (m["current"], m["adjustment"], m["value"]) == (1, int(excluded), 1 - int(excluded))


def test_exclusion_tests_the_same_held_workloads_together_at_claim():
    w = World()
    # At claim (2024-02): Exchange 30% and Teams 60% of 1000 -> together 45%: excluded.
    w.use("2024-02", "A", "Exchange", 1000, 300).use("2024-02", "A", "Teams", 1000, 600)
    w.use("2024-02", "A", "Yammer", 1000, 0)  # not held by P: not part of the test
    w.tenant([w.scored], "A", "Exchange", 1000, 500, partner="P", on="2024-03-01")
    w.tenant([w.scored], "A", "Teams", 1000, 500, partner="P", on="2024-02-10")
    assert w.score().detail("P", "A", ENT, "CPOR")["excluded"] is True


def test_deployed_a_year_ago_is_never_excluded():
    w = World()
    w.tenant([w.ago(12)], "A", "Exchange", 1000, 500, partner="P", on=OLD)
    w.use("2024-02", "A", "Exchange", 1000, 900)
    w.tenant([w.scored], "A", "Exchange", 1000, 500, partner="P", on="2024-02-03")
    r = w.score()
    assert r.detail("P", "A", ENT, "CPOR")["excluded"] is False
    m = r.metric("P", ENT, "DEPLOYMENTS", "CPOR")
    assert (m["current"], m["year_ago"], m["adjustment"], m["value"]) == (1, 1, 0, 0)


def test_csp_t1_and_t2_rows_count_once_with_the_earliest_date():
    w = World()
    w.use(w.scored, "S", "Teams", 100, 50)
    w.assoc(w.scored, "P", "S", "Teams", "CSP_T1", "2024-02-01")
    w.assoc(w.scored, "P", "S", "teams ", "csp_t2", "2023-05-01")
    r = w.score()
    held = r.res.holdings.filter(r.res.holdings["partner_id"] == "P")
    assert held.height == 1
    assert (held["option"][0], str(held["associated_on"][0])) == ("CSP", "2023-05-01")
    m = r.metric("P", SMB, "USAGE_GROWTH", "CSP")
    assert (m["current"], m["adjustment"]) == (50, 0)  # dated before M-12: no baseline
    assert r.metric("P", SMB, "DEPLOYMENTS", "CSP")["value"] == 1


# ---- totals and the designation -------------------------------------------------------------


def _smb_seventy(w: World, last_active: int) -> World:
    """SMB: adds 16 + intermediate 10 + advanced 15 + usage CPOR 16.5 + deployments CSP 12.5."""
    now, ago = w.scored, w.ago(12)
    for i in range(8):  # 8 new CPOR customers, 275 users in all, none deployed (< 40 of 100)
        w.tenant([now], f"S{i}", "Exchange", 100, last_active if i == 7 else 34, partner="P", on=OLD)
    for i in range(5):  # 5 CSP customers held a year ago, deployed only now
        w.tenant([ago], f"C{i}", "Teams", 50, 10, partner="P", kind="CSP_T1", on=OLD)
        w.tenant([now], f"C{i}", "Teams", 50, 25, partner="P", kind="CSP_T2", on=OLD)
    return w.certs("P", "int", 2).certs("P", "adv", 1)


def test_total_of_exactly_seventy_with_usage_part_sixteen_and_a_half_qualifies():
    r = _smb_seventy(World(), last_active=37).score()
    assert r.points("P", SMB, "NET_CUSTOMER_ADDS") == 16.0
    assert r.points("P", SMB, "USAGE_GROWTH") == 16.5
    assert r.metric("P", SMB, "USAGE_GROWTH")["option"] == "CPOR"
    assert r.points("P", SMB, "DEPLOYMENTS") == 12.5
    assert r.metric("P", SMB, "DEPLOYMENTS")["option"] == "CSP"
    path = r.path("P", SMB)
    assert (path["total"], path["qualifies"]) == (70.0, True)
    d = r.designation("P")
    assert (d["attained"], d["best_track"], d["score"]) == (True, SMB, 70.0)


def test_one_user_short_of_seventy_does_not_qualify():
    r = _smb_seventy(World(), last_active=36).score()
    assert r.path("P", SMB)["total"] == pytest.approx(69.94)
    assert r.path("P", SMB)["qualifies"] is False
    assert r.designation("P")["attained"] is False


def _enterprise(w: World, *, dpor_growth: int, cpor_deployments: int) -> World:
    """Enterprise: adds 20 (5 new DPOR customers), skilling 25, CPOR deployments, DPOR usage."""
    now, ago = w.scored, w.ago(12)
    for i in range(cpor_deployments):  # customers of a year ago, deployed only now, no growth
        w.tenant([ago], f"E{i}", "Exchange", 2000, 500, partner="P", on=OLD)
        w.tenant([now], f"E{i}", "Exchange", 1000, 500, partner="P", on=OLD)
    for i in range(5):  # new DPOR customers carrying the usage growth, none deployed
        users = dpor_growth // 5 + (1 if i < dpor_growth % 5 else 0)
        w.tenant([now], f"D{i}", "Exchange", 3000, users, partner="P", kind="DPOR", on=OLD)
    return w.certs("P", "int", 4).certs("P", "adv", 2)


def test_dpor_growth_of_1333_gives_69_9975_and_does_not_qualify():
    r = _enterprise(World(), dpor_growth=1333, cpor_deployments=3).score()
    assert r.points("P", ENT, "USAGE_GROWTH") == pytest.approx(9.9975, abs=1e-12)
    path = r.path("P", ENT)
    assert path["total"] == pytest.approx(69.9975, abs=1e-12)
    assert f"{path['total']:.2f}" == "70.00"  # shows as 70.00, still does not qualify
    assert path["qualifies"] is False


def test_dpor_growth_of_1334_qualifies():
    r = _enterprise(World(), dpor_growth=1334, cpor_deployments=3).score()
    assert r.path("P", ENT)["total"] == pytest.approx(70.005, abs=1e-12)
    assert r.path("P", ENT)["qualifies"] is True
    assert r.designation("P")["attained"] is True


@pytest.mark.parametrize("growth,qualifies", [(133, False), (134, True)])
def test_total_over_seventy_needs_every_metric_at_one_point(growth, qualifies):
    r = _enterprise(World(), dpor_growth=growth, cpor_deployments=5).score()
    path = r.path("P", ENT)
    assert path["total"] > 70
    assert path["qualifies"] is qualifies
    assert path["metrics_at_minimum"] == (5 if qualifies else 4)


def test_zero_in_one_metric_blocks_a_high_total():
    r = _enterprise(World(), dpor_growth=4000, cpor_deployments=0).score()
    assert r.path("P", ENT)["total"] == 75.0  # 20 + 10 + 15 + 30 + 0
    assert r.path("P", ENT)["qualifies"] is False


def test_smb_only_qualification_beside_a_higher_enterprise_total():
    w = World()
    for i in range(5):  # Enterprise: 5 new customers, 1,250 CPOR users, none deployed -> 75, no deployments
        w.tenant([w.scored], f"E{i}", "Exchange", 1000, 250, partner="P", on=OLD)
    for i in range(10):  # SMB: 10 new customers, 365 users, one deployment
        w.tenant([w.scored], f"S{i}", "Teams", 100, 50 if i == 0 else 35, partner="P", on=OLD)
    w.certs("P", "int", 4).certs("P", "adv", 2)
    r = w.score()
    assert (r.path("P", ENT)["total"], r.path("P", ENT)["qualifies"]) == (75.0, False)
    assert r.path("P", SMB)["total"] == pytest.approx(71.9)
    assert r.path("P", SMB)["qualifies"] is True
    d = r.designation("P")
    assert (d["attained"], d["best_track"]) == (True, SMB)
    assert d["score"] == pytest.approx(71.9)


def test_no_qualifying_track_takes_the_higher_total_and_ties_go_to_enterprise():
    w = World().certs("P", "adv", 1)  # ENT 7.5, SMB 15
    assert w.score().designation("P")["best_track"] == SMB
    r = World().score(extra_partners=("Q",))  # nothing at all: zeros, Enterprise
    d = r.designation("Q")
    assert (d["attained"], d["best_track"], d["score"]) == (False, ENT, 0.0)
    assert r.res.metric_points.filter(r.res.metric_points["partner_id"] == "Q").height == 14
    assert r.res.metric_points["points"].sum() == 0


# ---- months that cannot be scored ----------------------------------------------------------


@pytest.mark.parametrize("gone", ["2023-06", "2024-01", "2024-06"])
def test_missing_snapshot_names_the_month(gone):
    w = World(drop_months={gone})
    with pytest.raises(MissingSnapshotError) as exc:
        w.score()
    assert gone in str(exc.value)
    assert "2024-06" in str(exc.value)
