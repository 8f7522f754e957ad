"""Kernel builds: upload, index in a task, match logs by release, decode their crashes (also later)."""

from __future__ import annotations

import lzma
import resource
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.conftest import RELEASE, SOURCE  # noqa: F401 (other tests import them from here)
from tests.triage.factories import make_log, make_token
from triage.models import Build, Crash

pytestmark = pytest.mark.django_db

def symbol_size(binary: Path, name: str) -> int:
    for line in subprocess.run(["nm", "-S", str(binary)], capture_output=True, text=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[3] == name:
            return int(parts[1], 16)
    raise AssertionError(f"{name} not in {binary}")


def crash_log(binary: Path) -> bytes:
    size = symbol_size(binary, "crash_here")
    caller = symbol_size(binary, "caller")
    return (f"[    0.000000] Linux version {RELEASE} (me@host) (gcc) #1 SMP PREEMPT\n"
            "[   10.100000] BUG: kernel NULL pointer dereference, address: 0000000000000000\n"
            "[   10.100001] #PF: supervisor read access in kernel mode\n"
            "[   10.100002] Oops: 0000 [#1] PREEMPT SMP\n"
            f"[   10.100003] CPU: 0 PID: 1 Comm: init Not tainted {RELEASE} #1\n"
            f"[   10.100004] RIP: 0010:crash_here+0x0/0x{size:x}\n"
            "[   10.100005] Call Trace:\n"
            "[   10.100006]  <TASK>\n"
            f"[   10.100007]  caller+0x5/0x{caller:x}\n"
            "[   10.100008]  </TASK>\n"
            "[   10.100009] ---[ end trace 0000000000000000 ]---\n").encode()


def upload_build(data: bytes, name: str = "vmlinux.xz"):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token()}")
    return client.post("/api/builds/", {"vmlinux": SimpleUploadedFile(name, data), "commit": "abc"},
                       format="multipart")


def test_build_upload_is_indexed_and_identified(eager_tasks, vmlinux, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload_build(lzma.compress(vmlinux.read_bytes()))
    assert response.status_code == 201, response.content
    build = Build.objects.get(pk=response.json()["id"])
    assert build.index_status == Build.Index.READY, build.index_error
    assert build.release == RELEASE and build.arch == "x86_64" and len(build.buildid) == 40


def test_crash_of_a_log_is_decoded_once_its_build_arrives(eager_tasks, vmlinux, client,
                                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        log = make_log(crash_log(vmlinux), commit="abc")
    crash = Crash.objects.get(log=log, index=0)
    assert crash.decode_status == Crash.Decode.WAITING
    assert f"no matching vmlinux for release {RELEASE}" in client.get(f"/crashes/{crash.pk}/").content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        upload_build(vmlinux.read_bytes(), "vmlinux")
    crash.refresh_from_db()
    assert crash.decode_status == Crash.Decode.DONE, crash.decode_error
    assert "crash_here (" in crash.decoded["text"] and "kernel.c:" in crash.decoded["text"]
    assert any(f["function"] == "caller" and f["source"] for f in crash.decoded["frames"])
    assert crash.decoded["mismatch"] == []
    assert "kernel.c:" in client.get(f"/crashes/{crash.pk}/").content.decode()


def test_a_log_uploaded_after_its_build_is_decoded_right_away(eager_tasks, vmlinux,
                                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        upload_build(vmlinux.read_bytes(), "vmlinux")
    with django_capture_on_commit_callbacks(execute=True):
        log = make_log(crash_log(vmlinux))
    assert Crash.objects.get(log=log, index=0).decode_status == Crash.Decode.DONE


def test_truncated_elf_fails_the_index_with_a_clear_reason(eager_tasks, vmlinux,
                                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload_build(vmlinux.read_bytes()[:3000], "vmlinux")
    build = Build.objects.get(pk=response.json()["id"])
    assert build.index_status == Build.Index.FAILED
    assert "truncated" in build.index_error or "ELF" in build.index_error


def test_a_file_that_is_no_elf_is_refused_at_upload(settings):
    response = upload_build(b"this is not a kernel" * 10, "vmlinux")
    assert response.status_code == 400 and "not an ELF file" in response.json()["error"]
    assert not Build.objects.exists()
    assert not any(p.is_file() for p in Path(settings.MEDIA_ROOT).rglob("*"))


def test_indexing_memory_limit_turns_runaway_allocation_into_a_clear_error():
    from triage.decoding import memory_limit

    with open("/proc/self/statm") as f:
        mapped = int(f.read().split()[0]) * resource.getpagesize()
    with pytest.raises(MemoryError, match="memory limit"), memory_limit(mapped + 64 * 1024 * 1024):
        bytearray(512 * 1024 * 1024)  # what a crafted DWARF length field would make the reader do
    assert len(bytearray(512 * 1024 * 1024)) == 512 * 1024 * 1024  # the limit is gone afterwards


def test_while_the_index_builds_crashes_are_decoded_lazily_with_the_same_answer(
        eager_tasks, vmlinux, django_capture_on_commit_callbacks):
    from workers.tasks import decode_log

    with django_capture_on_commit_callbacks(execute=True):
        upload_build(vmlinux.read_bytes(), "vmlinux")
    with django_capture_on_commit_callbacks(execute=True):
        log = make_log(crash_log(vmlinux))
    full = Crash.objects.get(log=log, index=0).decoded
    assert full["lazy"] is False
    Build.objects.update(index_status=Build.Index.BUILDING)  # as during the index task
    assert decode_log(log.pk) == "done"
    lazy = Crash.objects.get(log=log, index=0).decoded
    assert lazy["lazy"] is True
    assert lazy["text"] == full["text"] and "kernel.c:" in lazy["text"]


def make_tarball(members: dict[str, bytes]) -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def upload_modules(*files: tuple[str, bytes]):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token()}")
    return client.post("/api/builds/", {"modules": [SimpleUploadedFile(n, d) for n, d in files]},
                       format="multipart")


def upload_modules_and_index(capture, *files: tuple[str, bytes]):
    """Upload, then run the index task (it checks and extracts tarballs, not the web request)."""
    with capture(execute=True):
        response = upload_modules(*files)
    assert response.status_code == 201, response.content
    return Build.objects.get(pk=response.json()["id"])


def test_modules_tarball_keeps_only_ko_files_flattened(settings, eager_tasks, django_capture_on_commit_callbacks):
    ko = b"\x7fELF" + bytes(100)
    tar = make_tarball({"lib/modules/6.1/kernel/drivers/misc/lkdtm/lkdtm.ko": ko, "lib/modules/6.1/modules.dep": b"x",
                        "../../evil.ko": ko + b"evil"})
    build = upload_modules_and_index(django_capture_on_commit_callbacks, ("modules.tar.gz", tar))
    assert build.index_status == Build.Index.NONE, build.index_error
    assert sorted(f.name for f in build.files.all()) == ["evil.ko", "lkdtm.ko"]
    root = Path(settings.MEDIA_ROOT) / build.index_dir / "modules"
    assert (root / "lkdtm.ko").read_bytes() == ko and not (root / "modules.tar.gz").exists()
    assert all(root in p.parents for p in Path(settings.MEDIA_ROOT).rglob("*.ko"))  # nothing escaped


def test_the_upload_request_does_not_extract_a_tarball(settings):
    response = upload_modules(("m.tar.gz", make_tarball({"lkdtm.ko": b"\x7fELF" + bytes(100)})))
    assert response.status_code == 201
    build = Build.objects.get()
    assert [f.kind for f in build.files.all()] == ["tarball"] and build.index_status == Build.Index.QUEUED


def refused(build: Build, settings) -> str:
    build.refresh_from_db()
    assert build.index_status == Build.Index.FAILED
    assert not build.files.exists() and not any(p.is_file() for p in Path(settings.MEDIA_ROOT).rglob("*"))
    return build.index_error


def test_two_modules_of_one_name_are_refused_and_nothing_is_kept(settings, eager_tasks,
                                                                 django_capture_on_commit_callbacks):
    ko = b"\x7fELF" + bytes(100)
    build = upload_modules_and_index(django_capture_on_commit_callbacks,
                                     ("a.tar.gz", make_tarball({"x/lkdtm.ko": ko, "y/lkdtm.ko": ko})))
    assert "two modules named lkdtm.ko" in refused(build, settings)


def test_tarball_members_that_are_skipped_still_count_against_the_size_limit(
        settings, eager_tasks, django_capture_on_commit_callbacks):
    settings.TRIAGE_MAX_BUILD_BYTES = 100_000
    tar = make_tarball({"big.bin": bytes(500_000), "lkdtm.ko": b"\x7fELF" + bytes(100)})  # small packed
    build = upload_modules_and_index(django_capture_on_commit_callbacks, ("m.tar.gz", tar))
    assert "larger than the limit" in refused(build, settings)


def test_a_zero_filled_ko_in_a_tarball_is_refused_like_a_direct_upload(
        settings, eager_tasks, django_capture_on_commit_callbacks):
    tar = make_tarball({"bomb.ko": bytes(300_000), "lkdtm.ko": b"\x7fELF" + bytes(100)})
    build = upload_modules_and_index(django_capture_on_commit_callbacks, ("m.tar.xz", tar))
    assert "bomb.ko is not a kernel module" in refused(build, settings)


def test_an_xz_vmlinux_uploaded_under_a_plain_name_is_decompressed(eager_tasks, vmlinux,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload_build(lzma.compress(vmlinux.read_bytes()), "vmlinux")
    build = Build.objects.get(pk=response.json()["id"])
    assert build.index_status == Build.Index.READY, build.index_error


MODULE_SOURCE = """
__attribute__((noinline)) int tiny_crash(volatile int *p) { return *p + 1; }
int tiny_entry(volatile int *p) { return tiny_crash(p) * 3; }
"""


@pytest.fixture
def tinymod(tmp_path) -> Path:
    """A module .ko as the kernel's build leaves it: a relocatable object with DWARF."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the test module")
    src = tmp_path / "tinymod.c"
    src.write_text(MODULE_SOURCE)
    out = tmp_path / "tinymod.ko"
    subprocess.run(["gcc", "-g", "-O2", "-c", "-fno-stack-protector", str(src), "-o", str(out)], check=True)
    return out


def module_crash_log(binary: Path, module: Path) -> bytes:
    """crash_log with the module's function in the trace, between the kernel's frames."""
    size = symbol_size(module, "tiny_crash")
    return crash_log(binary).replace(b"Call Trace:\n", f"Call Trace:\n[   10.100006]  tiny_crash+0x1/0x{size:x} [tinymod]\n"
                                     .encode())


def module_frame(crash: Crash) -> dict:
    return next(f for f in crash.decoded["frames"] if f["module"] == "tinymod")


def upload(capture, vmlinux_bytes: bytes | None, *modules: Path, name: str = "vmlinux.xz") -> Build:
    files = {"modules": [SimpleUploadedFile(m.name, m.read_bytes()) for m in modules]}
    if vmlinux_bytes is not None:
        files["vmlinux"] = SimpleUploadedFile(name, vmlinux_bytes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token()}")
    with capture(execute=True):
        response = client.post("/api/builds/", {**files, "commit": "abc"}, format="multipart")
    assert response.status_code == 201, response.content
    return Build.objects.get(pk=response.json()["id"])


def test_a_vmlinux_uploaded_again_without_modules_keeps_the_build_and_its_module_decoding(
        eager_tasks, vmlinux, tinymod, tmp_path, client, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    first = upload(capture, lzma.compress(vmlinux.read_bytes()), tinymod)
    assert first.index_status == Build.Index.READY, first.index_error
    with capture(execute=True):
        log = make_log(module_crash_log(vmlinux, tinymod), commit="abc")
    with capture(execute=True):
        other = make_log(module_crash_log(vmlinux, tinymod), commit="def")  # the same kernel, another run
    crash = Crash.objects.get(log=log, index=0)
    assert module_frame(crash)["locations"][-1]["file"].endswith("tinymod.c"), crash.decoded

    again = upload(capture, lzma.compress(vmlinux.read_bytes()))  # the vmlinux alone, as on /builds/upload/
    assert again.index_status == Build.Index.NONE and not again.files.exists()
    assert f"is already build {first.pk}" in again.index_error and "1 module kept" in again.index_error
    assert f"is already build {first.pk}" in client.get(f"/builds/{again.pk}/").content.decode()
    assert list(Build.objects.filter(buildid=first.buildid)) == [Build.objects.get(pk=first.pk)]
    assert [f.name for f in first.files.filter(kind="module")] == ["tinymod.ko"]
    for entry in (log, other):
        entry.refresh_from_db()
        crash = Crash.objects.get(log=entry, index=0)
        assert entry.build_id == first.pk
        assert module_frame(crash)["locations"], crash.decoded  # still decoded with tinymod.ko
        assert "no tinymod.ko" not in str(crash.decoded["errors"])


def test_a_vmlinux_uploaded_again_with_a_new_module_adds_it_to_the_build(
        eager_tasks, vmlinux, tinymod, tmp_path, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    first = upload(capture, vmlinux.read_bytes(), name="vmlinux")
    with capture(execute=True):
        log = make_log(module_crash_log(vmlinux, tinymod))
    assert not module_frame(Crash.objects.get(log=log, index=0))["locations"]  # no tinymod.ko yet

    again = upload(capture, vmlinux.read_bytes(), tinymod, name="vmlinux")
    assert "added tinymod.ko" in again.index_error
    assert [f.name for f in first.files.filter(kind="module")] == ["tinymod.ko"]
    crash = Crash.objects.get(log=log, index=0)  # decoded again, now with the module
    assert module_frame(crash)["locations"][-1]["file"].endswith("tinymod.c"), crash.decoded
