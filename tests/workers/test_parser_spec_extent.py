"""syzkaller's reporter, spec §4 (report body R and title window W) and §13 (every oops line is a
report), pinned with synthetic logs written from ../shared/reference/syzkaller-report-rules.md."""

from workers.parser import parse_log


def first(log: str):
    return parse_log(log).reports[0]


def test_without_caller_ids_w_ends_before_a_second_report():
    # §4.2 step 6, §18.5: the second BUG: cuts W, so its frame is not the first report's.
    log = ("[ 10.0] BUG: unable to handle page fault for address: ffffc90000000000\n"
           "[ 10.1] RIP: 0010:sample_fn+0x1/0x2\n"
           "[ 10.2] Call Trace:\n"
           "[ 10.3]  sample_caller+0x1/0x2\n"
           "[ 10.4] BUG: sleeping function called from invalid context at mm/x.c:1\n"
           "[ 10.5]  another_fn+0x1/0x2\n")
    reports = parse_log(log).reports
    assert reports[0].title == "BUG: unable to handle kernel paging request in sample_fn"
    assert reports[0].alt_titles == ["bad-access in sample_fn"]
    assert not reports[0].corrupted  # §10.2 reads R, which runs on past W
    # Its own report has no Call Trace line in its window (pitfall 9).
    assert reports[1].title == "BUG: sleeping function called from invalid context in corrupted"
    assert reports[1].corrupted_reason == "extracted no frames"


def test_with_caller_ids_other_tasks_are_filtered_and_w_is_not_cut():
    # §18.1: the T5002 line is another context; W is all of the T5001 lines.
    log = ("[ 50.1][ T5001] WARNING: CPU: 1 PID: 5001 at net/sample/core.c:77 sample_xmit+0x1a/0x40\n"
           "[ 50.2][ T5002] BUG: KASAN: slab-out-of-bounds in other+0x1/0x2\n"
           "[ 50.3][ T5001] RIP: 0010:sample_xmit+0x1a/0x40\n"
           "[ 50.4][ T5001] Call Trace:\n"
           "[ 50.5][ T5001]  <TASK>\n"
           "[ 50.6][ T5001]  sample_send+0x10/0x20\n")
    report = first(log)
    assert report.title == "WARNING in sample_xmit" and not report.corrupted


def test_kernel_panic_never_starts_a_second_report():
    # Pitfall 1: `Kernel panic - not syncing` is a non-starting marker: the Call Trace after it is
    # still in W.
    log = ("[ 1.0] BUG: spinlock bad magic on CPU#0, a/1\n"
           "[ 1.0] Kernel panic - not syncing: panic_on_warn set ...\n"
           "[ 1.0] Call Trace:\n[ 1.0]  spin_bug+0x1/0x2\n[ 1.0]  guilty+0x1/0x2\n[ 1.0]  caller+0x1/0x2\n")
    assert first(log).title == "BUG: spinlock bad magic in guilty"


def test_fault_injection_message_cuts_w_although_it_is_no_oops_line():
    log = ("[ 1.0] BUG: scheduling while atomic: a/1/0x2\n"
           "[ 1.0] FAULT_INJECTION: forcing a failure.\n"
           "[ 1.0] Call Trace:\n[ 1.0]  guilty+0x1/0x2\n[ 1.0]  caller+0x1/0x2\n")
    assert first(log).title == "BUG: scheduling while atomic in corrupted"


def test_disabling_lock_debugging_lines_are_always_removed():
    # §4.2 step 4: the line is dropped, so the Call Trace that follows is still the second line of R.
    log = ("[ 1.0] BUG: using smp_processor_id() in preemptible [00000000] code: a/1\n"
           "[ 1.0] Disabling lock debugging due to kernel taint\n"
           "[ 1.0] Call Trace:\n[ 1.0]  guilty+0x1/0x2\n[ 1.0]  caller+0x1/0x2\n")
    assert first(log).title == "BUG: using smp_processor_id() in preemptible code in guilty"


def _filler(n: int) -> str:
    return "".join(f"[ 1.0] filler line {k}\n" for k in range(n))


def test_a_late_kernel_panic_cuts_the_rest_of_r():
    # Pitfall 3: after more than 22 in-context lines a panic line turns skip-rest mode on, so the
    # Call Trace after it is not in W: the title loses its frame.
    late = ("[ 1.0] BUG: scheduling while atomic: a/1/0x2\n" + _filler(22)
            + "[ 1.0] Kernel panic - not syncing: x\n[ 1.0] Call Trace:\n[ 1.0]  guilty+0x1/0x2\n[ 1.0]  c+0x1/0x2\n")
    early = ("[ 1.0] BUG: scheduling while atomic: a/1/0x2\n" + _filler(20)
             + "[ 1.0] Kernel panic - not syncing: x\n[ 1.0] Call Trace:\n[ 1.0]  guilty+0x1/0x2\n[ 1.0]  c+0x1/0x2\n")
    assert first(late).title == "BUG: scheduling while atomic in corrupted"
    assert first(early).title == "BUG: scheduling while atomic in guilty"


def test_kmsan_reports_are_cut_after_16_lines():
    body = ("[ 1.0] BUG: KMSAN: uninit-value in guilty+0x1/0x2\n"
            "[ 1.0]  guilty+0x1/0x2\n[ 1.0]  caller+0x1/0x2\n")
    late = body + _filler(14) + "[ 1.0] Kernel panic - not syncing: x\n[ 1.0] Uninit was created at:\n[ 1.0]  a+0x1/0x2\n"
    report = first(late)
    assert report.title == "KMSAN: uninit-value in guilty"
    assert report.corrupted_reason == "extracted no frames"  # the origin stack was cut off (pitfall 9)


def test_after_sending_nmi_cpu_context_lines_are_admitted():
    # Pitfall 2: lines of CPU contexts join a task's report once the NMI traceback started.
    log = ("[ 1.0][ T10] INFO: rcu_preempt self-detected stall on CPU\n"
           "[ 1.0][ T10] Sending NMI from CPU 0 to CPUs 1:\n"
           "[ 1.0][  C1] NMI backtrace for cpu 1\n"
           "[ 1.0][  C1]  <IRQ>\n"
           "[ 1.0][  C1]  sysvec_apic_timer_interrupt+0x1/0x2\n"
           "[ 1.0][  C1] RIP: 0010:spinning_fn+0x1/0x2\n"
           "[ 1.0][  C1]  spinning_fn+0x1/0x2\n"
           "[ 1.0][  C1]  vfs_write+0x1/0x2\n")
    assert first(log).title == "INFO: rcu detected stall in spinning_fn"


def test_every_oops_line_is_a_report_of_its_own():
    # §13: the panic after a WARNING is parsed again from its own line (the app keeps one report,
    # titled by its first oops line).
    log = ("[ 1.0] WARNING: CPU: 0 PID: 1 at a/b.c:1 f+0x1/0x2\n[ 1.0] RIP: 0010:f+0x1/0x2\n"
           "[ 1.0] Call Trace:\n[ 1.0]  g+0x1/0x2\n[ 1.0]  h+0x1/0x2\n"
           "[ 1.0] Kernel panic - not syncing: panic_on_warn set ...\n")
    assert first(log).title == "WARNING in f"


def test_header_stripped_by_a_question_mark_falls_back_to_the_raw_output():
    # §4.3: the start line itself holds " ? ", so its stripped text lost the header.
    log = "[ 1.0] comm ? BUG: workqueue lockup - pool\n[ 1.0] more\n"
    report = first(log)
    assert report.title == "BUG: workqueue lockup" and not report.corrupted
