"""The pages render what the rows say."""

from __future__ import annotations

import re

import pytest

from tests.conftest import fixture_log, shared_path
from tests.triage.factories import make_log, make_report, make_run
from triage.models import Crash
from workers.tasks import analyze_log

pytestmark = pytest.mark.django_db


@pytest.fixture
def analyzed_log():
    log = make_log(fixture_log("x86_64-READ_AFTER_FREE.log"), commit="0123456789abcdef", arch="x86_64")
    analyze_log(log.pk)
    return log


def test_log_page_shows_status_crashes_and_raw_log(client, analyzed_log):
    page = client.get(f"/logs/{analyzed_log.pk}/").content.decode()
    crash = Crash.objects.filter(log=analyzed_log).first()
    assert "done" in page
    assert crash.title.replace("'", "&#x27;") in page
    assert "Linux version" in page  # the raw log is on the page


def test_raw_download_returns_the_uploaded_bytes(client, analyzed_log):
    response = client.get(f"/logs/{analyzed_log.pk}/raw")
    assert b"".join(response.streaming_content) == fixture_log("x86_64-READ_AFTER_FREE.log")


def test_crash_list_crash_page_and_cluster_page(client, analyzed_log):
    crash = Crash.objects.filter(log=analyzed_log).first()
    assert crash.title.split()[0] in client.get("/crashes/").content.decode()
    page = client.get(f"/crashes/{crash.pk}/").content.decode()
    assert "no matching vmlinux" in page or "no build information" in page
    assert client.get(f"/clusters/{crash.cluster_id}/").status_code == 200
    assert client.get("/clusters/").status_code == 200
    assert client.get("/").status_code == 200


def test_healthz(client):
    assert client.get("/healthz").json() == {"ok": True}


def test_crash_page_shows_the_report_lines_even_after_firmware_form_feeds(client):
    # SLOF and other firmware print form feeds; they are not line breaks for the parser.
    log = make_log(b"SLOF \x0c\x1b[H firmware\x1c\n" + fixture_log("x86_64-READ_AFTER_FREE.log"))
    analyze_log(log.pk)
    crash = Crash.objects.get(log=log, index=0)
    text = client.get(f"/crashes/{crash.pk}/").context["text"]
    assert "BUG: KASAN: slab-use-after-free" in text.split("\n")[0] or "BUG: KASAN" in text.split("\n")[1]


def test_log_page_lists_nmi_backtraces_as_notices(client):
    log = make_log(fixture_log("x86_64-HARDLOCKUP.log"))
    analyze_log(log.pk)
    log.refresh_from_db()
    assert {n["kind"] for n in log.notices} == {"nmi-backtrace"}
    page = client.get(f"/logs/{log.pk}/").content.decode()
    assert "Notices" in page and "NMI backtrace in" in page


def test_home_says_how_many_new_clusters_it_does_not_list_and_links_them_all(client):
    import re

    from tests.triage.factories import make_report, make_run

    for i in range(12):
        make_run(f"c{i}", reports=[make_report(f"WARNING in fn_{i}", [f"fn_{i}"], kind="WARNING")])
    page = client.get("/").content.decode()
    assert "12 new clusters in the last 7 days, the 10 with most crashes" in page
    link = re.search(r'<a href="(/clusters/\?first_since=[^"]+)">all 12</a>', page).group(1).replace("&amp;", "&")
    assert len(re.findall(r'<a href="/clusters/\d+/">', client.get(link).content.decode())) >= 12


STACK = ["Call Trace:", " dump_stack+0x194/0x257", " kasan_report+0x25b/0x340", " {fn}+0x30fc/0x3230",
         " ip_route_output_flow+0x8a/0xb0", " entry_SYSCALL_64_fastpath+0x29/0xa0", ""]
PLACES = {  # KASAN's lines naming where the bad address is, then the symbol of that place (not a frame)
    "stack, 6.x": ["The buggy address belongs to stack of task sh/51", " and is located at offset 40 in frame:",
                   " {place}+0x0/0x90 [lkdtm]", "", "This frame has 1 object:", " [32, 40) 'data'"],
    "stack, 4.x": ["addr ffff8801c2b7f948 is located in stack of task syz-executor2/7364 at offset 176 in frame:",
                   " {place}+0x0/0xb70", "", "this frame has 1 object:", " [32, 40) 'daddr'"],
    "global": ["The buggy address belongs to the variable:", " {place}+0x8/0x1000"],
}


@pytest.mark.parametrize("place", PLACES)
def test_crash_page_frames_leave_out_the_frame_or_variable_kasan_names_as_the_bad_address_place(client, place):
    lines = ["=" * 66, "BUG: KASAN: stack-out-of-bounds in xfrm_state_find+0x30fc/0x3230",
             "Read of size 4 at addr ffff8801c2b7f948 by task syz-executor2/7364", "",
             "CPU: 0 PID: 7364 Comm: syz-executor2 Not tainted 4.15.0-rc8+ #262",
             *[s.format(fn="xfrm_state_find") for s in STACK], *[s.format(place="xfrm_tmpl_resolve") for s in PLACES[place]],
             "", "Memory state around the buggy address:", " ffff8801c2b7f800: 00 00 00 00 00 00 00 00", "=" * 66]
    log = make_log("".join(f"[   45.{i:06d}] {line}\n" for i, line in enumerate(lines)).encode())
    analyze_log(log.pk)
    crash = Crash.objects.get(log=log)
    assert crash.report["frames"][-1]["function"] == "xfrm_tmpl_resolve"  # the parser keeps it: titles, stat keys
    response = client.get(f"/crashes/{crash.pk}/")
    assert [f.symbol.split("+")[0] for f in response.context["frames"]] == [
        "dump_stack", "kasan_report", "xfrm_state_find", "ip_route_output_flow", "entry_SYSCALL_64_fastpath"]
    assert "xfrm_tmpl_resolve" not in response.content.decode().split("<h2>Frames</h2>")[1]


@pytest.mark.corpus
def test_crash_page_frames_of_a_lab_kasan_stack_out_of_bounds_end_with_its_stack(client):
    log = make_log(shared_path("corpus", "lab", "logs", "REPORT_STACK_CANARY.log").read_bytes())
    analyze_log(log.pk)
    crash = Crash.objects.get(log=log, index=0)
    frames = client.get(f"/crashes/{crash.pk}/").context["frames"]
    assert [(f.symbol, f.role) for f in frames[-2:]] == [("entry_SYSCALL_64_after_hwframe+0x4b/0x53", "frame"),
                                                         ("0x47b7a0", "ip")]  # the user-space RIP
    assert len(frames) == len(crash.report["frames"]) - 1  # lkdtm_REPORT_STACK_CANARY+0x0/0x90, "in frame:"


def test_cluster_page_names_the_machines_it_crashed_on_most_and_how_many_it_leaves_out(client):
    from triage.views.clusters import SEEN_SHOWN

    for i in range(SEEN_SHOWN + 2):
        make_run(f"c{i}", reports=[make_report("WARNING in busy_fn", ["busy_fn"])] * (2 if i == 5 else 1),
                 machine=f"vm-{i:02d}")
    cluster = Crash.objects.first().cluster
    page = client.get(f"/clusters/{cluster.pk}/").content.decode()
    assert "Seen on (crashes on each, the most frequent first)" in page
    machines = re.search(r"<th>machines</th><td>(.*?)</td>", page).group(1)
    assert machines.startswith('vm-05 <span class="muted">(2)</span>, vm-00 <span class="muted">(1)</span>')
    assert machines.count("vm-") == SEEN_SHOWN and machines.endswith('<span class="muted">and 2 more</span>')


def test_counts_at_scale_are_written_with_thousands_separators(client):
    from triage.models import Log

    Log.objects.bulk_create([Log(fingerprint=f"f{i}", sha256="0" * 64, size=0, raw="", status=Log.Status.DONE)
                             for i in range(1234)])
    assert "1,234 logs, 0 crashes in 0 clusters." in client.get("/").content.decode()
    page = client.get("/logs/").content.decode()
    assert '<h1>Logs <span class="muted">(1,234)</span></h1>' in page and "page 1 of 25" in page
