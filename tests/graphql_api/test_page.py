"""The scorecard page at ``/`` and GraphiQL at ``/graphql``, driven in Debian's Chromium by
Playwright against a real server over the example data. Every test's browser has the network
cut off but for the server, and checks that nothing else was asked for."""

from __future__ import annotations

import csv
import io
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM, PHONE, new_context, sign_in

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (.ci/run installs chromium)")

OWN, OTHER = "P000001", "P000002"

CUSTOMER_FIELDS = (
    "tenantId track option eligible seatBand maxPaidSeats workloadCount associatedOn paidSeats activeUsers "
    "activeRatio counted countedYearAgo deployed deployedYearAgo excluded baselineUsers"
)


def two(x: float) -> str:
    """Points as the page shows them: two decimals, halves away from zero, thousands separated."""
    return f"{Decimal(x).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    from tests.support.browser import launch

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture
def site(api_sqlite):
    return api_sqlite, api_sqlite.url.removesuffix("/graphql")


@pytest.fixture
def open_context(browser, site):
    """``open_context(**kw) -> (context, log)``; at the end, no request went outside the server
    and no script or console error (a Content-Security-Policy violation is one) happened."""
    _, base = site
    made = []

    def make(**kw):
        context, log = new_context(browser, base, **kw)
        made.append((context, log))
        return context, log

    yield make
    for context, log in made:
        context.close()
        assert log.urls, "the browser made no request"
        assert log.outside() == []
        assert log.errors == []


def scorecard(api, partner: str, month: str | None = None) -> dict:
    q = "query($p: ID!, $m: Month) { partner(id: $p) { name scorecard(month: $m) { month score attained paths { track total metrics { metric points maxPoints value } } } } }"
    return api.client.data(q, {"p": partner, "m": month})["partner"]


def all_customers(client, partner: str, month: str) -> list[dict]:
    q = f"query($p: ID!, $m: Month, $a: String) {{ partner(id: $p) {{ customers(month: $m, first: 100, after: $a) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {CUSTOMER_FIELDS} }} }} }} }}"
    rows, after = [], None
    while True:
        page = client.data(q, {"p": partner, "m": month, "a": after})["partner"]["customers"]
        rows += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return rows
        after = page["pageInfo"]["endCursor"]


def same_value(text: str, value) -> bool:
    """A CSV cell holds the API's exact value (numbers unrounded)."""
    if value is None:
        return text == ""
    if isinstance(value, bool):
        return text == str(value).lower()
    if isinstance(value, (int, float)):
        return float(text) == float(value)
    return text == str(value)


def read_download(download) -> list[dict]:
    return list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))


# ---- a partner ---------------------------------------------------------------------------------


def test_partner_signs_in_and_sees_score_tracks_and_charts(site, open_context):
    api, base = site
    expected = scorecard(api, OWN)
    context, _ = open_context()
    page = context.new_page()
    page.goto(base + "/")
    assert page.get_by_text("No token").is_visible()
    sign_in(page, base, api.tokens[OWN])
    page.wait_for_selector("[data-testid=score]")
    card = expected["scorecard"]
    assert page.inner_text("[data-testid=score]") == two(card["score"])
    assert page.inner_text("[data-testid=attained]") == ("Attained" if card["attained"] else "Not attained")
    assert expected["name"] in page.inner_text("#partner-h")
    assert page.input_value("#month") == card["month"]
    # both tracks, five bars each, the ones under the 1-point minimum in red
    assert page.locator("#tracks article").count() == 2
    assert page.locator("#tracks .metrics li").count() == 10
    below = sum(m["points"] < 1 for p in card["paths"] for m in p["metrics"])
    assert page.locator("#tracks .metrics li.below").count() == below
    assert page.locator("#tracks .bar-fill.below").count() == below
    for path in card["paths"]:
        assert two(path["total"]) in page.inner_text(f"#track-{path['track']}")
    # the history chart: score and both totals over every scored month, with the 70 line
    history = page.locator("#history svg.line")
    assert history.count() == 1
    assert page.locator("#history path.series").count() == 3
    assert page.locator("#history line.threshold").count() == 1
    months = api.client.data(f'{{ partner(id: "{OWN}") {{ history {{ month }} }} }}')["partner"]["history"]
    assert page.locator("#history circle.dot.score").count() == len(months)
    # the customer report and the skilling timeline
    page.wait_for_selector("#customers table")
    page.wait_for_selector("#skilling svg.timeline")
    rows = all_customers(api.as_partner(OWN), OWN, card["month"])
    assert page.locator("#customers tbody tr").count() == len(rows)


def test_another_partners_id_shows_nothing_of_it(site, open_context):
    api, base = site
    other = scorecard(api, OTHER)
    context, _ = open_context()
    page = context.new_page()
    answers: list[str] = []
    page.on(
        "response",
        lambda r: answers.append(r.text()) if r.url.endswith("/graphql") and r.request.method == "POST" else None,
    )
    sign_in(page, base, api.tokens[OWN], hash=f"#partner={OTHER}")
    page.wait_for_selector("#partner-empty:not([hidden])")
    assert page.inner_text("#partner-empty") == f"No partner {OTHER} can be read with this token."
    assert page.locator("#partner-body").is_hidden()
    assert page.locator("#admin").is_hidden()
    text = page.inner_text("body")
    assert other["name"] not in text
    assert two(other["scorecard"]["score"]) not in text
    assert page.locator("#partner button.csv:visible").count() == 0
    # nor did any answer the page received hold it
    page.wait_for_load_state("networkidle")
    assert answers and all(OTHER not in a and other["name"] not in a for a in answers)
    # the partner's own page is still there
    page.evaluate(f"location.hash = '#partner={OWN}'")
    page.wait_for_selector("[data-testid=score]")


def test_customer_and_metric_csv_hold_the_apis_exact_values(site, open_context):
    api, base = site
    context, _ = open_context()
    page = context.new_page()
    sign_in(page, base, api.tokens[OWN])
    page.wait_for_selector("#customers table")
    month = page.input_value("#month")
    with page.expect_download() as got:
        page.locator("#customers button.csv").click()
    assert got.value.suggested_filename == f"customers-{OWN}-{month}.csv"
    rows = read_download(got.value)
    expected = all_customers(api.as_partner(OWN), OWN, month)
    assert len(rows) == len(expected) > 0
    for row, want in zip(rows, expected, strict=True):
        assert row["reason"]
        for key, value in want.items():
            assert same_value(row[key], value), (key, row[key], value)
    # the metrics of a track: points unrounded
    card = scorecard(api, OWN, month)["scorecard"]
    with page.expect_download() as got:
        page.locator("#tracks article").first.locator("button.csv").click()
    metrics = read_download(got.value)
    want_metrics = card["paths"][0]["metrics"]
    assert [r["metric"] for r in metrics] == [m["metric"] for m in want_metrics]
    for row, want in zip(metrics, want_metrics, strict=True):
        assert float(row["points"]) == want["points"] and float(row["value"]) == want["value"]


def test_what_if_form_scores_as_the_api_does(site, open_context):
    api, base = site
    context, _ = open_context()
    page = context.new_page()
    sign_in(page, base, api.tokens[OWN])
    page.wait_for_selector("#customers table")
    month = page.input_value("#month")
    page.get_by_label("Add advanced").fill("2")
    page.get_by_label("Add intermediate").fill("1")
    page.get_by_role("button", name="Simulate").click()
    summary = page.locator("[data-testid=whatif-summary]")
    summary.wait_for()
    q = "query($p: ID!, $m: Month, $c: SimulationChangesInput!) { simulate(partnerId: $p, month: $m, changes: $c) { scoreDelta actual { score } simulated { score attained } } }"
    changes = {"addCertifiedPersons": [{"level": "INTERMEDIATE", "count": 1}, {"level": "ADVANCED", "count": 2}]}
    sim = api.as_partner(OWN).data(q, {"p": OWN, "m": month, "c": changes})["simulate"]
    text = summary.inner_text()
    assert f"{two(sim['actual']['score'])} → {two(sim['simulated']['score'])}" in text
    assert sim["scoreDelta"] > 0
    assert page.locator("#whatif-result tbody tr").count() == 10


def test_empty_states_and_keyboard_sign_in(site, open_context):
    api, base = site
    context, _ = open_context()
    page = context.new_page()
    page.goto(base + "/#partner=P000001&month=2023-01")
    assert page.get_by_text("No token").is_visible()
    # a wrong token is refused and not kept
    page.get_by_label("Token").fill("not-a-token")
    page.keyboard.press("Enter")
    page.wait_for_selector("#signin-error:has-text('not accepted')")
    assert page.evaluate("sessionStorage.getItem('pcs.token')") is None
    # sign in by keyboard alone: the token field is reached with Tab, Enter submits
    page.reload()
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "token"
    page.keyboard.type(api.tokens[OWN])
    page.keyboard.press("Enter")
    page.wait_for_selector("#partner-empty:not([hidden])")
    assert page.inner_text("#partner-empty") == "No data for this month yet (Jan 2023)."
    assert api.tokens[OWN] not in page.url
    # the token lives in this tab's session only
    assert page.evaluate("sessionStorage.getItem('pcs.token')") == api.tokens[OWN]
    assert page.evaluate("localStorage.length") == 0
    page.get_by_role("button", name="Sign out").click()
    assert page.evaluate("sessionStorage.getItem('pcs.token')") is None
    assert page.get_by_text("No token").is_visible()


def test_phone_width_needs_no_sideways_scrolling(site, open_context):
    api, base = site
    context, _ = open_context(viewport=PHONE)
    page = context.new_page()
    sign_in(page, base, api.tokens[OWN])
    page.wait_for_selector("#customers table")
    page.wait_for_selector("#skilling table")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.locator("[data-testid=score]").is_visible()


# ---- the admin -------------------------------------------------------------------------------


def test_admin_sees_the_overview_and_switches_partners(site, open_context):
    api, base = site
    context, _ = open_context()
    page = context.new_page()
    sign_in(page, base, api.admin)
    page.wait_for_selector("#overview svg.histogram")
    assert page.locator("#partner").is_hidden()
    overview = api.client.data(
        "{ programOverview { distributionMonth scoreDistribution { partners } months { month } } }"
    )["programOverview"]
    assert page.locator("#overview svg.histogram rect.hist").count() == len(overview["scoreDistribution"])
    month = overview["distributionMonth"]
    misses = api.client.data(
        f'{{ designations(month: "{month}", attained: false, first: 10) {{ nodes {{ partnerId }} }} }}'
    )
    ids = [n["partnerId"] for n in misses["designations"]["nodes"]]
    assert page.locator("#overview table").nth(1).locator("tbody th").all_inner_texts() == ids
    # search by id, open, then by name, open another
    for text, partner in ((OTHER, OTHER), ("partner 1", OWN)):
        page.get_by_label("Find a partner by id or name").fill(text)
        page.get_by_role("button", name="Search").click()
        page.get_by_role("button", name=re.compile(f"^{partner}")).click()
        page.wait_for_selector(f"#partner-h:has-text('({partner})')")
        expected = scorecard(api, partner)["scorecard"]
        page.wait_for_function(
            "want => document.querySelector('[data-testid=score]')?.textContent === want", arg=two(expected["score"])
        )
    # and an earlier month of the same partner
    earlier = overview["months"][0]["month"]
    page.select_option("#month", earlier)
    page.wait_for_function(
        "want => document.querySelector('[data-testid=score]')?.textContent === want",
        arg=two(scorecard(api, OWN, earlier)["scorecard"]["score"]),
    )
    assert f"month={earlier}" in page.url


# ---- GraphiQL, charts and screenshots ----------------------------------------------------------------


def test_graphiql_loads_from_the_server_alone(site, open_context):
    api, base = site
    html = api.client.http.get(api.url, headers={"Accept": "text/html"}).text
    assert "<script" in html and not re.search(r"(src|href)=\"https?://", html)
    context, log = open_context()
    page = context.new_page()
    page.goto(api.url)
    page.wait_for_selector(".graphiql-editor")
    assert any("/static/vendor/graphiql-3.8.3/graphiql.min.js" in u for u in log.urls)


def test_history_chart_draws_a_projection_dashed(site, open_context):
    """The projection's drawing (for the forecast, when the API has it): a dashed continuation
    from the last actual month."""
    _, base = site
    context, _ = open_context()
    page = context.new_page()
    page.goto(base + "/")
    dashed = page.evaluate(
        """async () => {
          const { lineChart } = await import('/static/js/charts.js');
          const svg = lineChart({ labels: ['2024-01', '2024-02'], threshold: 70, title: 't',
            series: [{ name: 'Score', values: [60, 65], cls: 'score' }],
            projection: { labels: ['2024-03', '2024-04'], series: [{ name: 'Score', values: [68, 71], cls: 'score' }] } });
          document.body.append(svg);
          const p = svg.querySelector('path.projected');
          return [p.getAttribute('d').split('L').length, getComputedStyle(p).strokeDasharray];
        }"""
    )
    assert dashed[0] == 3 and dashed[1] not in ("", "none")


def test_screenshots_are_taken_by_the_test_browser(site, browser, tmp_path):
    from tests.support.screenshots import SHOTS, take

    api, _ = site
    assert take(api, browser, tmp_path) == []
    for name in SHOTS:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
