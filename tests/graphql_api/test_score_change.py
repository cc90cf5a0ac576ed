"""``Partner.scoreChange`` over HTTP (the real server over both examples, scored and stored by the
real pipeline code): the identity for every option, measures, points and scores equal to the
stored scorecards of both months, nulls, a partner token, and the SQL statements per call."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from storage.engines import get_engine
from tests.support.api_server import API_PARTNERS

CAUSE = "kind side change text tenantId personId certification workload"
CHANGE = f"""month previousMonth rulebookIdBefore rulebookIdAfter scoreBefore scoreAfter attainedBefore attainedAfter
    bestTrackBefore bestTrackAfter
    tracks {{ track totalBefore totalAfter qualifiesBefore qualifiesAfter
      metrics {{ metric unit pointsBefore pointsAfter
        options {{ option measureBefore measureAfter pointsBefore pointsAfter winnerBefore winnerAfter
          causes {{ {CAUSE} }} }} }} }}"""
CARD = "month score attained bestTrack rulebookId paths { track total qualifies metrics { metric points options { option value points isWinner } } }"
QUERY = f"""query($id: ID!, $m: Month) {{ partner(id: $id) {{
    scoreChange(month: $m) {{ {CHANGE} }}
    history {{ {CARD} }} }} }}"""


def check_against_stored(change: dict, history: list[dict]) -> int:
    """The identity per option, and every measure, point, total and score equal to the stored
    scorecards of both months; the number of causes."""
    cards = {c["month"]: c for c in history}
    before, after = cards[change["previousMonth"]], cards[change["month"]]
    assert (change["scoreBefore"], change["scoreAfter"]) == (before["score"], after["score"])
    assert (change["rulebookIdBefore"], change["rulebookIdAfter"]) == (before["rulebookId"], after["rulebookId"])
    assert (change["attainedBefore"], change["attainedAfter"]) == (before["attained"], after["attained"])
    assert (change["bestTrackBefore"], change["bestTrackAfter"]) == (before["bestTrack"], after["bestTrack"])
    n = 0
    for t in change["tracks"]:
        paths = {
            when: next(p for p in c["paths"] if p["track"] == t["track"]) for when, c in (("b", before), ("a", after))
        }
        assert (t["totalBefore"], t["qualifiesBefore"]) == (paths["b"]["total"], paths["b"]["qualifies"])
        assert (t["totalAfter"], t["qualifiesAfter"]) == (paths["a"]["total"], paths["a"]["qualifies"])
        for m in t["metrics"]:
            stored = {
                when: {o["option"]: o for o in next(x for x in p["metrics"] if x["metric"] == m["metric"])["options"]}
                for when, p in paths.items()
            }
            assert [o["option"] for o in m["options"]] == list(stored["a"]), (t["track"], m["metric"])
            for o in m["options"]:
                b, a = stored["b"][o["option"]], stored["a"][o["option"]]
                assert (o["measureBefore"], o["pointsBefore"], o["winnerBefore"]) == (
                    b["value"],
                    b["points"],
                    b["isWinner"],
                )
                assert (o["measureAfter"], o["pointsAfter"], o["winnerAfter"]) == (
                    a["value"],
                    a["points"],
                    a["isWinner"],
                )
                assert sum(c["change"] for c in o["causes"]) == o["measureAfter"] - o["measureBefore"]
                for c in o["causes"]:  # "...: +1 customer", never a cause that changes nothing
                    assert c["change"] != 0 and c["text"].rsplit(": ", 1)[1].startswith(f"{c['change']:+d} "), c
                n += len(o["causes"])
    return n


def _months(api, partner: str) -> list[str]:
    data = api.client.data("query($id: ID!) { partner(id: $id) { history { month } } }", {"id": partner})
    return [c["month"] for c in data["partner"]["history"]]


def test_every_partner_latest_month_and_one_partner_every_month_2024(api_sqlite):
    walk(api_sqlite, month_for_all=None)


def test_every_partner_across_the_rule_change_and_one_partner_every_month_2026(api_2026):
    walk(api_2026, month_for_all="2026-09")


def walk(api, month_for_all: str | None) -> None:
    partners = [
        e["node"]["id"]
        for e in api.client.data("{ partners(first: 100) { edges { node { id } } } }")["partners"]["edges"]
    ]
    causes = 0
    for p in partners:
        data = api.client.data(QUERY, {"id": p, "m": month_for_all})["partner"]
        causes += check_against_stored(data["scoreChange"], data["history"])
    months = _months(api, API_PARTNERS[0])
    assert api.client.data(QUERY, {"id": API_PARTNERS[0], "m": months[0]})["partner"]["scoreChange"] is None
    for m in months[1:]:
        data = api.client.data(QUERY, {"id": API_PARTNERS[0], "m": m})["partner"]
        assert data["scoreChange"]["month"] == m
        causes += check_against_stored(data["scoreChange"], data["history"])
    assert causes > 100


def test_omitted_month_is_the_latest_and_unscored_months_are_null(api_sqlite):
    q = 'query($m: Month) { partner(id: "P000001") { scoreChange(month: $m) { month previousMonth } } }'
    assert api_sqlite.client.data(q)["partner"]["scoreChange"] == {"month": "2024-12", "previousMonth": "2024-11"}
    for month in ("2024-01", "2023-06", "2025-01"):
        assert api_sqlite.client.data(q, {"m": month})["partner"]["scoreChange"] is None, month


def test_the_rule_change_is_explained_by_its_own_causes(api_2026):
    q = '{ partner(id: "P000001") { scoreChange(month: "2026-09") { rulebookIdBefore rulebookIdAfter tracks { metrics { options { causes { kind side change text } } } } } } }'
    change = api_2026.client.data(q)["partner"]["scoreChange"]
    assert (change["rulebookIdBefore"], change["rulebookIdAfter"]) == ("2023-06-12", "2026-09")
    causes = [c for t in change["tracks"] for m in t["metrics"] for o in m["options"] for c in o["causes"]]
    rule = [c for c in causes if c["kind"] == "RULEBOOK_CHANGED"]
    assert rule and {c["side"] for c in rule} >= {"MONTH", "YEAR_AGO"}
    assert all("rulebook 2026-09 replaces 2023-06-12" in c["text"] for c in rule)


def test_a_partner_token_reads_its_own_score_change_only(api_sqlite):
    own, other = API_PARTNERS
    client = api_sqlite.as_partner(own)
    try:
        q = "query($id: ID!) { partner(id: $id) { scoreChange { month tracks { metrics { options { causes { tenantId personId } } } } } } }"
        mine = client.data(q, {"id": own})["partner"]["scoreChange"]
        assert mine is not None and mine["month"] == "2024-12"
        assert client.data(q, {"id": other})["partner"] is None
        theirs = api_sqlite.client.data(q, {"id": other})["partner"]["scoreChange"]
        assert theirs is not None  # the admin reads it: the null above is the token's doing
        # no path from the partner's token reaches another partner's scoreChange
        via = (
            '{ designations(month: "2024-12", first: 50) { edges { node { partner { id scoreChange { month } } } } } }'
        )
        for edge in client.data(via)["designations"]["edges"]:
            assert edge["node"]["partner"]["id"] == own
    finally:
        client.close()


def _count_statements(api, query: str, variables: dict | None = None) -> int:
    engine = get_engine(api.db_url)
    seen: list[str] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        api.client.data(query, variables)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    return len(seen)


@pytest.mark.parametrize("month", [None, "2024-06"])
def test_statements_per_call_are_a_handful(api_sqlite, month, capsys):
    q = 'query($m: Month) { partner(id: "P000003") { scoreChange(month: $m) { scoreAfter tracks { metrics { options { causes { kind } } } } } } }'
    n = _count_statements(api_sqlite, q, {"m": month})
    with capsys.disabled():
        print(f"\nscoreChange(month: {month}): {n} SQL statements")
    assert n <= 6, n


def test_the_schema_enums_are_the_domains():
    from graphql_api import enums
    from scoring import attribution

    assert [k.value for k in enums.CauseKind] == [k.value for k in attribution.CauseKind]
    assert [s.value for s in enums.CauseSide] == [s.value for s in attribution.Side]


def test_a_data_folder_that_no_longer_gives_the_stored_scores_is_refused():
    """The resolver's comparison with the stored rows: equal rows pass, any other measure, point,
    score or version is a change of the data folder."""
    import datetime as dt
    from types import SimpleNamespace

    from graphql_api.resolvers.score_change import _stored_differs
    from scoring import attribution
    from scoring.rulebook import load_rulebooks
    from tests.support.paths import EXAMPLE_DATA

    month, prev = dt.date(2024, 6, 1), dt.date(2024, 5, 1)
    inputs = attribution.load_partner_inputs(EXAMPLE_DATA, "P000003", month)
    rulebooks = load_rulebooks()
    args = {"snapshots": inputs.snapshots, "certifications": inputs.certifications, "partner_ids": ["P000003"]}
    scored = attribution.explain(rulebooks=rulebooks, months=[prev, month], **args)
    change = attribution.attribute(scored[prev], scored[month], None, "P000003", inputs.certifications)
    rows = [SimpleNamespace(**r) for m in (prev, month) for r in scored[m].result.metric_points.iter_rows(named=True)]
    cards = {m: SimpleNamespace(**scored[m].result.designations.row(0, named=True)) for m in (prev, month)}
    assert not _stored_differs(change, rows, cards)
    rows[3].value += 1
    assert _stored_differs(change, rows, cards)
    rows[3].value -= 1
    cards[prev].rulebook_id = "other"
    assert _stored_differs(change, rows, cards)


def test_smoke_score_change_on_both_backends(api):
    """SQLite and PostgreSQL: the same stored scorecards, the same attribution, a handful of statements."""
    data = api.client.data(QUERY, {"id": "P000003", "m": "2024-09"})["partner"]
    assert check_against_stored(data["scoreChange"], data["history"]) > 0
    q = '{ partner(id: "P000003") { scoreChange(month: "2024-09") { scoreAfter } } }'
    n = _count_statements(api, q)
    print(f"\nscoreChange on {api.db_url.split(':', 1)[0]}: {n} SQL statements")
    assert n <= 8  # PostgreSQL adds the request's BEGIN and LOCK TABLE statements
