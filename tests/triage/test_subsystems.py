"""A crash's guilty file mapped to MAINTAINERS sections: shown on crash and cluster pages, filterable."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import FIXTURES, fixture_log
from tests.triage.factories import make_log
from triage.models import Crash, MaintainersFile
from triage.subsystems import guilty_file
from workers.tasks import analyze_log

pytestmark = pytest.mark.django_db

MAINTAINERS = (FIXTURES / "maintainers" / "MAINTAINERS").read_text()


@pytest.fixture
def warning_crash():
    MaintainersFile.objects.create(tree="", text=MAINTAINERS)
    log = make_log(fixture_log("x86_64-WARNING.log"), "warn.log", commit="0123456789ab", tree="mainline")
    analyze_log(log.pk)
    return Crash.objects.get(log=log, index=0)


def test_a_warning_at_file_line_names_the_file_and_its_most_specific_subsystem(warning_crash):
    assert warning_crash.guilty_file == "drivers/misc/lkdtm/bugs.c"
    assert warning_crash.subsystem == "LKDTM"
    assert warning_crash.subsystems == "|LKDTM|MISC DRIVERS|"  # every section, most specific first, no THE REST


def test_crash_and_cluster_pages_show_maintainers_and_lists_most_specific_first(client, warning_crash):
    page = client.get(f"/crashes/{warning_crash.pk}/").content.decode()
    assert page.index("<b>LKDTM</b>") < page.index("<b>MISC DRIVERS</b>") < page.index("<b>THE REST</b>")
    assert "Kees Example &lt;kees@example.org&gt;" in page and "misc@lists.example.org" in page
    page = client.get(f"/clusters/{warning_crash.cluster_id}/").content.decode()
    assert "<b>LKDTM</b>" in page and "drivers/misc/lkdtm/bugs.c" in page


def test_lists_filter_by_subsystem(client, warning_crash):
    assert f'/crashes/{warning_crash.pk}/' in client.get("/crashes/", {"subsystem": "LKDTM"}).content.decode()
    assert f'/crashes/{warning_crash.pk}/' not in client.get("/crashes/", {"subsystem": "KASAN"}).content.decode()
    page = client.get("/clusters/", {"subsystem": "LKDTM"}).content.decode()
    assert f'/clusters/{warning_crash.cluster_id}/' in page


@pytest.mark.parametrize("section", ["LKDTM", "MISC DRIVERS", "misc drivers"])  # in any case, as the form takes it
def test_lists_and_api_find_a_crash_by_its_most_specific_section_or_a_broader_one(client, warning_crash, section):
    crash, cluster = warning_crash, warning_crash.cluster_id
    assert f'/crashes/{crash.pk}/' in client.get("/crashes/", {"subsystem": section}).content.decode()
    page = client.get("/clusters/", {"subsystem": section}).content.decode()
    assert f'/clusters/{cluster}/' in page and "1 of 1" in page  # the crashes in it counted too
    items = client.get("/api/crashes/", {"subsystem": section}).json()["results"]
    assert [(i["id"], i["subsystem"], i["subsystems"]) for i in items] == [(crash.pk, "LKDTM", ["LKDTM", "MISC DRIVERS"])]
    assert [i["id"] for i in client.get("/api/clusters/", {"subsystem": section}).json()["results"]] == [cluster]


@pytest.mark.parametrize("other", ["MISC", "DRIVERS", "LKDTM|MISC DRIVERS", "THE REST", "MISC DRIVERS [X]"])
def test_a_section_filter_matches_whole_names_only(client, warning_crash, other):
    assert f'/crashes/{warning_crash.pk}/' not in client.get("/crashes/", {"subsystem": other}).content.decode()
    assert client.get("/api/crashes/", {"subsystem": other}).json()["results"] == []


def test_the_lists_offer_every_section_crashes_are_filed_under(client, warning_crash):
    for url in ("/crashes/", "/clusters/"):
        page = client.get(url).content.decode()
        assert '<option value="LKDTM">' in page and '<option value="MISC DRIVERS">' in page
        assert "|" not in page.split('list="known-subsystem"', 1)[-1].split("</datalist>", 1)[0]


def test_the_migration_files_stored_crashes_under_their_one_stored_section(warning_crash):
    from importlib import import_module

    from django.apps import apps

    Crash.objects.update(subsystems="")
    import_module("triage.migrations.0020_crash_subsystems").fill(apps, None)
    assert Crash.objects.get(pk=warning_crash.pk).subsystems == "|LKDTM|"  # the broader ones: next re-assignment


def test_a_tree_upload_wins_over_the_upload_for_every_tree(client):
    MaintainersFile.objects.create(tree="", text=MAINTAINERS)
    MaintainersFile.objects.create(tree="mainline", text="ONLY MINE\nM:\tMe <me@example.org>\nF:\tdrivers/\n")
    log = make_log(fixture_log("x86_64-WARNING.log"), "warn.log", tree="mainline")
    analyze_log(log.pk)
    assert Crash.objects.get(log=log, index=0).subsystem == "ONLY MINE"


def test_the_settings_path_may_name_a_kernel_source_tree(settings, tmp_path: Path):
    (tmp_path / "MAINTAINERS").write_text(MAINTAINERS)
    settings.TRIAGE_MAINTAINERS = str(tmp_path)
    log = make_log(fixture_log("x86_64-BUG.log"), "bug.log")
    analyze_log(log.pk)
    crash = Crash.objects.get(log=log, index=0)
    assert (crash.guilty_file, crash.subsystem) == ("drivers/misc/lkdtm/bugs.c", "LKDTM")


def test_decoded_frames_name_the_function_s_own_file_not_an_inlined_header():
    report = {"frames": [{"function": "kmem_cache_free", "line": 5}], "guilty": 0}
    decoded = {"frames": [{"line": 5, "locations": [{"function": "slab_free_hook", "file": "include/linux/slab.h", "line": 3},
                                                    {"function": "kmem_cache_free", "file": "mm/slub.c", "line": 9}]}]}
    assert guilty_file(report, decoded, []) == "mm/slub.c"
    assert guilty_file(report, None, ["kernel BUG at mm/slab.c:12!"]) == "mm/slab.c"


def frame(function: str, line: int, module: str | None = None, role: str = "frame") -> dict:
    return {"function": function, "line": line, "module": module, "role": role, "source": None}


def decoded_at(*where: tuple[int, str, str]) -> dict:
    """Decoded frames: (log line, function, its file) each."""
    return {"frames": [{"line": line, "locations": [{"function": f, "file": path, "line": 10}]}
                       for line, f, path in where]}


# `kernel BUG in lkdtm_BUG` with the vmlinux decoded and lkdtm.ko missing: the module's frames have no
# file, the generic frames around them do.
LKDTM_BUG = {"frames": [frame("lkdtm_BUG", 3, "lkdtm", "ip"), frame("dump_stack_lvl", 6),
                        frame("lkdtm_BUG", 7, "lkdtm"), frame("lkdtm_do_action", 8, "lkdtm"),
                        frame("full_proxy_write", 9)], "guilty": 0}
GENERIC_ROWS = ((6, "dump_stack_lvl", "lib/dump_stack.c"), (9, "full_proxy_write", "fs/debugfs/file.c"))
GENERIC = decoded_at(*GENERIC_ROWS)


def test_an_undecoded_guilty_frame_takes_the_kernel_bug_line_not_another_frame_s_file():
    lines = ["kernel BUG at drivers/misc/lkdtm/bugs.c:76!", "Oops: invalid opcode: 0000 [#1] SMP"]
    assert guilty_file(LKDTM_BUG, GENERIC, lines) == "drivers/misc/lkdtm/bugs.c"
    warning = ["WARNING: CPU: 0 PID: 5 at drivers/misc/lkdtm/bugs.c:91 lkdtm_WARNING+0x1/0x2 [lkdtm]"]
    assert guilty_file(LKDTM_BUG, GENERIC, warning) == "drivers/misc/lkdtm/bugs.c"


def test_an_undecoded_guilty_frame_without_a_bug_line_is_unknown():
    kasan = ["BUG: KASAN: slab-use-after-free in lkdtm_READ_AFTER_FREE+0x1/0x2 [lkdtm]"]
    assert guilty_file(LKDTM_BUG, GENERIC, kasan) == ""
    assert guilty_file({**LKDTM_BUG, "guilty": None}, GENERIC, kasan) == ""  # no guilty frame at all


def test_the_guilty_frame_s_own_decoded_file_wins_over_the_bug_line():
    decoded = decoded_at(*GENERIC_ROWS, (3, "lkdtm_BUG", "drivers/misc/lkdtm/bugs.c"))
    assert guilty_file(LKDTM_BUG, decoded, ["kernel BUG at include/linux/x.h:1!"]) == "drivers/misc/lkdtm/bugs.c"
    # the same function decoded on its trace line rather than on the RIP line
    decoded = decoded_at(*GENERIC_ROWS, (7, "lkdtm_BUG", "drivers/misc/lkdtm/bugs.c"))
    assert guilty_file(LKDTM_BUG, decoded, []) == "drivers/misc/lkdtm/bugs.c"
    printed = {"frames": [{**frame("lkdtm_BUG", 3, "lkdtm"), "source": "drivers/misc/lkdtm/bugs.c:76"}], "guilty": 0}
    assert guilty_file(printed, None, []) == "drivers/misc/lkdtm/bugs.c"


def test_a_guilty_frame_in_the_reporting_machinery_is_unknown_rather_than_its_file():
    report = {"frames": [frame("dump_stack_lvl", 6)], "guilty": 0}
    assert guilty_file(report, GENERIC, []) == ""




@pytest.fixture
def admin_client(db):
    from django.contrib.auth import get_user_model
    from django.test import Client

    browser = Client()
    browser.force_login(get_user_model().objects.create_superuser("admin", "admin@example.org", "pw"))
    return browser


def test_a_maintainers_upload_refiles_stored_crashes_and_the_lists_filter_by_them(
        client, admin_client, eager_tasks, django_capture_on_commit_callbacks):
    log = make_log(fixture_log("x86_64-WARNING.log"), "warn.log", tree="mainline")
    analyze_log(log.pk)
    crash = Crash.objects.get(log=log, index=0)
    assert (crash.guilty_file, crash.subsystem) == ("drivers/misc/lkdtm/bugs.c", "")  # no MAINTAINERS yet
    assert f"/crashes/{crash.pk}/" not in client.get("/crashes/", {"subsystem": "LKDTM"}).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/triage/maintainersfile/add/", {
            "tree": "", "text": "", "upload": SimpleUploadedFile("MAINTAINERS", MAINTAINERS.encode())}, follow=True)
    assert "being re-assigned their guilty file and subsystem in the background" in response.content.decode()
    crash.refresh_from_db()
    assert (crash.subsystem, crash.subsystems) == ("LKDTM", "|LKDTM|MISC DRIVERS|")
    for section in ("LKDTM", "MISC DRIVERS"):
        assert f"/crashes/{crash.pk}/" in client.get("/crashes/", {"subsystem": section}).content.decode()
        assert f"/clusters/{crash.cluster_id}/" in client.get("/clusters/", {"subsystem": section}).content.decode()

    # a file of the crash's own tree wins over it, and removing it falls back again
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/admin/triage/maintainersfile/add/", {
            "tree": "mainline", "text": "ONLY MINE\nM:\tMe <me@example.org>\nF:\tdrivers/\n"})
    assert Crash.objects.get(pk=crash.pk).subsystems == "|ONLY MINE|"
    mine = MaintainersFile.objects.get(tree="mainline")
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/admin/triage/maintainersfile/{mine.pk}/delete/", {"post": "yes"})
    assert Crash.objects.get(pk=crash.pk).subsystems == "|LKDTM|MISC DRIVERS|"


def test_refiling_repairs_a_file_taken_from_another_frame_and_reads_no_log_it_need_not():
    from triage.subsystem_refresh import reassign

    MaintainersFile.objects.create(tree="", text=MAINTAINERS)
    bug = make_log(fixture_log("x86_64-BUG.log"), "bug.log")
    kasan = make_log(fixture_log("x86_64-READ_AFTER_FREE.log"), "kasan.log")
    warning = make_log(fixture_log("x86_64-WARNING.log"), "warn.log")
    for log in (bug, kasan, warning):
        analyze_log(log.pk)
    # As the old rule left them: the file of a generic frame decoded beside an undecoded lkdtm frame.
    for log, wrong in ((bug, "fs/debugfs/file.c"), (kasan, "lib/dump_stack.c")):
        crash = Crash.objects.get(log=log, index=0)
        generic = next(f for f in crash.report["frames"] if f["function"] != crash.guilty_function)
        crash.decoded = decoded_at((generic["line"], generic["function"], wrong))
        crash.guilty_file, crash.subsystem = wrong, "DEBUGFS"
        crash.save()
    Path(settings_media(warning)).unlink()  # its file came from its WARNING line: no need to read it again

    assert reassign("", batch_size=1) == 2
    assert [(c.guilty_file, c.subsystem) for c in Crash.objects.filter(index=0).order_by("log_id")] == [
        ("drivers/misc/lkdtm/bugs.c", "LKDTM"), ("", ""), ("drivers/misc/lkdtm/bugs.c", "LKDTM")]
    assert reassign("") == 0  # idempotent


def settings_media(log) -> Path:
    from triage.storage import local_path

    return local_path(log.raw)
