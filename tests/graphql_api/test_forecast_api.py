"""Partner.forecast, Scorecard.projected and QualificationStatus.projectedLapseMonth over HTTP (the
2026 example, stored 2026-08..2027-07): the projected scorecards equal the pure projection over the
whole data folder, months are limited, and a partner token forecasts only its own partner."""

from __future__ import annotations

from functools import cache

import polars as pl
import pytest

from scoring import calendar, forecast, ingest
from scoring.rulebook import load_rulebooks
from scoring.scorecards import scorecards
from scoring.service import score_months
from tests.support.builders import month
from tests.support.paths import EXAMPLE_2026
from tests.support.scorecards import SCORECARD, assert_fields_close

DATA = EXAMPLE_2026 / "data"
FORECAST = f"""query($id: ID!, $from: Month, $months: Int!) {{
  partner(id: $id) {{ forecast(from: $from, months: $months) {{ projected rulebookId {SCORECARD} }} }} }}"""


@cache
def projection(start: str, months: int):
    """Every partner's projection from the whole data folder (the pure function, no cache)."""
    m = month(start)
    return forecast.forecast(
        rulebooks=load_rulebooks(),
        snapshots=ingest.read_snapshots(DATA, forecast.snapshots_needed(m)),
        certifications=ingest.read_certifications(DATA),
        partner_ids=ingest.known_partner_ids(DATA),
        from_month=m,
        months=months,
    )


def expected_cards(start: str, months: int, partner_id: str) -> list[dict]:
    cards = [c for c in scorecards(projection(start, months)) if c["partnerId"] == partner_id]
    return sorted(cards, key=lambda c: c["month"])


@pytest.mark.parametrize("pid", ["P000000", "P000002", "P000008", "P000017"])
def test_forecast_across_the_revision_equals_the_projection(api_2026, pid):
    got = api_2026.client.data(FORECAST, {"id": pid, "from": "2026-07", "months": 12})["partner"]["forecast"]
    want = expected_cards("2026-07", 12, pid)
    assert [c["month"] for c in got] == [f"{m:%Y-%m}" for m in forecast.projected_months(month("2026-07"), 12)]
    assert [c["rulebookId"] for c in got] == ["2023-06-12"] + ["2026-09"] * 11
    assert all(c["projected"] is True for c in got)
    for g, w in zip(got, want, strict=True):
        assert_fields_close(g, w, f"{pid} {w['month']}")


def test_forecast_defaults_to_six_months_after_the_latest_scored_month(api_2026):
    q = """query($id: ID!) { partner(id: $id) { scorecard { month projected }
             forecast { month projected partnerId score paths { track total } } } }"""
    got = api_2026.client.data(q, {"id": "P000000"})["partner"]
    assert got["scorecard"] == {"month": "2027-07", "projected": False}
    cards = got["forecast"]
    assert [c["month"] for c in cards] == ["2027-08", "2027-09", "2027-10", "2027-11", "2027-12", "2028-01"]
    want = expected_cards("2027-07", 6, "P000000")
    assert [c["score"] for c in cards] == pytest.approx([c["score"] for c in want])
    assert all(c["projected"] and c["partnerId"] == "P000000" and len(c["paths"]) == 2 for c in cards)


def test_stored_scorecards_are_not_projected(api_2026):
    q = '{ partner(id: "P000002") { history { projected } } }'
    history = api_2026.client.data(q)["partner"]["history"]
    assert len(history) == 12 and not any(c["projected"] for c in history)


@pytest.mark.parametrize("months", [0, -1, 13, 100])
def test_months_outside_1_to_12_are_refused(api_2026, months):
    body = api_2026.client.execute(FORECAST, {"id": "P000000", "from": "2026-08", "months": months})
    (error,) = body["errors"]
    assert "months must be between 1 and 12" in error["message"]
    assert body["data"] is None or body["data"]["partner"] is None


@pytest.mark.parametrize(
    ("start", "code"), [("2029-01", "DATA_UNAVAILABLE"), ("0001-01", "BAD_USER_INPUT"), ("9999-06", "BAD_USER_INPUT")]
)
def test_a_forecast_from_a_month_without_data_says_so(api_2026, start, code):
    body = api_2026.client.execute(FORECAST, {"id": "P000000", "from": start, "months": 1})
    (error,) = body["errors"]
    assert error["extensions"]["code"] == code


def test_a_partner_token_forecasts_only_its_own_partner(api_2026):
    own = api_2026.as_partner("P000002")
    try:
        mine = own.data(FORECAST, {"id": "P000002", "from": "2026-09", "months": 2})["partner"]["forecast"]
        assert [c["partnerId"] for c in mine] == ["P000002", "P000002"]
        for other in ("P000000", "P000001", "P999999"):
            assert own.data(FORECAST, {"id": other, "from": "2026-09", "months": 2}) == {"partner": None}
        q = '{ partner(id: "P000000") { status(month: "2026-09") { projectedLapseMonth } } }'
        assert own.data(q) == {"partner": None}
    finally:
        own.close()


def expected_lapse(pid: str, at: str, history: pl.DataFrame) -> str | None:
    projected = projection(at, 12).designations
    found = forecast.first_lapse_month(history, projected, pid, month(at))
    return None if found is None else f"{found:%Y-%m}"


@pytest.mark.parametrize(
    ("pid", "at"),
    [
        ("P000000", "2027-07"),
        ("P000002", "2027-05"),
        ("P000008", "2027-03"),
        ("P000002", "2027-01"),
        ("P000017", "2027-07"),
    ],
)
def test_status_gives_the_first_projected_lapse_month(api_2026, pid, at):
    q = """query($id: ID!, $m: Month) { partner(id: $id) { status(month: $m) {
             month qualified sinceMonth projectedLapseMonth } } }"""
    status = api_2026.client.data(q, {"id": pid, "m": at})["partner"]["status"]
    history = score_months(
        [calendar.add_months(month(at), -k) for k in range(5, -1, -1)], directory=DATA
    ).result.designations
    want = expected_lapse(pid, at, history)
    assert status["projectedLapseMonth"] == want
    if status["qualified"]:  # the window holds an attained month through `at`: a lapse comes later
        assert want is None or month(want) > month(at)
    else:  # nothing to hold on to: lapsed in at+1 unless attaining in it
        assert want is None or want == f"{calendar.add_months(month(at), 1):%Y-%m}"
