"""What a kernel developer does in the browser, end to end against the live server and a real worker."""

from __future__ import annotations

from celery.contrib.testing.worker import start_worker

from tests.browser.conftest import FIXTURES_LOGS, check_page, log_in
from tests.triage.factories import make_crash, make_log, make_report, make_triager
from triage.models import Cluster, Crash, Log
from workers.celery_app import app


def test_log_in_upload_and_watch_the_analysis_without_reloading(page, live_server, transactional_db):
    user = make_triager("kdev")
    user.set_password("pw-kdev-1234")
    user.save()
    page.goto("/login/")
    page.get_by_label("Username").fill("kdev")
    page.get_by_label("Password").fill("pw-kdev-1234")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("text=kdev")
    page.goto("/logs/upload/")
    page.set_input_files("input[type=file]", str(FIXTURES_LOGS / "x86_64-READ_AFTER_FREE.log"))
    page.fill("input[name=commit]", "feedc0de")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        page.get_by_role("button", name="Upload").click()
        page.wait_for_url("**/logs/*/")
        assert "queued for analysis" in page.inner_text("main")
        page.evaluate("window.__same_page = true")  # gone if the page reloads
        page.wait_for_selector("#log-live.done", timeout=60000)
    assert page.evaluate("window.__same_page === true"), "the page reloaded"
    live = page.inner_text("#log-live")
    assert "1 crash report found" in live
    # the rest of the page follows: the kernel release read from the log, no stale "queued" message
    page.wait_for_function("!document.querySelector('main').innerText.includes('queued for analysis')")
    assert "unknown release" not in page.inner_text("main")
    assert page.evaluate("window.__same_page === true"), "the page reloaded"
    crash = Crash.objects.get(log=Log.objects.get(commit="feedc0de"), index=0)
    page.click(f"#log-live a[href='/crashes/{crash.pk}/']")
    page.wait_for_url(f"**/crashes/{crash.pk}/")
    assert "lkdtm_READ_AFTER_FREE+0x1c6/0x230" in page.inner_text("table.frames")
    assert "None" not in page.inner_text("table.frames")
    check_page(page, "flow-crash")


def test_search_from_the_navigation_bar_by_a_frame_function(page, live_server, transactional_db):
    log = make_log(b"x", commit="c0ffee")
    crash = make_crash(log, make_report("BUG: unable to handle page fault in foo_bar",
                                        functions=["foo_bar", "ksys_write", "vfs_write"]))
    log_in(page, make_triager(), live_server)  # pages are private by default
    page.goto("/")
    box = page.get_by_role("searchbox", name="Search crashes, clusters and logs")
    box.fill("vfs_write")
    box.press("Enter")
    page.wait_for_url("**/search/?q=vfs_write")
    page.click(f"a[href='/crashes/{crash.pk}/']")
    page.wait_for_url(f"**/crashes/{crash.pk}/")
    check_page(page, "flow-search-crash")
    page.goto("/search/?q=nothing_here")
    assert "No results for nothing_here" in page.inner_text("main")
    check_page(page, "search-empty")


def test_merge_and_split_clusters_in_the_browser(page, live_server, transactional_db):
    log = make_log(b"x", commit="c1")
    one = make_crash(log, make_report("WARNING in alpha_fn", ["alpha_fn"])).cluster
    two = make_crash(log, make_report("WARNING in beta_fn", ["beta_fn"]), index=1).cluster
    log_in(page, make_triager(), live_server)
    page.goto(f"/clusters/{two.pk}/")
    page.get_by_label("Merge into #").fill(str(one.pk))
    page.get_by_role("button", name="Merge this cluster into it").click()
    page.wait_for_url(f"**/clusters/{one.pk}/")
    assert Cluster.objects.get(pk=two.pk).merged_into_id == one.pk
    check_page(page, "cluster-merged")
    page.get_by_label("warning in beta_fn", exact=False).check()
    page.get_by_role("button", name="Split").click()
    page.wait_for_load_state()
    moved = Crash.objects.get(title="WARNING in beta_fn").cluster
    assert moved.pk != one.pk and moved.merged_into_id is None


def test_copy_and_wrap_buttons_work(page, live_server, transactional_db):
    crash = make_crash(make_log(b"x"), make_report("BUG in gamma", ["gamma"]))
    log_in(page, make_triager(), live_server)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"/crashes/{crash.pk}/")
    page.get_by_role("button", name="wrap long lines").click()
    assert page.evaluate("document.body.classList.contains('wrap-lines')")
    page.locator("button.copy").first.click()
    page.wait_for_selector("button.copy:has-text('copied')")


def test_set_a_cluster_status_in_the_browser(page, live_server, transactional_db):
    cluster = make_crash(make_log(b"x"), make_report("WARNING in delta_fn", ["delta_fn"])).cluster
    log_in(page, make_triager(), live_server)
    page.goto(f"/clusters/{cluster.pk}/")
    page.click("details.triage-edit summary")
    page.get_by_label("Status").select_option("fixed")
    page.get_by_label("fixed by commit").fill("abcdef123456")
    page.get_by_role("button", name="Set status").click()
    page.wait_for_load_state()
    cluster.refresh_from_db()
    assert (cluster.status, cluster.fixed_commit) == ("fixed", "abcdef123456")
    assert "abcdef123456" in page.inner_text("table.triage")


def test_compare_two_commits_picked_by_prefix(page, live_server, transactional_db):
    from tests.triage.factories import make_run

    for _ in range(6):
        make_run("1111111111111aaaa", test="boot")
    for i in range(6):
        make_run("2222222222222", test="boot",
                 reports=[make_report("WARNING in epsilon_fn", ["epsilon_fn"])] if i < 5 else [])
    log_in(page, make_triager(), live_server)
    page.goto("/compare/")
    options = page.eval_on_selector_all("datalist#known-commit option", "os => os.map(o => o.value)")
    assert options[:2] == ["2222222222222", "1111111111111aaaa"]  # newest first
    page.get_by_label("base commit").fill("1111111")
    page.get_by_label("target commit").fill("2222222222222bbbbbbbb"[:13])
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url("**/compare/?*")
    main = page.inner_text("main")
    assert "6 base runs" in main and "6 target runs" in main
    assert "Regression (" in main and "WARNING in epsilon_fn" in main
    check_page(page, "compare-flow")


def test_upload_a_build_and_watch_it_indexed_without_reloading(page, live_server, transactional_db, vmlinux):
    log_in(page, make_triager("kdev"), live_server)
    page.goto("/builds/upload/")
    page.set_input_files("input[name=vmlinux]", str(vmlinux))
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30, queues=["index", "analysis"]):
        page.get_by_role("button", name="Upload").click()
        page.wait_for_url("**/builds/*/")
        page.evaluate("window.__same_page = true")
        page.wait_for_selector("#build-live.done", timeout=60000)
        # the build id read from the ELF appears in the page's table once indexed, still no reload
        page.wait_for_function("document.querySelector('td.mono').innerText.trim().length == 40")
    assert page.evaluate("window.__same_page === true"), "the page reloaded"
    assert page.get_by_role("button", name="index again").is_visible()
