"""The attribution of a score's change (scoring/attribution.py): one small world per cause kind
and side, at the rules' boundaries; and a walk over every partner and consecutive month pair of
both example folders and of a generated folder across the 2026 rule change, checking the
identity (causes add up to the change of each measure) and that the measures and points are
the scored months' (the examples' expected scorecards, and the engine's full scoring)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from pcs.generate import generate
from scoring import attribution as A
from scoring import calendar, engine, ingest
from scoring.attribution import Cause, CauseKind, ScoreChange, Side
from scoring.frames import ASSOCIATIONS_SCHEMA, USAGE_SCHEMA, InputError, Snapshots
from scoring.rulebook import load_rulebooks
from scoring.scorecards import scorecards
from scoring.service import partner_registry, score_months
from tests.support.builders import World
from tests.support.paths import EXAMPLE, EXAMPLE_2026

P = "P1"
LONG_AGO = "2020-01-01"
EXCHANGE = "Exchange"
ADV = "Microsoft 365 Certified: Enterprise Administrator Expert"
FUNDAMENTALS = "Microsoft 365 Fundamentals"
TEAMS_ADMIN = "Microsoft 365 Certified: Teams Administrator Associate"


# ---- helpers -----------------------------------------------------------------------------------


def change(w: World, partner: str = P) -> ScoreChange:
    """The partner's attribution of ``w.scored`` (every snapshot M-13..M exists)."""
    snaps = Snapshots(
        months=frozenset(A.months_read(w.m)),
        usage=pl.DataFrame(w.usage_rows, schema=USAGE_SCHEMA, orient="row"),
        associations=pl.DataFrame(w.assoc_rows, schema=ASSOCIATIONS_SCHEMA, orient="row"),
    )
    ch = A.score_change(
        rulebooks=w.rulebooks, partner_id=partner, month=w.m, snapshots=snaps, certifications=w.cert_frame()
    )
    check_against_engine(w, ch, partner)
    return ch


def check_against_engine(w: World, ch: ScoreChange, partner: str) -> None:
    """Identity per option, and measures/points equal to the engine's scoring of the whole world."""
    prev = calendar.add_months(w.m, -1)
    scored = w.score_months(f"{prev:%Y-%m}", w.scored)
    for track, metric, o in A.all_causes(ch):
        assert sum(c.change for c in o.causes) == o.measure_after - o.measure_before, (track, metric, o)
        for when, measure, points in (
            (f"{prev:%Y-%m}", o.measure_before, o.points_before),
            (w.scored, o.measure_after, o.points_after),
        ):
            row = scored[when].metric(partner, track, metric, o.option)
            assert (row["value"], row["points"]) == (measure, points), (when, track, metric, o.option)
    assert ch.score_before == scored[f"{prev:%Y-%m}"].designation(partner)["score"]
    assert ch.score_after == scored[w.scored].designation(partner)["score"]


def causes(ch: ScoreChange, track: str, metric: str, option: str = "ALL") -> list[Cause]:
    for t, m, o in A.all_causes(ch):
        if (t, m, o.option) == (track, metric, option):
            return list(o.causes)
    raise KeyError((track, metric, option))


def kinds(cs: list[Cause]) -> list[tuple[CauseKind, Side, str | None, int]]:
    return [(c.kind, c.side, c.tenant_id or c.person_id, c.change) for c in cs]


SEEN: set[CauseKind] = set()
SCENARIOS = (
    "test_new_customer",
    "test_one_active_user",
    "test_300_to_301",
    "test_lost_association",
    "test_year_ago",
    "test_customer_associated",
    "test_association_month",
    "test_second_workload",
    "test_certification",
    "test_rule_change",
)


def expect(ch: ScoreChange, track: str, metric: str, option: str, *want: tuple) -> list[Cause]:
    cs = causes(ch, track, metric, option)
    assert sorted(kinds(cs), key=str) == sorted(want, key=str), cs
    SEEN.update(c.kind for c in cs)
    return cs


# ---- the month side ----------------------------------------------------------------------------


def test_new_customer_counts_everywhere_and_reaches_a_deployment_at_exactly_40_percent():
    w = World("2024-06").tenant(["2024-06"], "T1", EXCHANGE, 400, 160, P, "CPOR", LONG_AGO)
    ch = change(w)
    (c,) = expect(ch, "ENTERPRISE", "NET_CUSTOMER_ADDS", "ALL", (CauseKind.CUSTOMER_GAINED, Side.MONTH, "T1", 1))
    assert c.text == "tenant T1 counts (newly associated): +1 customer"
    expect(ch, "ENTERPRISE", "USAGE_GROWTH", "CPOR", (CauseKind.CUSTOMER_GAINED, Side.MONTH, "T1", 160))
    (d,) = expect(ch, "ENTERPRISE", "DEPLOYMENTS", "CPOR", (CauseKind.DEPLOYMENT_REACHED, Side.MONTH, "T1", 1))
    assert d.text == "tenant T1 reached 40% active under CPOR (160 of 400 seats active): +1 deployment"
    assert causes(ch, "ENTERPRISE", "DEPLOYMENTS", "DPOR") == []


def test_one_active_user_below_40_percent_is_a_lost_deployment_and_a_change_of_users():
    w = World("2024-06").tenant(["2024-05"], "T1", EXCHANGE, 400, 160, P, "CPOR", LONG_AGO)
    w.tenant(["2024-06"], "T1", EXCHANGE, 400, 159, P, "CPOR", LONG_AGO)
    ch = change(w)
    (d,) = expect(ch, "ENTERPRISE", "DEPLOYMENTS", "CPOR", (CauseKind.DEPLOYMENT_LOST, Side.MONTH, "T1", -1))
    assert "fell below 40% active under CPOR (159 of 400 seats active)" in d.text
    (u,) = expect(ch, "ENTERPRISE", "USAGE_GROWTH", "CPOR", (CauseKind.ACTIVE_USERS_CHANGED, Side.MONTH, "T1", -1))
    assert u.text == "tenant T1 under CPOR: 160 -> 159 active users (Exchange -1): -1 active user"
    assert u.workload == "Exchange"
    assert causes(ch, "ENTERPRISE", "NET_CUSTOMER_ADDS", "ALL") == []


def test_300_to_301_seats_moves_a_customer_from_smb_to_enterprise():
    w = World("2024-06").tenant(["2024-05"], "T1", EXCHANGE, 300, 10, P, "CPOR", LONG_AGO)
    w.tenant(["2024-06"], "T1", EXCHANGE, 301, 10, P, "CPOR", LONG_AGO)
    ch = change(w)
    (e,) = expect(ch, "ENTERPRISE", "NET_CUSTOMER_ADDS", "ALL", (CauseKind.CUSTOMER_GAINED, Side.MONTH, "T1", 1))
    assert "now ENTERPRISE-eligible by its seats" in e.text
    (s,) = expect(ch, "SMB", "NET_CUSTOMER_ADDS", "ALL", (CauseKind.CUSTOMER_LOST, Side.MONTH, "T1", -1))
    assert "no longer SMB-eligible by its seats" in s.text
    expect(ch, "SMB", "USAGE_GROWTH", "CPOR", (CauseKind.CUSTOMER_LOST, Side.MONTH, "T1", -10))


def test_lost_association_loses_customer_users_and_deployment():
    w = World("2024-06").tenant(["2024-05"], "T1", EXCHANGE, 50, 30, P, "CSP_T1", LONG_AGO)
    ch = change(w)
    (c,) = expect(ch, "SMB", "NET_CUSTOMER_ADDS", "ALL", (CauseKind.CUSTOMER_LOST, Side.MONTH, "T1", -1))
    assert c.text == "tenant T1 no longer counts (no longer associated): -1 customer"
    expect(ch, "SMB", "USAGE_GROWTH", "CSP", (CauseKind.CUSTOMER_LOST, Side.MONTH, "T1", -30))
    (d,) = expect(ch, "SMB", "DEPLOYMENTS", "CSP", (CauseKind.DEPLOYMENT_LOST, Side.MONTH, "T1", -1))
    assert "no longer counts under CSP (no longer associated)" in d.text


# ---- the year-ago side -------------------------------------------------------------------------


def test_year_ago_month_gains_a_customer():
    w = World("2024-06").tenant(["2023-06"], "T7", EXCHANGE, 50, 25, P, "CPOR", LONG_AGO)
    ch = change(w)
    (c,) = expect(ch, "SMB", "NET_CUSTOMER_ADDS", "ALL", (CauseKind.YEAR_AGO_CUSTOMER_ADDED, Side.YEAR_AGO, "T7", -1))
    assert c.text == "the year-ago month now includes tenant T7, served in 2023-06: -1 customer"
    expect(ch, "SMB", "USAGE_GROWTH", "CPOR", (CauseKind.YEAR_AGO_CUSTOMER_ADDED, Side.YEAR_AGO, "T7", -25))
    expect(ch, "SMB", "DEPLOYMENTS", "CPOR", (CauseKind.YEAR_AGO_DEPLOYMENT_ADDED, Side.YEAR_AGO, "T7", -1))


def test_year_ago_month_drops_a_customer_and_changes_users():
    w = World("2024-06").tenant(["2023-05"], "T7", EXCHANGE, 50, 25, P, "CPOR", LONG_AGO)
    w.tenant(["2023-05"], "T8", EXCHANGE, 50, 30, P, "CPOR", LONG_AGO)
    w.tenant(["2023-06"], "T8", EXCHANGE, 50, 10, P, "CPOR", LONG_AGO)
    ch = change(w)
    expect(ch, "SMB", "NET_CUSTOMER_ADDS", "ALL", (CauseKind.YEAR_AGO_CUSTOMER_DROPPED, Side.YEAR_AGO, "T7", 1))
    cs = expect(
        ch,
        "SMB",
        "USAGE_GROWTH",
        "CPOR",
        (CauseKind.YEAR_AGO_CUSTOMER_DROPPED, Side.YEAR_AGO, "T7", 25),
        (CauseKind.YEAR_AGO_ACTIVE_USERS_CHANGED, Side.YEAR_AGO, "T8", 20),
    )
    assert "T8 under CPOR had 10 active users in 2023-06, against 30 in 2023-05: +20 active users" in cs[-1].text
    expect(
        ch,
        "SMB",
        "DEPLOYMENTS",
        "CPOR",
        (CauseKind.YEAR_AGO_DEPLOYMENT_DROPPED, Side.YEAR_AGO, "T7", 1),
        (CauseKind.YEAR_AGO_DEPLOYMENT_DROPPED, Side.YEAR_AGO, "T8", 1),
    )


# ---- at association: the usage baseline and the deployment exclusion ----------------------------


def test_customer_associated_in_the_month_brings_its_baseline_and_exclusion():
    w = World("2024-06").tenant(["2024-06"], "T1", EXCHANGE, 400, 200, P, "DPOR", "2024-06-10")
    ch = change(w)
    expect(
        ch,
        "ENTERPRISE",
        "USAGE_GROWTH",
        "DPOR",
        (CauseKind.CUSTOMER_GAINED, Side.MONTH, "T1", 200),
        (CauseKind.BASELINE_ADDED, Side.AT_ASSOCIATION, "T1", -200),
    )
    expect(
        ch,
        "ENTERPRISE",
        "DEPLOYMENTS",
        "DPOR",
        (CauseKind.DEPLOYMENT_REACHED, Side.MONTH, "T1", 1),
        (CauseKind.DEPLOYMENT_EXCLUDED, Side.AT_ASSOCIATION, "T1", -1),
    )


def test_association_month_reaching_the_year_ago_month_moves_the_baseline_to_the_year_ago_side():
    """Associated in 2023-06: for 2024-05 it is a new association (baseline, exclusion); for
    2024-06 it is the year-ago month's customer."""
    months = [f"{calendar.add_months(dt.date(2023, 6, 1), k):%Y-%m}" for k in range(13)]
    w = World("2024-06").tenant(months, "T1", EXCHANGE, 400, 200, P, "CPOR", "2023-06-15")
    ch = change(w)
    expect(
        ch,
        "ENTERPRISE",
        "USAGE_GROWTH",
        "CPOR",
        (CauseKind.YEAR_AGO_CUSTOMER_ADDED, Side.YEAR_AGO, "T1", -200),
        (CauseKind.BASELINE_DROPPED, Side.AT_ASSOCIATION, "T1", 200),
    )
    expect(
        ch,
        "ENTERPRISE",
        "DEPLOYMENTS",
        "CPOR",
        (CauseKind.YEAR_AGO_DEPLOYMENT_ADDED, Side.YEAR_AGO, "T1", -1),
        (CauseKind.EXCLUSION_ENDED, Side.AT_ASSOCIATION, "T1", 1),
    )


def test_second_workload_associated_in_the_month_changes_the_baseline():
    w = World("2024-06").tenant(["2024-05", "2024-06"], "T1", EXCHANGE, 400, 100, P, "CPOR", "2024-05-03")
    w.tenant(["2024-06"], "T1", "Teams", 400, 50, P, "CPOR", "2024-06-03")
    ch = change(w)
    users, _ = expect(
        ch,
        "ENTERPRISE",
        "USAGE_GROWTH",
        "CPOR",
        (CauseKind.ACTIVE_USERS_CHANGED, Side.MONTH, "T1", 50),
        (CauseKind.BASELINE_CHANGED, Side.AT_ASSOCIATION, "T1", -50),
    )
    assert (users.workload, users.text) == (
        "Teams",
        "tenant T1 under CPOR: 100 -> 150 active users (Teams +50): +50 active users",
    )


# ---- certifications ----------------------------------------------------------------------------


def test_certification_earned_on_the_months_last_day_and_one_expiring_on_it():
    w = World("2024-06").cert(P, "alice", ADV, earned="2024-06-30").cert(P, "bob", ADV, expires="2024-06-30")
    w.cert(P, "carol", ADV, expires="2024-07-01")  # still counts in 2024-06
    ch = change(w)
    for track in ("ENTERPRISE", "SMB"):
        cs = expect(
            ch,
            track,
            "ADVANCED_CERTIFICATIONS",
            "ALL",
            (CauseKind.CERTIFICATION_EARNED, Side.MONTH, "alice", 1),
            (CauseKind.CERTIFICATION_EXPIRED, Side.MONTH, "bob", -1),
        )
        texts = {c.person_id: c.text for c in cs}
        assert texts["bob"] == f"{ADV} of person bob expired on 2024-06-30: -1 advanced person"
        assert texts["alice"] == f"{ADV} of person alice earned on 2024-06-30: +1 advanced person"
        assert {c.certification for c in cs} == {ADV}


def test_certification_past_its_counts_through_date_retires():
    w = World("2027-04").cert(P, "dan", FUNDAMENTALS).cert(P, "eve", TEAMS_ADMIN, expires="2027-04-30")
    w.cert(P, "fay", FUNDAMENTALS, expires="2027-04-30")  # counts through 2027-03-31 comes first
    ch = change(w)
    cs = expect(
        ch,
        "SMB",
        "INTERMEDIATE_CERTIFICATIONS",
        "ALL",
        (CauseKind.CERTIFICATION_RETIRED, Side.MONTH, "dan", -1),
        (CauseKind.CERTIFICATION_EXPIRED, Side.MONTH, "eve", -1),
        (CauseKind.CERTIFICATION_RETIRED, Side.MONTH, "fay", -1),
    )
    texts = {c.person_id: c.text for c in cs}
    assert texts["dan"] == f"{FUNDAMENTALS} of person dan counted through 2027-03-31: -1 intermediate person"
    assert texts["eve"] == f"{TEAMS_ADMIN} of person eve expired on 2027-04-30: -1 intermediate person"


# ---- a rule change between the two months ------------------------------------------------------


def test_rule_change_is_its_own_cause_on_each_side():
    """2026-08 (2023 rules) -> 2026-09 (2026 rules): Copilot customers count from 2026-09 on, in
    the month and in the year-ago month alike; a removed certification stops counting, a new one
    starts; an Exchange customer gained in 2026-09 is an ordinary cause."""
    months = [f"{calendar.add_months(dt.date(2025, 8, 1), k):%Y-%m}" for k in range(14)]
    w = World("2026-09").tenant(months, "TC", "M365 Copilot", 400, 100, P, "CPOR", LONG_AGO)
    w.tenant(["2026-09"], "TX", EXCHANGE, 400, 100, P, "CPOR", LONG_AGO)
    w.cert(P, "old", "Microsoft 365 Certified: Messaging Administrator Associate")
    w.cert(P, "new", "Microsoft 365 Certified: Copilot and Agent Administration Fundamentals")
    ch = change(w)
    assert (ch.rulebook_before, ch.rulebook_after) == ("2023-06-12", "2026-09")
    cs = expect(
        ch,
        "ENTERPRISE",
        "NET_CUSTOMER_ADDS",
        "ALL",
        (CauseKind.RULEBOOK_CHANGED, Side.MONTH, "TC", 1),
        (CauseKind.RULEBOOK_CHANGED, Side.YEAR_AGO, "TC", -1),
        (CauseKind.CUSTOMER_GAINED, Side.MONTH, "TX", 1),
    )
    assert cs[0].text.startswith("rulebook 2026-09 replaces 2023-06-12 (from 2026-09): tenant TC counts as 1 customer")
    expect(
        ch,
        "ENTERPRISE",
        "USAGE_GROWTH",
        "CPOR",
        (CauseKind.RULEBOOK_CHANGED, Side.MONTH, "TC", 100),
        (CauseKind.RULEBOOK_CHANGED, Side.YEAR_AGO, "TC", -100),
        (CauseKind.CUSTOMER_GAINED, Side.MONTH, "TX", 100),
    )
    expect(
        ch,
        "ENTERPRISE",
        "INTERMEDIATE_CERTIFICATIONS",
        "ALL",
        (CauseKind.RULEBOOK_CHANGED, Side.MONTH, "old", -1),
        (CauseKind.RULEBOOK_CHANGED, Side.MONTH, "new", 1),
    )


def test_every_cause_kind_is_reached_by_a_test_above():
    """The scenarios above, run again here so that the check does not depend on test order."""
    SEEN.clear()
    for name, scenario in sorted(globals().items()):
        if name.startswith(SCENARIOS) and scenario.__code__.co_argcount == 0:
            scenario()
    assert set(CauseKind) == SEEN


def test_bridge_is_required_exactly_across_a_rule_change():
    w = World("2024-06")
    scored = A.explain(
        rulebooks=w.rulebooks,
        months=[dt.date(2024, 5, 1), dt.date(2024, 6, 1)],
        snapshots=Snapshots(
            frozenset(A.months_read(w.m)), pl.DataFrame(schema=USAGE_SCHEMA), pl.DataFrame(schema=ASSOCIATIONS_SCHEMA)
        ),
        certifications=w.cert_frame(),
        partner_ids=[P],
    )
    with pytest.raises(ValueError, match="bridged"):
        A.attribute(
            scored[dt.date(2024, 5, 1)], scored[dt.date(2024, 6, 1)], scored[dt.date(2024, 5, 1)], P, w.cert_frame()
        )


# ---- every partner, every month pair ---------------------------------------------------------------


@dataclass
class Walked:
    pairs: int
    causes: int
    kinds: set[CauseKind]


def walk(data: Path, scored: list[dt.date], expected: dict[tuple[str, str], dict] | None) -> Walked:
    """Attribute every partner's change for every consecutive pair of ``scored``; check the
    identity and, with ``expected`` (the example's scorecards), every measure, point and score."""
    rulebooks = load_rulebooks()
    needed = sorted({n for m in scored for n in engine.months_needed(m)})
    snaps = ingest.read_snapshots(data, needed)
    certs = ingest.read_certifications(data)
    partners = partner_registry(data, certifications=certs)["partner_id"].to_list()
    args = {"snapshots": snaps, "certifications": certs, "partner_ids": partners}
    months = A.explain(rulebooks=rulebooks, months=scored, **args)
    pairs = n_causes = 0
    seen: set[CauseKind] = set()
    for prev, month in zip(scored, scored[1:]):
        bridged = None
        if A.needs_bridge(rulebooks, month):
            bridged = A.explain(rulebooks=A.under(rulebooks.for_month(month)), months=[prev], **args)[prev]
        for p in partners:
            ch = A.attribute(months[prev], months[month], bridged, p, certs)
            pairs += 1
            for track, metric, o in A.all_causes(ch):
                assert sum(c.change for c in o.causes) == o.measure_after - o.measure_before, (p, month, metric)
                n_causes += len(o.causes)
                seen.update(c.kind for c in o.causes)
                if expected is None:
                    continue
                for when, measure, points in (
                    (prev, o.measure_before, o.points_before),
                    (month, o.measure_after, o.points_after),
                ):
                    card = expected[(p, f"{when:%Y-%m}")]
                    (path,) = [x for x in card["paths"] if x["track"] == track]
                    (m,) = [x for x in path["metrics"] if x["metric"] == metric]
                    (opt,) = [x for x in m["options"] if x["option"] == o.option]
                    assert (opt["value"], opt["points"]) == (measure, pytest.approx(points, abs=1e-9)), (
                        p,
                        when,
                        metric,
                    )
            if expected is not None:
                assert ch.score_before == pytest.approx(expected[(p, f"{prev:%Y-%m}")]["score"], abs=1e-9)
                assert ch.score_after == pytest.approx(expected[(p, f"{month:%Y-%m}")]["score"], abs=1e-9)
    return Walked(pairs, n_causes, seen)


def _expected(folder: Path) -> dict[tuple[str, str], dict]:
    cards = json.loads((folder / "expected-scorecards.json").read_text())
    return {(c["partnerId"], c["month"]): c for c in cards}


def _months(first: str, last: str) -> list[dt.date]:
    lo, hi = calendar.parse_month(first), calendar.parse_month(last)
    out = [lo]
    while out[-1] < hi:
        out.append(calendar.add_months(out[-1], 1))
    return out


@pytest.mark.parametrize(
    ("folder", "first", "last"),
    [(EXAMPLE, "2024-01", "2024-12"), (EXAMPLE_2026, "2026-08", "2027-07")],
    ids=["2024", "2026"],
)
def test_walk_every_partner_and_month_pair_of_the_examples(folder, first, last):
    if not (folder / "data").exists():
        pytest.skip(f"{folder} is not beside the project")
    expected = _expected(folder)
    walked = walk(folder / "data", _months(first, last), expected)
    partners = len({p for p, _ in expected})
    assert walked.pairs == partners * 11
    assert walked.causes > 1000
    assert {
        CauseKind.CUSTOMER_GAINED,
        CauseKind.YEAR_AGO_CUSTOMER_ADDED,
        CauseKind.ACTIVE_USERS_CHANGED,
    } <= walked.kinds


def test_walk_a_generated_folder_across_the_rule_change(tmp_path):
    generate(tmp_path / "data", partners=40, months=16, start="2025-06", seed=11)
    months = _months("2026-07", "2026-09")
    # the pipeline's own path (files -> service.score_months) gives the scorecards to compare with
    cards = scorecards(score_months(months, directory=tmp_path / "data").result)
    walked = walk(tmp_path / "data", months, {(c["partnerId"], c["month"]): c for c in cards})
    assert walked.pairs == 2 * len(partner_registry(tmp_path / "data"))
    assert CauseKind.RULEBOOK_CHANGED in walked.kinds


def test_one_partners_slice_gives_the_same_attribution_as_all_partners_scored_together():
    if not (EXAMPLE_2026 / "data").exists():
        pytest.skip(f"{EXAMPLE_2026} is not beside the project")
    data = EXAMPLE_2026 / "data"
    rulebooks = load_rulebooks()
    month, prev = dt.date(2026, 9, 1), dt.date(2026, 8, 1)
    snaps = ingest.read_snapshots(data, A.months_read(month))
    certs = ingest.read_certifications(data)
    partners = partner_registry(data, certifications=certs)["partner_id"].to_list()
    args = {"snapshots": snaps, "certifications": certs, "partner_ids": partners}
    both = A.explain(rulebooks=rulebooks, months=[prev, month], **args)
    bridged = A.explain(rulebooks=A.under(rulebooks.for_month(month)), months=[prev], **args)[prev]
    for p in partners[:6]:
        alone = A.score_change(rulebooks=rulebooks, partner_id=p, month=month, snapshots=snaps, certifications=certs)
        assert alone == A.attribute(both[prev], both[month], bridged, p, certs)


@pytest.mark.parametrize("folder", [EXAMPLE, EXAMPLE_2026], ids=["2024", "2026"])
def test_a_partners_slice_read_alone_is_the_slice_of_the_full_read(folder):
    data = folder / "data"
    if not data.exists():
        pytest.skip(f"{folder} is not beside the project")
    month = max(ingest.list_months(data))
    full = ingest.read_snapshots(data, A.months_read(month))
    certs = ingest.read_certifications(data)
    for partner in ("P000001", "P000017", "P999999"):
        alone = A.load_partner_inputs(data, partner, month)
        sliced = A.restrict(partner, month, full, certs)
        assert alone.snapshots.months == sliced.snapshots.months
        for name in ("usage", "associations"):
            got, want = getattr(alone.snapshots, name), getattr(sliced.snapshots, name)
            assert got.sort(got.columns).equals(want.sort(want.columns)), (partner, name)
        assert alone.certifications.equals(sliced.certifications)


def test_a_partners_slice_read_validates_the_months_it_reads(tmp_path):
    import shutil

    if not (EXAMPLE / "data").exists():
        pytest.skip(f"{EXAMPLE} is not beside the project")
    shutil.copytree(EXAMPLE / "data", tmp_path / "data")
    path = tmp_path / "data" / "months" / "2024-12" / "associations.csv"
    lines = path.read_text().splitlines()
    mine = next(i for i, line in enumerate(lines) if line.startswith("P000001,"))
    cols = lines[mine].split(",")
    cols[-1] = "2025-01-05"  # after the month's end
    lines[mine] = ",".join(cols)
    path.write_text("\n".join(lines) + "\n")
    for partner in ("P000001", "P000002"):  # the whole month is validated, whoever asks
        with pytest.raises(InputError, match="associated_on"):
            A.load_partner_inputs(tmp_path / "data", partner, dt.date(2024, 12, 1))
