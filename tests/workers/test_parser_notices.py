"""OOM kills and NMI backtraces: informational notices, never crash reports."""

import json
from pathlib import Path

from workers.cli import main
from workers.parser import parse_log

LOGS = Path(__file__).resolve().parent.parent / "fixtures" / "logs"


def console(lines: str, caller: str = "T1234") -> str:
    """Prefix each line of a dedented block with a timestamp and printk caller id."""
    return "".join(f"[  100.{n:06d}][ {caller}] {line}\n" for n, line in enumerate(lines.strip("\n").split("\n")))


OOM_KILL = console("""\
syz-executor.0 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=1000
CPU: 1 PID: 1234 Comm: syz-executor.0 Not tainted 6.8.0-rc1 #1
Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2 04/01/2014
Call Trace:
 <TASK>
 dump_stack_lvl+0x23/0x40
 dump_header+0x4c/0x1e0
 oom_kill_process+0x111/0x1c0
 out_of_memory+0x2b7/0x6a0
 __alloc_pages_slowpath.constprop.0+0xc4a/0xe40
 __alloc_pages+0x2a3/0x330
 alloc_pages_mpol+0x9a/0x1e0
 __kmalloc_large_node+0x80/0x160
 __kmalloc_node+0xd0/0x140
 kvmalloc_node+0x62/0xf0
 seq_read_iter+0x2f0/0x490
 vfs_read+0x1e3/0x2a0
 ksys_read+0x6b/0xe0
 do_syscall_64+0x44/0xf0
 entry_SYSCALL_64_after_hwframe+0x6e/0x76
 </TASK>
Mem-Info:
active_anon:123 inactive_anon:456 isolated_anon:0
Node 0 DMA32: 1*4kB (U) 2*8kB (UM) = 20kB
Tasks state (memory values in pages):
[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name
[   1234]     0  1234   123456    65432   524288        0          1000 syz-executor.0
oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/,task=syz-executor.0,pid=1234,uid=0
Out of memory: Killed process 1234 (syz-executor.0) total-vm:493824kB, anon-rss:261728kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:512kB oom_score_adj:1000
""")

MEMCG_PAGE_FAULT = console("""\
stress invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0
CPU: 0 PID: 77 Comm: stress Not tainted 6.6.0 #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x47/0x60
 dump_header+0x4a/0x240
 oom_kill_process+0xf9/0x190
 out_of_memory+0x246/0x590
 mem_cgroup_out_of_memory+0x134/0x150
 try_charge_memcg+0x76d/0x870
 __mem_cgroup_charge+0x3f/0x90
 do_anonymous_page+0x1a5/0x500
 __handle_mm_fault+0x7e1/0xe10
 handle_mm_fault+0x17e/0x2e0
 do_user_addr_fault+0x1fe/0x660
 exc_page_fault+0x7f/0x180
 asm_exc_page_fault+0x26/0x30
RIP: 0033:0x401d2a
Code: Unable to access opcode bytes at 0x401d00.
RSP: 002b:00007ffc0b9d3e40 EFLAGS: 00010206
 </TASK>
memory: usage 102400kB, limit 102400kB, failcnt 37
oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/test,task_memcg=/test,task=stress,pid=77,uid=0
Memory cgroup out of memory: Killed process 77 (stress) total-vm:108000kB, anon-rss:102000kB, file-rss:0kB
""", caller="T77")

SYSRQ_L = console("""\
sysrq: Show backtrace of all active CPUs
NMI backtrace for cpu 0
CPU: 0 PID: 310 Comm: sh Not tainted 6.12.0 #1
Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2 04/01/2014
Call Trace:
 <TASK>
 dump_stack_lvl+0x5d/0x80
 nmi_cpu_backtrace+0xd0/0x100
 nmi_trigger_cpumask_backtrace+0x11d/0x130
 __handle_sysrq+0xc7/0x1d0
 write_sysrq_trigger+0x2a/0x40
 proc_reg_write+0x5a/0xa0
 vfs_write+0xf4/0x450
 ksys_write+0x6b/0xe0
 do_syscall_64+0x4b/0x110
 entry_SYSCALL_64_after_hwframe+0x76/0x7e
 </TASK>
Sending NMI from CPU 0 to CPUs 1-2:
NMI backtrace for cpu 1 skipped: idling at default_idle+0xf/0x20
NMI backtrace for cpu 2
CPU: 2 PID: 55 Comm: spin Not tainted 6.12.0 #1
RIP: 0010:busy_loop+0x12/0x30 [spinmod]
Code: 90 90 90 90 <eb> fe 90 90
RSP: 0018:ffffc900001bfe38 EFLAGS: 00000246
RAX: 0000000000000000 RBX: 0000000000000001 RCX: 0000000000000000
Call Trace:
 <NMI>
 ? nmi_cpu_backtrace+0x9d/0x100
 ? nmi_handle+0x5c/0x150
 </NMI>
 <TASK>
 spin_thread+0x20/0x40 [spinmod]
 kthread+0xe5/0x120
 ret_from_fork+0x31/0x50
 </TASK>
sh (310): drop_caches: 3
""", caller="C0")


def test_oom_kill_alone_is_a_notice_not_a_crash():
    parsed = parse_log(OOM_KILL)
    assert parsed.reports == []
    [oom] = parsed.notices
    assert oom.kind == "oom"
    assert oom.title == "out of memory in seq_read_iter"  # past the allocator and OOM-killer frames
    assert oom.alt_titles == ["out of memory"]
    assert (oom.pid, oom.comm, oom.cpu) == (1234, "syz-executor.0", 1)
    # From "invoked oom-killer" to the kill line, over the memory and task dumps.
    assert (oom.start_line, oom.end_line) == (0, OOM_KILL.count("\n") - 1)
    assert oom.frames[oom.guilty].function == "seq_read_iter"


def test_memory_cgroup_oom_from_a_user_page_fault_names_the_task():
    [oom] = parse_log(MEMCG_PAGE_FAULT).notices
    assert oom.title == "memory cgroup out of memory in stress"
    assert oom.guilty is None


def test_kill_line_without_its_oom_header_is_still_a_notice():
    parsed = parse_log(console("Out of memory: Killed process 99 (big) total-vm:1kB, anon-rss:1kB"))
    assert [(n.title, n.kind) for n in parsed.notices] == [("out of memory", "oom")]
    assert parse_log("ODEBUG: Out of memory. ODEBUG disabled\n").notices == []


def test_oom_never_displaces_a_crash_report():
    crash = console("""\
BUG: kernel NULL pointer dereference, address: 0000000000000000
RIP: 0010:bad_func+0x5/0x10
Call Trace:
 <TASK>
 caller_func+0x10/0x20
 </TASK>
""", caller="T5")
    parsed = parse_log(OOM_KILL + crash)
    alone = parse_log(crash).reports
    assert [r.title for r in parsed.reports] == [r.title for r in alone] and alone[0].title.endswith(" in bad_func")
    assert [n.title for n in parsed.notices] == ["out of memory in seq_read_iter"]


def test_sysrq_backtraces_name_where_each_cpu_was():
    parsed = parse_log(SYSRQ_L)
    assert parsed.reports == []
    titles = [(n.title, n.cpu) for n in parsed.notices]
    # cpu 0 asked for the backtraces (the NMI machinery is skipped); idle cpu 1 printed no backtrace;
    # cpu 2 was interrupted in busy_loop, whose frames in the <NMI> section are the handler's.
    assert titles == [("NMI backtrace in __handle_sysrq", 0), ("NMI backtrace in busy_loop", 2)]
    spin = parsed.notices[1]
    assert spin.kind == "nmi-backtrace" and spin.ip.function == "busy_loop" and spin.ip.module == "spinmod"
    task_frames = [f.function for f in spin.frames if f.section == "task" and f.role == "frame"]
    assert task_frames == ["spin_thread", "kthread", "ret_from_fork"]
    # Each ends at its </TASK>: "Sending NMI ..." and the "drop_caches" line after them are not theirs.
    assert [(n.start_line, n.end_line) for n in parsed.notices] == [(1, 16), (19, 34)]


def test_arm64_nmi_backtrace_uses_the_pc_line():
    log = console("""\
NMI backtrace for cpu 3
CPU: 3 PID: 12 Comm: kworker/3:0 Not tainted 6.10.0 #1
pstate: 60400005 (nZCv daif +PAN -UAO -TCO -DIT -SSBS BTYPE=--)
pc : queued_spin_lock_slowpath+0x1f8/0x330
lr : _raw_spin_lock+0x8c/0x90
sp : ffff80008003bd40
Call trace:
 queued_spin_lock_slowpath+0x1f8/0x330
 _raw_spin_lock+0x8c/0x90
 flush_stuff+0x24/0x90
 process_one_work+0x150/0x290
""", caller="C3")
    [nmi] = parse_log(log).notices
    # Spinning on a lock: the lock helpers are generic, the title names the code that took the lock.
    assert nmi.title == "NMI backtrace in flush_stuff"


def test_hard_lockup_lab_log_keeps_its_reports_and_adds_the_stuck_cpu():
    parsed = parse_log((LOGS / "x86_64-HARDLOCKUP.log").read_bytes())
    assert parsed.reports and all(r.kind != "nmi-backtrace" for r in parsed.reports)
    assert parsed.reports[0].title.startswith("INFO: rcu detected stall")
    assert {n.title for n in parsed.notices} == {"NMI backtrace in lkdtm_HARDLOCKUP"}
    assert len(parsed.notices) == 6
    first = parsed.notices[0]
    assert (first.start_line, first.end_line) == (153, 190)  # "NMI backtrace for cpu 1" .. "</TASK>"
    assert first.ip.function == "lkdtm_HARDLOCKUP" and first.code and "<eb>" in first.code
    assert first.alt_titles == ["NMI backtrace"] and first.frames[first.guilty] is first.ip


def test_jsonl_lists_notices_after_reports(capsys, tmp_path):
    log = tmp_path / "oom.log"
    log.write_text(OOM_KILL)
    assert main(["parse", "--format", "jsonl", str(log)]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["reports"] == []  # the scoring scripts read reports[0]: an OOM alone is a clean log
    assert [n["title"] for n in obj["notices"]] == ["out of memory in seq_read_iter"]
    assert list(obj).index("notices") > list(obj).index("reports")


def test_powerpc_nmi_backtrace_runs_past_interrupt_markers():
    log = console("""\
NMI backtrace for cpu 1
CPU: 1 PID: 60 Comm: spin Not tainted 6.12.117-crashlab-ppc64 #1
NIP:  c000000000a1b2c4 LR: c000000000a1b2a0 CTR: 0000000000000000
REGS: c000000002147a40 TRAP: 0100   Not tainted  (6.12.117-crashlab-ppc64)
MSR:  8000000000009032 <SF,EE,ME,IR,DR,RI>  CR: 28000482  XER: 00000000
GPR00: c000000000a1b2a0 c000000002147ce0 c000000001a3c800 0000000000000000
NIP [c000000000a1b2c4] .spin_forever+0x24/0x40 [spinmod]
LR [c000000000a1b2a0] .spin_start+0x20/0x60 [spinmod]
Call Trace:
[c000000002147ce0] [c000000000a1b2a0] .spin_start+0x20/0x60 [spinmod] (unreliable)
--- interrupt: 100 at .spin_forever+0x24/0x40 [spinmod]
[c000000002147d90] [c00000000001e688] .system_call_exception+0xe8/0x1c0
Instruction dump:
60000000 60000000 7c0802a6 fbe1fff8 <48000000> 60000000 60000000 60000000
watchdog: something else
""", caller="C1")
    [nmi] = parse_log(log).notices
    assert nmi.title == "NMI backtrace in spin_forever"
    assert nmi.end_line == 13  # the instruction words; the watchdog line is other output
    assert [f.function for f in nmi.frames if f.role == "frame"] == [".spin_start", ".system_call_exception"]
