"""syzkaller's reporter, spec §2-§5 (console prefixes, oops lines, report extent, format choice),
§10 (corruption), §11-§13 (normalisation, suppression, several reports), pinned with synthetic logs
in the kernel's real console shapes, written from ../shared/reference/syzkaller-report-rules.md."""

from workers.parser import parse_log


def first(log: str):
    reports = parse_log(log).reports
    assert reports, "no report"
    return reports[0]


def lines(prefix: str, *texts: str) -> str:
    return "".join(prefix + t + "\n" for t in texts)


# --- §2.2 console prefixes -----------------------------------------------------------------------------

def test_a_timestamp_without_the_space_after_it_is_no_console_prefix():
    # §2.2 step 6: exactly one space must follow the timestamp. An empty printk line whose trailing
    # space was lost is context "" and is filtered out of a "console" report, so the Call Trace is
    # followed by one line only (§10.2: call trace is missed).
    log = ("[    1.000000] BUG: spinlock bad magic on CPU#0, syz/1\n"
           "[    1.000000] Call Trace:\n"
           "[    1.000000]  guilty_fn+0x1/0x2\n"
           "[    1.000000]\n")
    report = first(log)
    assert report.title == "BUG: spinlock bad magic in guilty_fn"
    assert report.corrupted_reason == "call trace is missed"
    # With the space the line is in context and counts.
    assert not first(log.replace("]\n", "] \n")).corrupted


def test_a_bare_timestamp_with_a_caller_id_is_context_empty_too():
    # §2.2: `[ 1.0][ T1]` with nothing after it has no console prefix, so a report that starts on a
    # line without prefix keeps it (context "" both), whatever caller id it shows.
    log = ("BUG: spinlock bad magic on CPU#0, syz/1\n"
           "Call Trace:\n"
           " guilty_fn+0x1/0x2\n"
           "[    1.000000][ T4926]\n")
    assert not first(log).corrupted  # four lines from the marker on: not a missed call trace


def test_the_login_prompt_prefix_is_greedy():
    # §2.2 step 2: the longest prefix ending in " login: " that lets a timestamp follow. A line that
    # starts with one timestamp and carries the prompt and another one is context "console" (the
    # caller id at its start is inside the prompt part), so it joins a "console" report.
    log = ("[   50.000000] WARNING: CPU: 0 PID: 1 at net/x.c:1 w_fn+0x1/0x2\n"
           "[   12.000000][ T2] syzkaller login: [   50.000001] RIP: 0010:rip_fn+0x1/0x2\n"
           "[   50.000002] Call Trace:\n"
           "[   50.000003]  guilty_fn+0x1/0x2\n"
           "[   50.000004]  caller_fn+0x1/0x2\n")
    # The stripped text keeps the prompt (everything through the first "] " goes), and the RIP-line
    # is searched in it.
    assert first(log).title == "WARNING in rip_fn"


def test_a_caller_id_not_right_after_the_timestamp_is_text():
    # §2.2 step 5: the caller id must follow the timestamp immediately. `[ 1.0] [ T7] ...` is context
    # "console" (the bracket is part of the text), so it stays in a "console" report.
    log = ("[   50.000000] WARNING: CPU: 0 PID: 1 at net/x.c:1 w_fn+0x1/0x2\n"
           "[   50.000001] [   T7] RIP: 0010:rip_fn+0x1/0x2\n"
           "[   50.000002] Call Trace:\n"
           "[   50.000003]  guilty_fn+0x1/0x2\n"
           "[   50.000004]  caller_fn+0x1/0x2\n")
    assert first(log).title == "WARNING in rip_fn"


def test_journal_short_monotonic_lines_read_like_the_console():
    # `journalctl -k -o short-monotonic` prints `[ 12.3] host kernel: text`: a console prefix for
    # §2.2, then the journal's own. The text after both is what the kernel printed (the app's
    # extension for logs that are not a serial console), so frames and RIP lines read as usual.
    body = ["WARNING: CPU: 0 PID: 1 at net/x.c:1 w_fn+0x1/0x2", "RIP: 0010:kfree_skb+0x1/0x2", "Call Trace:",
            " <TASK>", " ? __warn+0x1/0x2", " guilty_fn+0x1/0x2", " caller_fn+0x1/0x2", " </TASK>"]
    report = first(lines("[   12.345678] vm-1 kernel: ", *body))
    assert (report.title, report.corrupted) == ("WARNING in guilty_fn", False)


# --- §3 oops lines, §5 format choice ---------------------------------------------------------------------

def test_an_arm64_bug_trap_line_belongs_to_the_bug_group():
    # §3.4: `Internal error: Oops - BUG: ...` holds `BUG:`, the first group in table order; no BUG
    # format matches it, so the title is the text from `BUG:` on (§5.3), not corrupted.
    log = lines("[    1.000000] ", "Internal error: Oops - BUG: 00000000f2000800 [#1] PREEMPT SMP",
                "pc : kb_fn+0x1/0x2", "Call trace:", " kb_fn+0x1/0x2", " caller_fn+0x1/0x2")
    report = first(log)
    assert (report.title, report.corrupted) == ("BUG: ADDR [#NUM] PREEMPT SMP", False)


def test_the_ext4_suppression_needs_the_colon_after_the_device():
    # §3.2: `EXT4-fs`, an optional ` (...)`, then `:`. `EXT4-fs warning (device loop0):` is not that
    # shape, so a WARNING: on such a line is an oops line.
    assert parse_log(lines("[ 1.0] ", "EXT4-fs (loop0): WARNING: x")).reports == []
    report = first(lines("[ 1.0] ", "EXT4-fs warning (device loop0): ext4_x:1: WARNING: y"))
    assert report.title == "WARNING: y"


def test_a_match_further_down_wins_when_none_is_on_the_header_line():
    # §5.2: the smallest offset among the formats that matched; with caller ids W keeps the task's
    # second WARNING, whose classic header matches (the first has no function after the position).
    log = lines("[   50.000000][ T1] ", "WARNING: CPU: 0 PID: 1 at drivers/x.c:1", "Modules linked in:",
                "WARNING: CPU: 0 PID: 1 at net/y.c:2 y_fn+0x1/0x2", "RIP: 0010:__do_sys_y+0x1/0x2", "Call Trace:",
                " guilty_fn+0x1/0x2", " caller_fn+0x1/0x2")
    report = first(log)
    assert (report.title, report.alt_titles) == ("WARNING in y", ["WARNING in __do_sys_y"])
