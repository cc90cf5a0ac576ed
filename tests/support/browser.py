"""The browser of the page tests: Debian's Chromium (``/usr/bin/chromium``, installed by
``.ci/run``; ``PCS_CHROMIUM`` overrides) driven by Playwright, with every request recorded and
everything outside the server refused (the network cut off but for the server)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = Path(os.environ.get("PCS_CHROMIUM", "/usr/bin/chromium"))
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def launch(playwright):
    """Headless Chromium from the system (Playwright downloads no browser)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class RequestLog:
    """Every request a browser context made; those not to ``server`` were refused."""

    server: str  # the server's origin, e.g. http://127.0.0.1:41234
    urls: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # script errors and console errors (CSP violations, ...)

    def outside(self) -> list[str]:
        """Requests to anything but the server (data: and blob: URLs are the page's own)."""
        return [u for u in self.urls if not u.startswith(("data:", "blob:")) and origin(u) != self.server]


def new_context(browser, server_url: str, *, viewport: dict | None = None, **kw):
    """A fresh context (its own sessionStorage) whose requests are logged, and refused unless
    they go to the server. Returns (context, log)."""
    log = RequestLog(origin(server_url))
    context = browser.new_context(viewport=viewport or DESKTOP, accept_downloads=True, **kw)

    def on_request(request) -> None:
        log.urls.append(request.url)

    def gate(route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or origin(url) == log.server:
            route.continue_()
        else:
            route.abort("internetdisconnected")

    def on_console(message) -> None:
        # an HTTP error status the page handles (a refused token) is logged too: not a script error
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            log.errors.append(message.text)

    context.on("request", on_request)
    context.on("console", on_console)
    context.on("weberror", lambda error: log.errors.append(str(error.error)))
    context.route("**/*", gate)
    return context, log


def sign_in(page, base: str, token: str, *, hash: str = "") -> None:
    """Open the page and sign in with ``token`` by typing it, as a person does."""
    page.goto(base + "/" + hash)
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#session:not([hidden])")
