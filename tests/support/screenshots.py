"""The README's screenshots of the scorecard page, taken by the page tests' browser over the
example data: ``uv run --frozen python -m tests.support.screenshots [DIR]`` writes
``docs/screenshots/*.png`` (or DIR); ``tests/graphql_api/test_page.py`` runs it too."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from pcs.settings import PROJECT_ROOT
from storage.engines import dispose_engines
from tests.support.api_server import Api, serve_example
from tests.support.browser import DESKTOP, PHONE, launch, new_context, sign_in

SHOTS = ("partner.png", "partner-phone.png", "admin.png", "graphiql.png")


def take(api: Api, browser, out: Path) -> list[str]:
    """Write the screenshots of ``SHOTS`` into ``out``; returns the requests made outside the server."""
    out.mkdir(parents=True, exist_ok=True)
    base = api.url.removesuffix("/graphql")
    outside: list[str] = []
    for viewport, name in ((DESKTOP, "partner.png"), (PHONE, "partner-phone.png")):
        context, log = new_context(browser, base, viewport=viewport)
        page = context.new_page()
        sign_in(page, base, api.tokens["P000001"])
        page.wait_for_selector("#customers table")
        page.wait_for_selector("#skilling table")
        page.screenshot(path=str(out / name), full_page=name == "partner.png", clip=None)
        outside += log.outside()
        context.close()
    context, log = new_context(browser, base)
    page = context.new_page()
    sign_in(page, base, api.admin)
    page.wait_for_selector("#overview svg.histogram")
    page.get_by_label("Find a partner by id or name").fill("Partner 2")
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector("#search-results button")
    page.screenshot(path=str(out / "admin.png"), full_page=True)
    page.goto(base + "/graphql")
    page.wait_for_selector(".graphiql-editor")
    page.screenshot(path=str(out / "graphiql.png"))
    outside += log.outside()
    context.close()
    return outside


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else PROJECT_ROOT / "docs" / "screenshots"
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/screens.sqlite"
        served = serve_example(url)
        api = next(served)
        try:
            with sync_playwright() as p:
                browser = launch(p)
                outside = take(api, browser, out)
                browser.close()
        finally:
            served.close()
            dispose_engines(url)
    for name in SHOTS:
        print(out / name)
    if outside:
        print("requests outside the server:", outside, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
