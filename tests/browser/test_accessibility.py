"""Every page, as Chromium renders it, passes axe-core (no critical or serious violation) and fits 390 px."""

from __future__ import annotations

import pytest

from tests.browser.conftest import check_page, log_in
from tests.conftest import fixture_log
from tests.triage.factories import make_log, make_triager
from triage.models import Crash
from workers.tasks import analyze_log


@pytest.fixture
def stored(transactional_db):
    base = make_log(fixture_log("x86_64-boot.log"), "boot.log", commit="aaaa000011112222", arch="x86_64",
                    tree="linux-next", branch="master", config="x86_64-kasan", test="boot")
    log = make_log(fixture_log("x86_64-READ_AFTER_FREE.log"), "uaf.log", commit="bbbb000011112222",
                   arch="x86_64", tree="linux-next", branch="master", config="x86_64-kasan", test="boot")
    for one in (base, log):
        analyze_log(one.pk)
    crash = Crash.objects.filter(log=log).first()
    return {"log": log, "crash": crash, "cluster": crash.cluster}


def pages(stored) -> dict[str, str]:
    return {
        "home": "/", "clusters": "/clusters/", "cluster": f"/clusters/{stored['cluster'].pk}/",
        "crashes": "/crashes/", "crash": f"/crashes/{stored['crash'].pk}/", "logs": "/logs/",
        "log": f"/logs/{stored['log'].pk}/", "builds": "/builds/", "upload": "/logs/upload/",
        "build-upload": "/builds/upload/",
        "compare": "/compare/?base_commit=aaaa000011112222&target_commit=bbbb000011112222",
        "compare-empty": "/compare/", "search": "/search/?q=lkdtm",
        "crashes-filtered": "/crashes/?config=x86_64-kasan&sort=title", "regressions": "/regressions/",
        "subscriptions": "/subscriptions/", "tokens": "/settings/tokens/",
    }


def test_every_page_passes_axe(page, live_server, stored):
    log_in(page, make_triager(), live_server)
    for name, path in pages(stored).items():
        response = page.goto(path)
        assert response.status == 200, f"{name} {path}: {response.status}"
        check_page(page, name)
    page.context.clear_cookies()
    for name, path in {"login": "/login/", "not-found": "/no/such/page/"}.items():
        page.goto(path)
        check_page(page, name)


def test_navigation_fits_a_phone(browser, live_server, stored):
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.url)
    phone = context.new_page()
    log_in(phone, make_triager(), live_server)
    phone.goto("/")
    width = phone.evaluate("document.documentElement.scrollWidth")
    nav = phone.locator("header a", has_text="Compare")
    box = nav.bounding_box()
    phone.screenshot(path=str(__import__("tests.browser.conftest", fromlist=["SCREENSHOTS"]).SCREENSHOTS
                              / "home-390.png"), full_page=True)
    assert box and box["x"] + box["width"] <= 390, "the navigation is cut at 390 px"
    assert width <= 400, f"the page scrolls sideways at 390 px ({width} px wide)"
    context.close()


WIDEST = """() => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 2 && !e.closest('.scroll, pre'))
    .slice(0, 3).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""


# Words of column headings, and of cells of tables that scroll in their own box, drawn on two lines
# ("%reproduct|ion", "0 min|utes ago"): such a table scrolls instead. Hyphens and slashes break.
BROKEN_WORDS = r"""() => {
    const broken = [];
    for (const cell of document.querySelectorAll('th, .scroll td')) {
        const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        for (let node; (node = walk.nextNode()); ) {
            for (const m of node.data.matchAll(/[^\s\-\/_.:]+/g)) {
                const range = document.createRange();
                range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
                const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                if (tops.size > 1) broken.push(m[0]);
            }
        }
    }
    return broken.slice(0, 5);
}"""


def test_no_word_of_a_table_is_broken_at_full_width_or_on_a_phone(browser, live_server, stored):
    broken = {}
    for width in (1280, 390):
        context = browser.new_context(viewport={"width": width, "height": 844}, base_url=live_server.url)
        page = context.new_page()
        log_in(page, make_triager(), live_server)
        for name, path in pages(stored).items():
            page.goto(path)
            if words := page.evaluate(BROKEN_WORDS):
                broken[f"{name} at {width} px"] = words
        context.close()
    assert not broken, broken


def test_no_page_scrolls_sideways_on_a_phone(browser, live_server, stored):
    """Wide content (tables, traces, the raw log) scrolls in its own box; the page itself fits 390 px."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.url)
    phone = context.new_page()
    log_in(phone, make_triager(), live_server)
    too_wide = {}
    for name, path in pages(stored).items():
        phone.goto(path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        if width > 400:
            too_wide[name] = (width, phone.evaluate(WIDEST))
    context.close()
    assert not too_wide, too_wide
