"""Any input gives a ParsedLog: arbitrary bytes and damaged real logs never raise."""

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workers.parser import parse_log
from workers.report import ParsedLog

LOGS = Path(__file__).resolve().parent.parent / "fixtures" / "logs"
REAL = [p.read_bytes() for p in sorted(LOGS.glob("*.log"))]
# Fragments that steer random input into the parser's deeper paths.
PIECES = [b"BUG: KASAN: slab-out-of-bounds in f+0x1/0x2\n", b"Call Trace:\n", b" <IRQ>\n", b"RIP: 0010:",
          b"WARNING: CPU: 0 PID: 1 at a.c:1 f+0x1/0x2\n", b"INFO: rcu_sched self-detected stall\n",
          b"[c000] [c008] .f+0x1/0x2 (unreliable)\n", b"Code: <0f> 0b\n", b"GPR00: 1 2\n", b"\r\n", b"\x00",
          b"\xff", b"6,1,2,-;", b"---[ end trace 0 ]---\n", b"Kernel panic - not syncing: x\n", b"[ 1.0][ T1] "]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_give_a_result(data: bytes):
    assert isinstance(parse_log(data), ParsedLog)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(PIECES) | st.binary(max_size=40), max_size=60))
def test_report_like_noise_gives_a_result(chunks: list[bytes]):
    parsed = parse_log(b"".join(chunks))
    assert isinstance(parsed, ParsedLog)
    for report in parsed.reports:
        assert report.start_line <= report.end_line
        assert report.guilty is None or 0 <= report.guilty < len(report.frames)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(REAL), st.lists(st.tuples(st.integers(0, 20000), st.integers(0, 400), st.binary(max_size=30)),
                                       max_size=8))
def test_mutated_real_logs_give_a_result(log: bytes, edits: list[tuple[int, int, bytes]]):
    data = bytearray(log)
    for pos, cut, insert in edits:
        pos %= len(data) + 1
        data[pos:pos + cut] = insert
    parsed = parse_log(bytes(data))
    assert isinstance(parsed, ParsedLog)
    for report in parsed.reports:
        assert isinstance(report.title, str) and report.title
