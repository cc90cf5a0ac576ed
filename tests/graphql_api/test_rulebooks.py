"""Rulebook versions over the API: what each version counts and from when, the same for every viewer."""

from scoring.rulebook import load_rulebooks

RULEBOOK_FIELDS = """
  id effectiveFrom effectiveFromApproximate source minTotalPoints keepsPromotedSmbTenants
  workloads { metric workloads } workloadRenames { oldName newName }
  certifications { name level aliases countsThrough } removedCertifications
"""


def test_rulebook_versions_are_listed_with_their_rules(api_sqlite):
    data = api_sqlite.client.data(f"{{ rulebooks {{ {RULEBOOK_FIELDS} }} }}")
    versions = data["rulebooks"]
    assert [v["id"] for v in versions] == [b.id for b in load_rulebooks().versions] == ["2023-06-12", "2026-09"]
    old, new = versions
    assert (old["effectiveFrom"], old["effectiveFromApproximate"]) == ("2000-01", False)
    assert (new["effectiveFrom"], new["effectiveFromApproximate"]) == ("2026-09", True)
    assert new["minTotalPoints"] == 70 and new["keepsPromotedSmbTenants"] and not old["keepsPromotedSmbTenants"]

    lists = {w["metric"]: w["workloads"] for w in new["workloads"]}
    assert set(lists) == {"NET_CUSTOMER_ADDS", "USAGE_GROWTH", "DEPLOYMENTS"}
    assert len(lists["NET_CUSTOMER_ADDS"]) == 21 and "Teams Premium" not in lists["NET_CUSTOMER_ADDS"]
    assert lists["USAGE_GROWTH"] == lists["DEPLOYMENTS"] == [*lists["NET_CUSTOMER_ADDS"], "Teams Premium"]
    old_lists = {w["metric"]: w["workloads"] for w in old["workloads"]}
    assert old_lists["NET_CUSTOMER_ADDS"] == old_lists["USAGE_GROWTH"] == old_lists["DEPLOYMENTS"]
    assert "Teams Platform" in old_lists["USAGE_GROWTH"] and "Teams Platform" not in lists["USAGE_GROWTH"]

    renames = {(r["oldName"], r["newName"]) for r in new["workloadRenames"]}
    assert ("Exchange", "Exchange Online") in renames and len(renames) == 8
    assert {(r["oldName"], r["newName"]) for r in old["workloadRenames"]} == renames  # renames apply in every version

    certs = {c["name"]: c for c in new["certifications"]}
    assert certs["Microsoft 365 Fundamentals"]["countsThrough"] == "2027-03-31"
    assert certs["Teams Meetings and Meeting Rooms Technical Assessment"]["countsThrough"] == "2027-06-15"
    assert certs["Microsoft 365 Certified: Enterprise Administrator Expert"]["level"] == "ADVANCED"
    assert certs["Microsoft 365 Certified: Endpoint Administrator Associate"]["aliases"] == [
        "Microsoft 365 Certified: Modern Desktop Administrator Associate"
    ]
    assert certs["Microsoft 365 Certified: Teams Administrator Associate"]["countsThrough"] is None
    assert "Microsoft 365 Certified: Messaging Administrator Associate" in new["removedCertifications"]
    assert "Microsoft 365 Certified: Messaging Administrator Associate" in {c["name"] for c in old["certifications"]}


def test_a_partner_reads_the_same_rulebooks_and_unknown_ids_are_null(api_sqlite):
    partner_id, token = next(iter(api_sqlite.tokens.items()))
    admin = api_sqlite.client.data(f"{{ rulebooks {{ {RULEBOOK_FIELDS} }} }}")
    partner = api_sqlite.client.data(f"{{ rulebooks {{ {RULEBOOK_FIELDS} }} }}", token=token)
    assert partner == admin
    one = api_sqlite.client.data('{ rulebook(id: "2026-09") { id } none: rulebook(id: "1999") { id } }', token=token)
    assert one == {"rulebook": {"id": "2026-09"}, "none": None}
