"""Real console logs of the lab kernels (x86-64 and powerpc64 ELFv1) kept as fixtures."""

from pathlib import Path

import pytest

from workers.parser import parse_log

LOGS = Path(__file__).resolve().parent.parent / "fixtures" / "logs"


def parsed(name: str):
    return parse_log((LOGS / name).read_bytes())


def test_x86_warning_report():
    log = parsed("x86_64-WARNING.log")
    assert log.arch == "x86_64" and log.release == "6.12.117-crashlab"
    (report,) = log.reports
    assert report.title == "WARNING in lkdtm_WARNING" and report.kind == "WARNING"
    assert report.ip.function == "lkdtm_WARNING" and report.ip.module == "lkdtm"
    assert report.guilty_frame.function == "lkdtm_WARNING"
    assert "<0f> 0b" in report.code
    assert report.registers["RBX"] == "ffffffffa000a030"
    assert (report.cpu, report.pid, report.comm, report.taint) == (1, 50, "sh", "")
    # CRLF log: line numbers count raw lines (1-based 153 is the WARNING: line).
    assert report.start_line == 151  # the "cut here" line
    functions = [f.function for f in report.frames if f.role == "frame"]
    assert functions[:3] == ["lkdtm_do_action", "direct_entry", "full_proxy_write"]
    assert all(f.section == "task" for f in report.frames if f.role == "frame")
    unreliable = [f.function for f in report.frames if not f.reliable]
    assert "kernel_write" in unreliable


def test_x86_kasan_report():
    (report,) = parsed("x86_64-READ_AFTER_FREE.log").reports
    assert report.title == "KASAN: slab-use-after-free Read in lkdtm_READ_AFTER_FREE"
    assert report.kind == "KASAN"
    assert report.guilty_frame.function == "lkdtm_READ_AFTER_FREE"
    assert report.guilty_frame.reliable


def test_x86_hung_task_reports_are_all_kept():
    log = parsed("x86_64-HUNG_TASK.log")
    assert len(log.reports) >= 2
    assert {r.title for r in log.reports} == {"INFO: task hung in lkdtm_HUNG_TASK"}
    assert log.reports[0].end_line < log.reports[1].start_line


def test_x86_soft_lockup_is_a_stall():
    report = parsed("x86_64-LOOP.log").reports[0]
    assert report.title.startswith("BUG: soft lockup in ")
    assert report.ip.function == "lkdtm_LOOP"
    assert report.alt_titles == ["stall in " + report.title.rsplit(" ", 1)[1]]


# powerpc64 ELFv1 prints dot-symbols (`.lkdtm_BUG+0x...`): a dot cannot start the spec's {FUNC} (§0), so
# the standard oops rule finds no frame (§10.1 "extracted no frames") and WARNING headers match no
# format (raw title, §5.3). The app still files them apart: by title, kind and frames (cluster.py).
@pytest.mark.parametrize(
    "name, title, ip",
    [
        ("ppc64-BUG.log", "kernel BUG in corrupted", ".lkdtm_BUG"),
        ("ppc64-WARNING.log", "WARNING: CPU: NUM PID: NUM at drivers/misc/lkdtm/bugs.c:LINE .lkdtm_WARNING [lkdtm]",
         ".lkdtm_WARNING"),
        ("ppc64-EXCEPTION.log", "BUG: unable to handle kernel NULL pointer dereference in corrupted",
         ".lkdtm_EXCEPTION"),
        ("ppc64-SLAB_FREE_DOUBLE.slub_debug.log", "WARNING: CPU: NUM PID: NUM at mm/slub.c:LINE .__slab_err",
         ".__slab_err"),
    ],
)
def test_powerpc_reports(name: str, title: str, ip: str):
    log = parsed(name)
    assert log.arch == "powerpc" and log.release == "6.12.117-crashlab-ppc64"
    report = log.reports[0]
    assert report.title == title
    assert report.corrupted == title.endswith(" in corrupted")
    assert report.ip.function == ip and report.ip.role == "ip"
    lr = [f for f in report.frames if f.role == "lr"]
    assert lr and lr[0].function.startswith(".")
    assert report.registers["GPR00"] and "MSR" in report.registers
    assert "<" in report.code and ">" in report.code
    frames = [f for f in report.frames if f.role == "frame"]
    # `[sp] [ra] .func+off/size`: the second bracket is the return address.
    direct = next(f for f in frames if f.function == ".direct_entry")
    assert direct.address >> 48 == 0xC008 and direct.module == "lkdtm"
    assert any(not f.reliable for f in frames)


def test_powerpc_user_return_is_an_exception_section():
    report = parsed("ppc64-BUG.log").reports[0]
    after = [f for f in report.frames if f.section == "exception"]
    assert after and all(f.address is not None for f in after)


def test_kasan_report_without_kernel_registers_keeps_none_of_the_programs():
    (report,) = parsed("x86_64-READ_AFTER_FREE.log").reports
    assert report.ip is None
    assert report.registers == {} and report.code is None  # the RIP: 0033 block is the user program's
    assert report.release == "6.12.117-crashlab"
