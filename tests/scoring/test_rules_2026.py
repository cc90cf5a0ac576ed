"""Every reading of docs/scoring-rules-2026.md, at its boundary, written from the rules.

Version 2026-09 is in force from 2026-09; 2026-08 is scored under the 2023 rules. Each month is
scored wholly under its own version, its year-ago side and association months included.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from scoring import simulate as sim
from scoring.facts import narrowed_facts, snapshot_facts
from scoring.frames import InputError
from scoring.ingest import read_month
from scoring.rulebook import DEFAULT_RULEBOOK_PATH, load_rulebooks
from tests.support.builders import RULEBOOKS, World
from tests.support.inputs import ASSOC_HEADER, USAGE_HEADER, write_csv
from tests.support.paths import EXAMPLE_2026

ENT, SMB = "ENTERPRISE", "SMB"
NCA, UG, DEP = "NET_CUSTOMER_ADDS", "USAGE_GROWTH", "DEPLOYMENTS"
INT, ADV = "INTERMEDIATE_CERTIFICATIONS", "ADVANCED_CERTIFICATIONS"
OLD = "2020-01-01"  # an association date long before M-12
BEFORE, AFTER = "2026-08", "2026-09"  # the last 2023 month, the first 2026 month

RENAMES = [
    ("Exchange", "Exchange Online"),
    ("SharePoint", "SharePoint Online"),
    ("ProPlus", "Microsoft 365 Apps"),
    ("Yammer", "Viva Engage"),
    ("VivaInsights", "Viva Insights"),
    ("VivaTopics", "Viva Topics"),
    ("VivaLearning", "Viva Learning"),
    ("VivaConnections", "Viva Connections"),
]

FUNDAMENTALS = "Microsoft 365 Fundamentals"
EXPERT = "Microsoft 365 Certified: Enterprise Administrator Expert"
MEETINGS = "Teams Meetings and Meeting Rooms Technical Assessment"
COPILOT_FUNDAMENTALS = "Microsoft 365 Certified: Copilot and Agent Administration Fundamentals"
MESSAGING = "Microsoft 365 Certified: Messaging Administrator Associate"
TEAMS_DEVELOPER = "Microsoft 365 Certified: Teams Application Developer Associate"


def test_the_rulebook_says_what_the_2026_page_says():
    assert RULEBOOKS.workload_renames == dict(RENAMES)
    book = RULEBOOKS.for_month(dt.date(2026, 9, 1))
    assert book.id == "2026-09" and book.effective_from_approximate
    assert len(book.workloads[NCA]) == 21
    assert book.workloads[UG] == book.workloads[DEP] == (*book.workloads[NCA], "Teams Premium")
    assert RULEBOOKS.for_month(dt.date(2026, 8, 1)).id == "2023-06-12"


# ---- §1 renames ----------------------------------------------------------------------------


@pytest.mark.parametrize("scored", [BEFORE, AFTER])
@pytest.mark.parametrize(("old", "new"), RENAMES)
def test_both_names_of_a_rename_are_one_workload_in_every_version(scored, old, new):
    w = World(scored=scored)
    m = w.scored
    w.use(m, "A", old, 500, 100).assoc(m, "P", "A", new, "CPOR", OLD)  # usage old name, held by the new
    w.use(m, "B", new.upper(), 500, 150).assoc(m, "P", "B", f" {old} ", "CPOR", OLD)
    r = w.score()
    assert r.metric("P", ENT, NCA)["current"] == 2
    assert r.metric("P", ENT, UG, "CPOR")["current"] == 250
    assert r.eligible("A") == r.eligible("B") == {ENT}


@pytest.mark.parametrize("scored", [BEFORE, AFTER])
@pytest.mark.parametrize(("old", "new"), RENAMES)
def test_usage_under_the_old_name_a_year_ago_and_the_new_now_is_growth_of_one_workload(scored, old, new):
    w = World(scored=scored)
    w.use(w.ago(12), "T", old, 500, 100).assoc(w.ago(12), "P", "T", old, "CPOR", OLD)
    w.use(w.scored, "T", new, 500, 150).assoc(w.scored, "P", "T", new, "CPOR", OLD)
    r = w.score()
    ug = r.metric("P", ENT, UG, "CPOR")
    assert (ug["current"], ug["year_ago"], ug["adjustment"], ug["value"]) == (150, 100, 0, 50)
    nca = r.metric("P", ENT, NCA)
    assert (nca["current"], nca["year_ago"], nca["value"]) == (1, 1, 0)


def test_a_workload_renamed_within_the_year_is_not_a_new_association():
    """Associated within the year under the old name, held now under the new: the baseline is
    the workload's users in the association month, whichever name the usage row used then."""
    w = World(scored=AFTER)
    w.use("2026-03", "T", "Yammer", 500, 40).assoc("2026-03", "P", "T", "Yammer", "CPOR", "2026-03-10")
    w.use(w.scored, "T", "Viva Engage", 500, 90).assoc(w.scored, "P", "T", "viva engage", "CPOR", "2026-03-10")
    ug = w.score().metric("P", ENT, UG, "CPOR")
    assert (ug["current"], ug["year_ago"], ug["adjustment"], ug["value"]) == (90, 0, 40, 50)


def test_teams_platform_counts_in_2026_08_only_and_teams_apps_from_2026_09():
    w = World(scored=AFTER)
    for m in (BEFORE, AFTER):
        w.use(m, "PLATFORM", "Teams Platform", 500, 100).assoc(m, "P", "PLATFORM", "Teams Platform", "CPOR", OLD)
        w.use(m, "APPS", "Teams Apps", 500, 100).assoc(m, "P", "APPS", "Teams Apps", "DPOR", OLD)
    got = w.score_months(BEFORE, AFTER)  # one backfill across the change
    before, after = got[BEFORE], got[AFTER]
    assert before.designation("P")["rulebook_id"] == "2023-06-12"
    assert after.designation("P")["rulebook_id"] == "2026-09"
    assert before.eligible("PLATFORM") == {ENT} and before.eligible("APPS") == set()
    assert after.eligible("PLATFORM") == set() and after.eligible("APPS") == {ENT}
    assert before.metric("P", ENT, UG, "CPOR")["current"] == 100
    assert before.metric("P", ENT, UG, "DPOR")["current"] == 0
    assert after.metric("P", ENT, UG, "CPOR")["current"] == 0
    assert after.metric("P", ENT, UG, "DPOR")["current"] == 100


# ---- §2 workloads per metric ----------------------------------------------------------------


@pytest.mark.parametrize(("track", "seats"), [(SMB, 50), (ENT, 500)])
def test_a_teams_premium_only_tenant_counts_for_usage_growth_and_deployments_not_net_adds(track, seats):
    active = seats * 2 // 5  # exactly 40%
    got = {}
    for scored in (BEFORE, AFTER):
        w = World(scored=scored)
        w.use(scored, "T", "Teams Premium", seats, active).assoc(scored, "P", "T", "Teams Premium", "CPOR", OLD)
        got[scored] = w.score()
    after, before = got[AFTER], got[BEFORE]
    assert after.eligible("T") == {track}  # eligible for some metric: shown
    assert after.metric("P", track, NCA)["current"] == 0
    assert after.metric("P", track, UG, "CPOR")["current"] == active
    assert after.metric("P", track, DEP, "CPOR")["current"] == 1
    detail = after.detail("P", "T", track, "CPOR")
    assert detail["eligible"] and detail["deployed"] and detail["workloads"] == 1
    assert before.eligible("T") == set()  # not a workload under the 2023 rules
    assert before.metric("P", track, UG, "CPOR")["current"] == 0
    assert before.metric("P", track, DEP, "CPOR")["current"] == 0


def test_teams_premium_beside_another_workload_counts_in_the_sums_of_growth_and_deployments_only():
    w = World(scored=AFTER)
    m = w.scored
    w.use(m, "T", "Teams Premium", 50, 50).assoc(m, "P", "T", "Teams Premium", "CPOR", OLD)
    w.use(m, "T", "Intune", 50, 0).assoc(m, "P", "T", "Intune", "CPOR", OLD)
    r = w.score()
    assert r.metric("P", SMB, NCA)["current"] == 1  # through Intune
    assert r.metric("P", SMB, UG, "CPOR")["current"] == 50
    assert r.metric("P", SMB, DEP, "CPOR")["current"] == 1  # 50 of 100 seats: deployed


def test_a_teams_premium_only_tenant_in_the_enterprise_band_and_intune_in_the_smb_band():
    """Eligibility is per metric: Enterprise only through Teams Premium, SMB through Intune."""
    w = World(scored=AFTER)
    m = w.scored
    w.use(m, "T", "Teams Premium", 400, 200).assoc(m, "P", "T", "Teams Premium", "CPOR", OLD)
    w.use(m, "T", "Intune", 20, 0).assoc(m, "P", "T", "Intune", "CPOR", OLD)
    r = w.score()
    assert r.metric("P", ENT, NCA)["current"] == 0
    assert r.metric("P", SMB, NCA)["current"] == 1
    assert r.metric("P", ENT, UG, "CPOR")["current"] == 200
    assert r.metric("P", ENT, DEP, "CPOR")["current"] == 1  # 200 of 420 seats
    assert r.eligible("T") == {ENT, SMB}


# ---- §3 the promoted tenant ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "ago", "smb"),
    [
        (301, 300, True),  # grew past 300: promoted
        (50_000, 11, True),
        (301, 10, False),  # not SMB a year ago
        (301, 301, False),  # Enterprise a year ago too
        (301, 0, False),  # no seats a year ago
        (300, 50_000, True),  # in the band now: SMB whatever a year ago
        (10, 200, False),  # shrank below 11: not promoted
        (0, 300, False),
    ],
)
def test_the_promoted_tenant_is_smb_eligible_in_the_scored_month(now, ago, smb):
    w = World(scored=AFTER)
    w.use(w.scored, "T", "Exchange Online", now, 0).assoc(w.scored, "P", "T", "Exchange Online", "CPOR", OLD)
    if ago:
        w.use(w.ago(12), "T", "Exchange", ago, 0)  # not held then: only its seats matter
    r = w.score()
    assert (SMB in r.eligible("T")) == smb
    assert r.metric("P", SMB, NCA)["current"] == int(smb)
    assert (ENT in r.eligible("T")) == (now > 300)


def test_no_promotion_under_the_2023_rules():
    w = World(scored=BEFORE)
    w.use(w.scored, "T", "Exchange", 301, 0).assoc(w.scored, "P", "T", "Exchange", "CPOR", OLD)
    w.use(w.ago(12), "T", "Exchange", 300, 0)
    r = w.score()
    assert r.eligible("T") == {ENT}
    assert r.metric("P", SMB, NCA)["current"] == 0


def test_a_promoted_customer_stays_a_customer_and_the_year_ago_side_uses_its_own_seats():
    w = World(scored=AFTER)
    now, ago, ago2 = w.scored, w.ago(12), w.ago(24)
    # KEPT: SMB a year ago, grown past 300 now: counted both times, net 0 (not a lost customer)
    w.tenant([ago], "KEPT", "Intune", 200, 100, partner="P", kind="CSP_T1", on=OLD)
    w.tenant([now], "KEPT", "Intune", 400, 300, partner="P", kind="CSP_T1", on=OLD)
    # UP: above 300 a year ago and now, SMB two years ago: M-24 is not read, not SMB in either
    w.use(ago2, "UP", "Intune", 200, 0)
    w.tenant([ago, now], "UP", "Intune", 400, 300, partner="P", kind="CSP_T2", on=OLD)
    r = w.score()
    nca = r.metric("P", SMB, NCA)
    assert (nca["current"], nca["year_ago"], nca["value"]) == (1, 1, 0)
    ug = r.metric("P", SMB, UG, "CSP")
    assert (ug["current"], ug["year_ago"], ug["value"]) == (300, 100, 200)
    dep = r.metric("P", SMB, DEP, "CSP")
    assert (dep["current"], dep["year_ago"], dep["value"]) == (1, 1, 0)
    assert r.eligible("KEPT") == {ENT, SMB}
    assert r.eligible("UP") == {ENT}
    assert r.detail("P", "KEPT", SMB, "CSP")["counted_year_ago"]


def test_promotion_follows_the_metrics_workload_list():
    """Teams Premium in the SMB band a year ago and above it now: promoted for usage growth and
    deployments (whose list has it), not for net customer adds."""
    w = World(scored=AFTER)
    w.use(w.ago(12), "T", "Teams Premium", 100, 0)
    w.tenant([w.scored], "T", "Teams Premium", 400, 200, partner="P", on=OLD)
    r = w.score()
    assert r.metric("P", SMB, NCA)["current"] == 0
    assert r.metric("P", SMB, UG, "CPOR")["current"] == 200
    assert r.metric("P", SMB, DEP, "CPOR")["current"] == 1
    assert r.eligible("T") == {ENT, SMB}


# ---- §0 every month wholly under its version -------------------------------------------------


def test_the_year_ago_side_and_association_months_use_the_months_version():
    w = World(scored=AFTER)
    now, ago = w.scored, w.ago(12)  # 2025-09: before the version's effective month
    # Teams Premium a year ago counts under 2026-09 for 2026-09: growth 30 - 10
    w.tenant([ago], "PREM", "Teams Premium", 50, 10, partner="P", on=OLD)
    w.tenant([now], "PREM", "Teams Premium", 50, 30, partner="P", on=OLD)
    # Teams Platform a year ago does not count for 2026-09: no loss of its users
    w.tenant([ago, now], "PLAT", "Teams Platform", 50, 100, partner="P", on=OLD)
    # associated in 2026-03 (before effective_from) with Teams Premium: its users then are the baseline
    w.tenant(["2026-03"], "NEWP", "Teams Premium", 50, 5, partner="P", kind="CSP_T1", on="2026-03-15")
    w.tenant([now], "NEWP", "Teams Premium", 50, 15, partner="P", kind="CSP_T1", on="2026-03-15")
    # deployed already at its association in 2026-04: excluded
    w.tenant(["2026-04"], "DEPL", "Teams Premium", 50, 25, partner="P", kind="CSP_T1", on="2026-04-02")
    w.tenant([now], "DEPL", "Teams Premium", 50, 25, partner="P", kind="CSP_T1", on="2026-04-02")
    r = w.score()
    cpor = r.metric("P", SMB, UG, "CPOR")
    assert (cpor["current"], cpor["year_ago"], cpor["value"]) == (30, 10, 20)
    csp = r.metric("P", SMB, UG, "CSP")
    assert (csp["current"], csp["year_ago"], csp["adjustment"], csp["value"]) == (40, 0, 30, 10)
    dep = r.metric("P", SMB, DEP, "CSP")
    assert (dep["current"], dep["adjustment"], dep["value"]) == (1, 1, 0)  # DEPL excluded; NEWP 15/50 < 40%


def test_the_same_data_under_the_2023_rules_in_2026_08():
    w = World(scored=BEFORE)
    now, ago = w.scored, w.ago(12)
    w.tenant([ago], "PREM", "Teams Premium", 50, 10, partner="P", on=OLD)
    w.tenant([now], "PREM", "Teams Premium", 50, 30, partner="P", on=OLD)
    w.tenant([ago], "PLAT", "Teams Platform", 50, 100, partner="P", on=OLD)
    w.tenant([now], "PLAT", "Teams Platform", 50, 40, partner="P", on=OLD)
    ug = w.score().metric("P", SMB, UG, "CPOR")
    assert (ug["current"], ug["year_ago"], ug["value"]) == (40, 100, -60)


# ---- §4 certifications -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "metric", "last", "first_not"),
    [
        (FUNDAMENTALS, INT, "2027-03", "2027-04"),  # counts through 2027-03-31
        (MEETINGS, ADV, "2027-05", "2027-06"),  # counts through 2027-06-15
        (EXPERT, ADV, "2027-11", "2027-12"),  # counts through 2027-11-30
    ],
)
def test_counts_through_dates(name, metric, last, first_not):
    w = World(scored=last)
    w.cert("P", "p1", name)
    w.cert("P", "p2", name.upper(), earned="2026-12-01", expires="2030-01-01")
    got = w.score_months(last, first_not)
    assert got[last].metric("P", ENT, metric)["value"] == 2
    assert got[first_not].metric("P", ENT, metric)["value"] == 0


def test_a_counting_certification_must_also_be_active_at_month_end():
    w = World(scored="2027-03")
    w.cert("P", "expired", FUNDAMENTALS, expires="2027-03-31")  # expires on the month's last day
    w.cert("P", "late", FUNDAMENTALS, earned="2027-04-01")
    w.cert("P", "ok", FUNDAMENTALS, earned="2027-03-31", expires="2027-04-01")
    assert w.score().metric("P", ENT, INT)["value"] == 1


@pytest.mark.parametrize("name", [MESSAGING, TEAMS_DEVELOPER])
def test_a_removed_certification_counts_in_2026_08_and_not_2026_09(name):
    w = World(scored=AFTER)
    w.cert("P", "p1", name)
    got = w.score_months(BEFORE, AFTER)
    assert got[BEFORE].metric("P", SMB, INT)["value"] == 1
    assert got[AFTER].metric("P", SMB, INT)["value"] == 0


def test_the_new_certification_counts_from_2026_09_only():
    w = World(scored=AFTER)
    w.cert("P", "p1", COPILOT_FUNDAMENTALS)
    w.cert("P", "p2", "Microsoft 365 Certified: Modern Desktop Administrator Associate")  # alias, both versions
    got = w.score_months(BEFORE, AFTER)
    assert got[BEFORE].metric("P", SMB, INT)["value"] == 1
    assert got[AFTER].metric("P", SMB, INT)["value"] == 2


def test_warnings_name_a_counting_certification_whose_counts_through_date_is_within_90_days():
    w = World(scored="2027-02")
    w.cert("P1", "a", FUNDAMENTALS)  # counts through 2027-03-31
    w.cert("P1", "b", MEETINGS)  # counts through 2027-06-15
    w.cert("P1", "c", EXPERT, expires="2027-04-15")  # an expiry, as before
    w.cert("P1", "d", MESSAGING)  # removed: does not count
    w.cert("P1", "e", FUNDAMENTALS, earned="2027-03-01")  # not yet held at month end
    certs = w.cert_frame()

    def names(mon: str) -> list[str]:
        m = dt.date.fromisoformat(mon + "-01")
        book = RULEBOOKS.for_month(m)
        return sim.expiring_certifications(certs, "P1", m, book=book)["person_id"].to_list()

    assert names("2026-12") == ["a"]  # 2027-03-31 is day 90 after 2026-12-31
    assert names("2026-11") == []  # day 121
    assert names("2027-02") == ["a", "c"]
    assert names("2027-03") == ["a", "e", "c", "b"]  # a and e count through the month's last day
    assert names("2027-04") == ["b"]  # Fundamentals no longer counts, c has expired
    frame = sim.expiring_certifications(certs, "P1", dt.date(2027, 2, 1), book=RULEBOOKS.for_month(dt.date(2027, 2, 1)))
    assert frame.filter(pl.col("person_id") == "a")["counts_through"].to_list() == [dt.date(2027, 3, 31)]
    # without the rulebook: expiry only, as before
    assert sim.expiring_certifications(certs, "P1", dt.date(2027, 2, 1))["person_id"].to_list() == ["c"]


def test_the_simulator_adds_a_certification_that_counts_in_the_month():
    w = World(scored="2027-04")
    w.cert("P1", "held", FUNDAMENTALS)  # no longer counts in 2027-04
    res = sim.simulate(
        partner_id="P1",
        month=w.m,
        snapshots=w.snapshots(),
        certifications=w.cert_frame(),
        rulebooks=RULEBOOKS,
        changes=[sim.AddCertifiedPersons("INTERMEDIATE", 2), sim.AddCertifiedPersons("ADVANCED", 1)],
    )

    def value(r, metric: str) -> int:
        f = r.metric_points.filter((pl.col("track") == SMB) & (pl.col("metric") == metric))
        return int(f["value"][0])

    assert value(res.actual, INT) == 0
    assert value(res.simulated, INT) == 2
    assert value(res.simulated, ADV) == 1


def test_the_simulator_changes_a_workload_under_either_name():
    w = World(scored=AFTER)
    w.tenant([w.scored], "T", "Exchange", 500, 100, partner="P1", on=OLD)
    res = sim.simulate(
        partner_id="P1",
        month=w.m,
        snapshots=w.snapshots(),
        certifications=w.cert_frame(),
        rulebooks=RULEBOOKS,
        changes=[sim.ChangeActiveUsers("T", "exchange online", 250)],
    )
    f = res.simulated.metric_points.filter(
        (pl.col("track") == ENT) & (pl.col("metric") == UG) & (pl.col("option") == "CPOR")
    )
    assert f["current"].to_list() == [250]


# ---- §6 exactness under the new version -------------------------------------------------------


def _seventy(last_active: int, last_seats: int = 500) -> World:
    """ENTERPRISE under 2026-09: 4 new deployed M365 Copilot customers (16 + 20 points), usage
    growth of 600 + ``last_active`` CPOR users, one intermediate and one advanced person (10)."""
    w = World(scored=AFTER)
    for i in range(3):
        w.tenant([w.scored], f"C{i}", "M365 Copilot", 500, 200, partner="P", on=OLD)
    w.tenant([w.scored], "C3", "M365 Copilot", last_seats, last_active, partner="P", on=OLD)
    w.cert("P", "i", COPILOT_FUNDAMENTALS).cert("P", "a", EXPERT)
    return w


def test_exactly_70_points_attain_under_the_new_version():
    r = _seventy(200).score()
    assert r.metric("P", ENT, UG, "CPOR")["value"] == 800
    assert r.path("P", ENT)["total"] == 70.0
    assert r.path("P", ENT)["qualifies"]
    d = r.designation("P")
    assert d["attained"] and d["score"] == 70.0 and d["rulebook_id"] == "2026-09"


def test_one_user_less_is_69_97_and_does_not_attain():
    r = _seventy(199, last_seats=497).score()  # 199 / 497 still deploys (>= 40%)
    assert r.metric("P", ENT, DEP, "CPOR")["value"] == 4
    assert r.path("P", ENT)["total"] == pytest.approx(69.97)
    assert not r.designation("P")["attained"]


def test_the_same_customers_under_the_2023_rules_score_nothing():
    w = _seventy(200)
    w.scored = BEFORE
    w.usage_rows = [(w.m, *row[1:]) for row in w.usage_rows]
    w.assoc_rows = [(w.m, *row[1:]) for row in w.assoc_rows]
    r = w.score()
    assert r.path("P", ENT)["total"] == 7.5  # only the advanced person: Copilot is no 2023 workload
    assert r.metric("P", ENT, NCA)["current"] == 0
    assert r.metric("P", ENT, INT)["value"] == 0  # nor the new certification a 2023 one


# ---- a third version needs no code ------------------------------------------------------------

THIRD = """
[[version]]
id = "2027-03-test"
effective_from = "2027-03"
min_total_points = 70
min_metric_points = 1
deployment_active_ratio = "2/5"

[version.workloads]
net_customer_adds = ["Exchange Online", "Intune", "Dynamics 365"]
usage_growth = ["Exchange Online", "Intune", "Teams Premium"]
deployments = ["Exchange Online", "Intune"]

[version.association_types]
CPOR = "CPOR"
DPOR = "DPOR"
CSP_T1 = "CSP"
CSP_T2 = "CSP"

[version.certifications]
intermediate = [{ name = "Microsoft 365 Fundamentals", counts_through = "2027-05-31" }]
advanced = ["Microsoft 365 Certified: Enterprise Administrator Expert"]

[[version.tracks]]
name = "ENTERPRISE"
seats_min = 301
options = ["CPOR", "DPOR"]
net_customer_adds = { per_customer = 4, max_points = 20 }
intermediate_certifications = { per_person = "2.5", max_points = 10 }
advanced_certifications = { per_person = "7.5", max_points = 15 }
usage_growth = { max_points = 30, thresholds = { CPOR = 1000, DPOR = 4000 } }
deployments = { max_points = 25, thresholds = { CPOR = 5, DPOR = 10 } }

[[version.tracks]]
name = "SMB"
seats_min = 11
seats_max = 300
options = ["CPOR", "CSP"]
net_customer_adds = { per_customer = 2, max_points = 20 }
intermediate_certifications = { per_person = 5, max_points = 10 }
advanced_certifications = { per_person = 15, max_points = 15 }
usage_growth = { max_points = 30, thresholds = { CPOR = 250, CSP = 2000 } }
deployments = { max_points = 25, thresholds = { CPOR = 5, CSP = 10 } }
"""


def test_a_third_version_in_the_rulebook_takes_effect_from_its_month(tmp_path: Path):
    path = tmp_path / "rulebook.toml"
    path.write_text(DEFAULT_RULEBOOK_PATH.read_text(encoding="utf-8") + THIRD, encoding="utf-8")
    books = load_rulebooks(path)
    w = World(scored="2027-03", rulebooks=books)
    for m in ("2027-02", "2027-03"):
        w.tenant([m], "DYN", "Dynamics 365", 50, 40, partner="P", on=OLD)  # listed for net adds only
        w.tenant([m], "DYN2", "Dynamics 365", 60, 0, partner="P", on=OLD)
        w.tenant([m], "PREM", "Teams Premium", 50, 10, partner="P", on=OLD)  # growth only
        w.tenant([m], "PLAT", "Teams Phone", 50, 50, partner="P", on=OLD)  # no longer listed
        w.tenant([m], "EXO", "Exchange", 50, 20, partner="P", on=OLD)  # renamed: still one workload
    w.cert("P", "f", FUNDAMENTALS)
    got = w.score_months("2027-02", "2027-03")
    feb, mar = got["2027-02"], got["2027-03"]
    assert feb.designation("P")["rulebook_id"] == "2026-09"
    assert mar.designation("P")["rulebook_id"] == "2027-03-test"
    # net adds: PLAT, EXO in February (Teams Premium is not on its list); DYN, DYN2, EXO in March
    assert feb.metric("P", SMB, NCA)["current"] == 2
    assert mar.metric("P", SMB, NCA)["current"] == 3
    # usage growth: the threshold of SMB CPOR halves (each user worth 30/250 points)
    feb_ug, mar_ug = feb.metric("P", SMB, UG, "CPOR"), mar.metric("P", SMB, UG, "CPOR")
    assert (feb_ug["current"], feb_ug["points"]) == (80, pytest.approx(80 * 30 / 500))
    assert (mar_ug["current"], mar_ug["points"]) == (30, pytest.approx(30 * 30 / 250))
    # deployments: EXO and PLAT deployed in February; EXO only in March (PREM 20% is not)
    assert feb.metric("P", SMB, DEP, "CPOR")["current"] == 2
    assert mar.metric("P", SMB, DEP, "CPOR")["current"] == 1
    # its year-ago side (2026-03) is scored under it too: the tenants held then count
    assert mar.metric("P", SMB, NCA)["year_ago"] == 0
    # Microsoft 365 Fundamentals now counts through 2027-05-31
    w2 = World(scored="2027-05", rulebooks=books)
    w2.cert("P", "f", FUNDAMENTALS)
    months = w2.score_months("2027-04", "2027-05", "2027-06")
    assert [months[m].metric("P", SMB, INT)["value"] for m in ("2027-04", "2027-05", "2027-06")] == [1, 1, 0]
    assert feb.metric("P", SMB, INT)["value"] == 1


def test_a_third_version_keeps_the_year_ago_side_under_its_own_lists(tmp_path: Path):
    path = tmp_path / "rulebook.toml"
    path.write_text(DEFAULT_RULEBOOK_PATH.read_text(encoding="utf-8") + THIRD, encoding="utf-8")
    w = World(scored="2027-03", rulebooks=load_rulebooks(path))
    w.tenant([w.ago(12), w.scored], "DYN", "Dynamics 365", 50, 40, partner="P", on=OLD)
    nca = w.score().metric("P", SMB, NCA)
    assert (nca["current"], nca["year_ago"], nca["value"]) == (1, 1, 0)


# ---- input: both names of a workload in one key ------------------------------------------------


def _month_folder(tmp_path: Path, usage: list[list[str]], assoc: list[list[str]]) -> Path:
    data = tmp_path / "data"
    folder = data / "months" / "2026-09"
    write_csv(folder / "workload_usage.csv", USAGE_HEADER, usage)
    write_csv(folder / "associations.csv", ASSOC_HEADER, assoc)
    return data


USAGE_2026 = "months/2026-09/workload_usage.csv"
ASSOC_2026 = "months/2026-09/associations.csv"


@pytest.mark.parametrize(("old", "new"), RENAMES)
def test_usage_rows_under_both_names_of_a_workload_are_a_duplicate_key(tmp_path: Path, old, new):
    usage = [
        ["T1", "Teams", "10", "1"],
        ["T1", old, "400", "200"],
        ["T2", old, "5", "1"],
        ["T1", f" {new.lower()}", "1", "1"],
    ]
    data = _month_folder(tmp_path, usage, [["P1", "T1", "Teams", "CPOR", "2026-01-01"]])
    with pytest.raises(InputError) as info:
        read_month(data, dt.date(2026, 9, 1))
    err = info.value
    assert err.total == 1
    (p,) = err.problems
    assert (p.file, p.column, p.row, p.value) == (USAGE_2026, "tenant_id, workload", 4, f"T1,  {new.lower()}")
    assert "duplicate key" in p.rule and "row 2" in p.rule
    text = str(err)
    assert USAGE_2026 in text and "row 4" in text and f" {new.lower()}" in text and "tenant_id, workload" in text


def test_association_rows_under_both_names_of_a_workload_are_a_duplicate_key(tmp_path: Path):
    assoc = [
        ["P1", "T1", "Yammer", "CPOR", "2026-01-01"],
        ["P1", "T1", "Viva Engage", "CSP_T1", "2026-01-01"],  # another type: fine
        ["P1", "T1", "VIVA ENGAGE", "cpor", "2026-02-01"],
    ]
    data = _month_folder(tmp_path, [["T1", "Viva Engage", "50", "1"]], assoc)
    with pytest.raises(InputError) as info:
        read_month(data, dt.date(2026, 9, 1))
    (p,) = info.value.problems
    key = "partner_id, tenant_id, workload, association_type"
    assert (p.file, p.column, p.row, p.value) == (ASSOC_2026, key, 3, "P1, T1, VIVA ENGAGE, cpor")
    assert "row 1" in p.rule


def test_teams_platform_and_teams_apps_are_two_workloads_in_the_input(tmp_path: Path):
    usage = [["T1", "Teams Platform", "400", "200"], ["T1", "Teams Apps", "400", "200"]]
    assoc = [["P1", "T1", "Teams Platform", "CPOR", "2026-01-01"], ["P1", "T1", "Teams Apps", "CPOR", "2026-01-01"]]
    snap = read_month(_month_folder(tmp_path, usage, assoc), dt.date(2026, 9, 1))
    assert snap.usage.height == 2 and snap.associations.height == 2


# ---- the engine: facts per distinct workload list ------------------------------------------------


@pytest.mark.skipif(not EXAMPLE_2026.exists(), reason="shared/examples/small-2026 is not beside the project")
@pytest.mark.parametrize("mon", ["2025-09", "2026-09", "2027-03"])
def test_facts_narrowed_from_a_wider_list_are_the_facts_of_the_list(mon):
    m = dt.date.fromisoformat(mon + "-01")
    snap = read_month(EXAMPLE_2026 / "data", m)
    book = RULEBOOKS.for_month(dt.date(2026, 9, 1))
    nca, ug = book.workload_lists
    assert set(nca) < set(ug)
    direct = snapshot_facts(book, m, snap.usage, snap.associations, nca)
    narrowed = narrowed_facts(book, snapshot_facts(book, m, snap.usage, snap.associations, ug), nca)
    for name in ("eligibility", "holdings", "tenants"):
        a, b = getattr(direct, name), getattr(narrowed, name)
        assert a.schema == b.schema, name
        assert_frame_equal(_text(a).sort(a.columns), _text(b).sort(b.columns), check_row_order=False)
    for name in ("usage", "claimed"):
        a, b = getattr(direct.usage_at, name), getattr(narrowed.usage_at, name)
        assert a.schema == b.schema, name
        assert_frame_equal(_text(a).sort(a.columns), _text(b).sort(b.columns), check_row_order=False)
    assert direct.holdings.height > 0


def _text(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col(c).cast(pl.String) for c, t in frame.schema.items() if t == pl.Categorical)
