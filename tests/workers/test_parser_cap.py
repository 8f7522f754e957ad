"""parse_log(max_reports=N): the first N reports are built as without a cap, the others only counted."""

from __future__ import annotations

from tests.workers.test_parser_notices import OOM_KILL
from workers.cli import main
from workers.parser import parse_log


def warnings(count: int) -> str:
    """`count` separate WARNING reports, each with its stack and end marker, in one log."""
    out = []
    for n in range(count):
        t = 100 + n
        out.append(f"[  {t}.000000] ------------[ cut here ]------------\n"
                   f"[  {t}.000001] WARNING: CPU: 0 PID: 1 at kernel/foo{n}.c:{n} foo_{n}+0x1/0x2\n"
                   f"[  {t}.000002] Modules linked in:\n"
                   f"[  {t}.000003] Call Trace:\n"
                   f"[  {t}.000004]  bar_{n}+0x10/0x20\n"
                   f"[  {t}.000005]  baz+0x30/0x40\n"
                   f"[  {t}.000006] ---[ end trace 0000000000000000 ]---\n"
                   f"[  {t}.000007] some ordinary line\n")
    return "".join(out)


def test_reports_past_the_cap_are_counted_and_the_kept_ones_are_unchanged():
    log = warnings(7) + OOM_KILL + warnings(2)
    full = parse_log(log)
    assert len(full.reports) == 9 and full.reports_dropped == 0
    capped = parse_log(log, max_reports=3)
    assert len(capped.reports) == 3
    assert capped.reports_dropped == 6  # found, not built: 3 + 6 is what the full parse finds
    assert [r.to_dict() for r in capped.reports] == [r.to_dict() for r in full.reports[:3]]
    # A report past the cap still ends the notice before it, as it does without the cap.
    assert [n.to_dict() for n in capped.notices] == [n.to_dict() for n in full.notices]
    assert len(full.notices) == 1
    assert capped.stat_keys == full.stat_keys and capped.release == full.release


def test_a_cap_of_zero_or_above_the_count_keeps_the_count_right():
    log = warnings(4)
    assert (len(parse_log(log, max_reports=0).reports), parse_log(log, max_reports=0).reports_dropped) == (0, 4)
    above = parse_log(log, max_reports=10)
    assert (len(above.reports), above.reports_dropped) == (4, 0)


def test_the_command_line_says_how_many_reports_were_not_built(tmp_path, capsys):
    path = tmp_path / "many.log"
    path.write_text(warnings(5))
    assert main(["parse", "--max-reports", "2", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2 report(s) (3 more found, not built: --max-reports)" in out
