"""Playwright driving Debian's Chromium against pytest-django's live server; axe-core on every page.

Browsers are never downloaded: Chromium is launched by path and the tests skip, saying why, when
/usr/bin/chromium (Debian's `chromium`, installed by .ci/run) or the playwright package is absent.
Screenshots go to var/screenshots/ (not committed) for a person to review.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("TRIAGE_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
FIXTURES_LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "logs"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
BLOCKING = ("critical", "serious")


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent (Debian package `chromium`; .ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    # Playwright's sync API runs an event loop in this thread; Django then refuses ORM calls from it
    # unless told that the test thread is not really async (it is not: it waits for each call).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    tab = context.new_page()
    tab.set_default_timeout(15000)
    yield tab
    context.close()


def log_in(page, user, live_server) -> None:
    """Give the browser a logged-in session of `user` (the login form itself has its own test)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    page.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])


def axe_violations(page) -> list[dict]:
    """axe-core's critical and serious violations of the page as shown now."""
    # Evaluated over the DevTools protocol: the app's Content-Security-Policy (script-src 'self') rightly
    # refuses an injected inline <script>, and the page's own scripts stay under it.
    page.evaluate(AXE.read_text())
    found = page.evaluate("async () => (await axe.run(document)).violations")
    return [v for v in found if v.get("impact") in BLOCKING]


def describe(violations: list[dict]) -> str:
    return "\n".join(f"{v['impact']} {v['id']}: {v['help']} at "
                     + ", ".join(str(n["target"]) for n in v["nodes"][:5]) for v in violations)


def check_page(page, name: str) -> None:
    """The page as a person gets it: a screenshot for review, and no critical/serious axe finding."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    violations = axe_violations(page)
    assert not violations, f"{name}: {page.url}\n{describe(violations)}"
