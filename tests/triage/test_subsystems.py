"""A crash's guilty file mapped to MAINTAINERS sections: shown on crash and cluster pages, filterable."""

from __future__ import annotations

from pathlib import Path

import pytest

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
