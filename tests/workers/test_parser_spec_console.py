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
