"""Charts are drawn: pixels of the bars on the canvas, axes titled, one data point still a chart."""

from __future__ import annotations

from tests.browser.conftest import check_page, log_in
from tests.triage.factories import make_report, make_run, make_triager

COUNT_RED = """(id) => {
  const c = document.getElementById(id);
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let red = 0, ink = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 0) ink++;
    if (data[i] > 180 && data[i + 1] < 80 && data[i + 2] < 90 && data[i + 3] > 200) red++;
  }
  return [red, ink];
}"""


def test_a_cluster_with_one_crash_draws_a_bar_with_axes(page, live_server, transactional_db):
    log = make_run("c0ffee1234567", reports=[make_report("WARNING in lonely_fn", ["lonely_fn"])], config="kasan")
    cluster = log.crashes.get().cluster
    log_in(page, make_triager(), live_server)
    page.goto(f"/clusters/{cluster.pk}/")
    page.wait_for_selector("figure.chart[data-drawn='1'] canvas#per-day")
    red, ink = page.evaluate(COUNT_RED, "per-day")
    assert red > 50, "no bar drawn"
    assert ink > red + 200, "no axes or labels drawn beside the bar"
    page.wait_for_selector("figure.chart[data-drawn='1'] canvas#rate")
    assert page.evaluate(COUNT_RED, "rate")[0] > 50
    check_page(page, "cluster-charts")
    page.goto(f"/clusters/{cluster.pk}/?split=config")
    page.wait_for_selector("figure.chart[data-drawn='1'] canvas#per-day")
    assert "kasan" in page.text_content("figure.chart details")


def test_home_page_draws_this_week(page, live_server, transactional_db):
    make_run("c0ffee", reports=[make_report("WARNING in weekly_fn", ["weekly_fn"])])
    log_in(page, make_triager(), live_server)
    page.goto("/")
    page.wait_for_selector("figure.chart[data-drawn='1'] canvas#week")
    assert page.evaluate(COUNT_RED, "week")[0] > 20
    assert "1 new cluster in the last 7 days" in page.inner_text("main")
    check_page(page, "home-week")
