"""Informational reports: OOM kills and NMI backtraces, kept apart from the crash reports.

syzbot does not count an OOM kill or an NMI backtrace (sysrq-l, the all-CPU backtraces of a hung task
or a lockup) as a crash: a log with only those is a clean log, and they never take a crash's place as
the primary report. They are still worth showing, so they go to `ParsedLog.notices`, as `Report`s of
kind "oom" or "nmi-backtrace" with the same fields (frames, ip, registers, task) as crash reports.

Titles follow syzbot's "<what> in <function>" shape, with the function picked past generic frames:
- "out of memory in <function>": the invoking task's stack, past the allocator, page-fault and
  OOM-killer machinery (the kernel code that asked for memory). When nothing is left (the demand came
  from a user-space page fault, or no stack was printed) the title names the task instead:
  "out of memory in <comm>" (digits made stable). A memory-cgroup OOM (a configured limit, not
  the machine running out) reads "memory cgroup out of memory in ...". A kill line without its
  "invoked oom-killer" part (rate-limited or cut) gives "out of memory".
- "NMI backtrace in <function>": where the CPU was when the NMI came (its kernel RIP/pc/NIP), or,
  without one, the first frame outside the NMI handler. "NMI backtrace for cpu N skipped: idling"
  lines carry no backtrace and give no notice.
The alternative title is the coarse bucket: "out of memory", "memory cgroup out of memory" or
"NMI backtrace".
"""

from __future__ import annotations

import bisect
import re

from workers.parser import details
from workers.parser.demangle import demangle
from workers.parser.frames import parse_normalized_frame, parse_normalized_ip, title_name
from workers.parser.normalise import normalise
from workers.parser.reports import _SECTIONS, fill_report
from workers.parser.stack import canonical, skipped
from workers.report import Frame, Report
from workers.statkeys.lines import lines_with

_OOM_INVOKED = " invoked oom-killer: "
_OOM_KILL = re.compile(
    r"(?P<memcg>Memory cgroup out of memory|Out of memory(?: \(oom_kill_allocating_task\))?): "
    r"Kill(?:ed)? process \d+ \((?P<victim>.*?)\)"
)
_OOM_NONE = "Out of memory and no killable processes"
_NMI_HEAD = re.compile(r"NMI backtrace for cpu \d+(?P<skipped> skipped)?")
_WORDS = (_OOM_INVOKED, "out of memory: Kill", "Out of memory", "NMI backtrace for cpu ")
# Allocator, page-fault and OOM-killer frames: an OOM names the code that wanted the memory.
_OOM_SKIP = re.compile(
    "^(?:dump_header|oom_kill_process|out_of_memory|__alloc_pages|alloc_pages|__folio_alloc|folio_alloc|"
    "vma_alloc_folio|alloc_page_vma|__page_cache_alloc|filemap_alloc_folio|__filemap_get_folio|"
    "pagecache_get_page|grab_cache_page|page_cache_ra_|page_cache_sync_ra|page_cache_async_ra|"
    "ondemand_readahead|do_page_cache_ra|filemap_fault|filemap_get_pages|filemap_read|__do_fault|"
    "do_fault|do_read_fault|do_cow_fault|do_shared_fault|do_anonymous_page|do_pte_missing|"
    "__handle_mm_fault|handle_mm_fault|handle_pte_fault|do_user_addr_fault|pagefault_out_of_memory|"
    "mem_cgroup_out_of_memory|mem_cgroup_oom|try_charge|charge_memcg|__mem_cgroup_charge|"
    "mem_cgroup_charge|obj_cgroup_charge|__memcg_kmem_charge|memcg_slab_post_alloc|"
    "__memcg_slab_post_alloc|kmalloc_|__kmalloc|kmem_cache_alloc|slab_alloc|__slab_alloc|"
    "___slab_alloc|allocate_slab|new_slab|alloc_slab_page|shmem_alloc|shmem_get_folio|shmem_fault|"
    "__get_free_pages|get_zeroed_page|kvmalloc|__kvmalloc|__vmalloc|vmalloc|vzalloc|__pte_alloc|"
    "pte_alloc|__pmd_alloc|__pud_alloc|pmd_alloc|pud_alloc|asm_exc_page_fault|exc_page_fault)"
)
# The machinery that prints an NMI backtrace: the title names the code the CPU was running.
_NMI_SKIP = re.compile(r"^(?:nmi_cpu_backtrace|nmi_trigger_cpumask_backtrace|arch_trigger_cpumask_backtrace"
                       r"|nmi_handle|default_do_nmi|exc_nmi|asm_exc_nmi|end_repeat_nmi)")
_TRACE_START = ("Call Trace:", "Call trace:", "Backtrace:")
_MAX_NMI_LINES = 400
_MAX_OOM_LINES = 3000
_MAX_PREAMBLE = 60  # lines before a backtrace's stack (CPU:, RIP:, registers, Code:)


def find_notices(lines: list[str], caller: list[str | None], text: str | None = None,
                 stops: list[int] | None = None) -> list[Report]:
    """OOM kills and NMI backtraces of normalized lines, in log order.

    `caller[i]` is line i's printk caller id; `text` the lines joined with newlines; `stops` the
    lines where crash reports start, which also end any notice before them.
    """
    text = "\n".join(lines) if text is None else text
    heads: list[tuple[int, str]] = []
    for i in lines_with(text, _WORDS):
        line = lines[i]
        if _OOM_INVOKED in line:
            heads.append((i, "oom"))
        elif "NMI backtrace for cpu " in line and (m := _NMI_HEAD.search(line)) and not m["skipped"]:
            heads.append((i, "nmi"))
        elif _OOM_KILL.search(line) or _OOM_NONE in line:
            heads.append((i, "kill"))
    if not heads:
        return []
    kinds = dict(heads)
    bounds = sorted(set(kinds) | set(stops or ()))
    notices: list[Report] = []
    consumed = -1  # the kill line of the last OOM report
    for i, what in heads:
        nxt = bisect.bisect_right(bounds, i)
        limit = bounds[nxt] if nxt < len(bounds) else len(lines)
        if what == "nmi":
            notices.append(_nmi(lines, caller, i, min(limit, i + _MAX_NMI_LINES)))
        elif what == "oom":
            # Its kill line comes after the memory and task dumps, with no other report in between.
            kill = limit if limit < i + _MAX_OOM_LINES and kinds.get(limit) == "kill" else None
            notices.append(_oom(lines, caller, i, kill, min(limit, i + _MAX_OOM_LINES)))
            consumed = kill if kill is not None else consumed
        elif i != consumed:  # a kill line whose "invoked oom-killer" part is missing (rate-limited, cut)
            m = _OOM_KILL.search(lines[i])
            title = "memory cgroup out of memory" if m and m["memcg"].startswith("Memory") else "out of memory"
            notices.append(Report(title=title, kind="oom", alt_titles=[], start_line=i, end_line=i))
    return notices


_PREAMBLE = ("CPU: ", "Hardware name:", "Workqueue:", "Modules linked in:", "Tainted:", "irq event stamp",
             "hardirqs last", "softirqs last")
# Lines of a register dump or a stack that are neither frames nor `NAME: value` registers: powerpc's
# `--- interrupt: 900 at ...` markers, `REGS:`, `Instruction dump:` and its words, x86's `PKRU:`.
_IN_TRACE = ("---", "REGS:", "Instruction dump:", "PKRU:", "Exception stack", "Stack:")
_HEX_WORDS = re.compile(r"^\s*(?:<?[0-9a-f]{8}>?\s+){3}<?[0-9a-f]{8}>?")


def _trace_end(lines: list[str], caller: list[str | None], start: int, limit: int) -> int:
    """End (exclusive) of the task line, register dump and stack trace that follow a header line.

    The first unknown line after the stack ends it; before the stack, unknown lines (old kernels'
    raw stack words, other output) are passed over for at most `_MAX_PREAMBLE` lines."""
    ctx = caller[start]
    in_trace = False
    last = start
    for i in range(start + 1, limit):
        if ctx is not None and caller[i] not in (ctx, None):
            continue  # another CPU or task printed this line in between
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith(_TRACE_START):
            in_trace = True
        elif not (_trace_line(line, stripped) or (not in_trace and stripped.startswith(_PREAMBLE))):
            if in_trace or i - start > _MAX_PREAMBLE:
                break
            continue
        last = i
    return last + 1


def _trace_line(line: str, stripped: str) -> bool:
    return (stripped in _SECTIONS or "Code:" in line or stripped.startswith(_IN_TRACE)
            or details.is_register_line(line) or parse_normalized_frame(line) is not None
            or parse_normalized_ip(line) is not None or _HEX_WORDS.match(line) is not None)


def _function(frame: Frame, extra: re.Pattern[str] | None) -> str | None:
    if not frame.function:
        return None
    name = demangle(title_name(frame.function))
    return None if skipped(name, extra) else canonical(name)


def _pick(report: Report, extra: re.Pattern[str] | None, use_ip: bool) -> str | None:
    """The title's function: the kernel instruction pointer's, else the first frame past generic ones."""
    candidates = []
    if use_ip and report.ip is not None:
        candidates.append(report.ip)
    candidates += [f for f in report.frames if f.role == "frame" and f.reliable and f.section != "nmi"]
    for frame in candidates:
        name = _function(frame, extra)
        if name:
            report.guilty = next((k for k, f in enumerate(report.frames) if f is frame), None)
            return name
    return None


def _nmi(lines: list[str], caller: list[str | None], head: int, limit: int) -> Report:
    end = _trace_end(lines, caller, head, limit)
    report = Report(title="", kind="nmi-backtrace", alt_titles=[], start_line=head, end_line=end - 1)
    fill_report(report, lines, head, end, caller[head], caller)
    name = _pick(report, _NMI_SKIP, use_ip=True)
    if name is None:
        report.title, report.corrupted = "NMI backtrace in corrupted", True
        report.corrupted_reason = "no kernel function in the backtrace"
    else:
        report.title = f"NMI backtrace in {name}"
        report.alt_titles = ["NMI backtrace"]  # the coarse bucket, like "out of memory" for OOMs
    return report


def _oom(lines: list[str], caller: list[str | None], head: int, kill: int | None, limit: int) -> Report:
    """The OOM report from its "invoked oom-killer" line to its kill line (or to its stack's end)."""
    trace_end = _trace_end(lines, caller, head, kill if kill is not None else limit)
    end = kill + 1 if kill is not None else trace_end
    report = Report(title="", kind="oom", alt_titles=[], start_line=head, end_line=end - 1)
    fill_report(report, lines, head, trace_end, caller[head], caller)
    m = _OOM_KILL.search(lines[kill]) if kill is not None else None
    memcg = bool(m and m["memcg"].startswith("Memory")) or any(
        "CONSTRAINT_MEMCG" in lines[i] for i in range(max(trace_end, end - 5), end))
    what = "memory cgroup out of memory" if memcg else "out of memory"
    name = _pick(report, _OOM_SKIP, use_ip=False)
    if name is None:
        # The memory went to user space (a page fault) or no stack was printed: name the task.
        comm = report.comm or lines[head][:lines[head].find(_OOM_INVOKED)].strip()
        name = normalise(comm) if comm else "corrupted"
    report.title = f"{what} in {name}"
    report.alt_titles = [what]
    return report
