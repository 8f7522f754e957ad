"""Line normalization: prefixes of every log source are removed and original line numbers kept."""

from hypothesis import given, settings
from hypothesis import strategies as st

from workers.parser import parse_log
from workers.parser.lines import normalize


def test_timestamps_and_caller_ids_are_removed():
    lines = normalize("[   12.345678] BUG: x\n[ 1686.611836][ T1064] INFO: y\n[   1.0][    C1] z\n")
    assert list(lines) == ["BUG: x", "INFO: y", "z"]


def test_frame_indentation_survives_the_timestamp():
    assert normalize("[   12.3]  dump_stack+0x1/0x2\n")[0] == " dump_stack+0x1/0x2"


def test_printk_level_and_dropped_message_prefixes():
    assert list(normalize("<4>[   85.5] WARNING: foo\n")) == ["WARNING: foo"]


def test_syslog_and_journalctl_prefixes():
    text = (
        "Jan  3 10:11:12 host kernel: [  5.1] BUG: a\n"
        "2024-01-03T10:11:12.123456+00:00 host kernel: WARNING: b\n"
        "Mar 12 01:02:03 box kernel[0]: Oops: c\n"
    )
    assert list(normalize(text)) == ["BUG: a", "WARNING: b", "Oops: c"]


def test_dmesg_human_time_and_facility_prefixes():
    text = "[Mon Jan  3 10:11:12 2024] BUG: a\nkern  :warn  : [  2.0] WARNING: b\n"
    assert list(normalize(text)) == ["BUG: a", "WARNING: b"]


def test_kmsg_records_drop_dictionary_lines_and_keep_origin():
    text = "6,1,100,-;first\n SUBSYSTEM=pci\n DEVICE=+pci:0000\n4,2,200,-;BUG: second\\x0acontinued\n"
    lines = normalize(text)
    assert lines.kmsg
    assert list(lines) == ["first", "BUG: second", "continued"]
    assert lines.origin == [0, 3, 3]


def test_crlf_ansi_nul_and_bad_utf8_are_cleaned():
    raw = b"\x1b[31m[  1.0] BUG: bad\x1b[0m\r\nnul\x00byte\r\n\xff\xfeWARNING: x\r\n"
    lines = normalize(raw)
    assert lines[0] == "BUG: bad"
    assert lines[1] == "nulbyte"
    assert lines[2].endswith("WARNING: x")


def test_origin_maps_each_line_to_its_source_line():
    lines = normalize("a\nb\n\nc")
    assert list(lines) == ["a", "b", "", "c"]
    assert lines.origin == [0, 1, 2, 3]


def test_journalctl_monotonic_output():
    assert list(normalize("[   12.345678] myhost kernel: BUG: a\n")) == ["BUG: a"]


def test_arch_and_reports_of_text_with_lone_surrogates():
    from workers.parser import parse_log

    text = "[  1.0] BUG: kernel NULL pointer dereference, address: 0\n[  1.0] RIP: 0010:foo+0x1/0x2\udc80\n"
    parsed = parse_log(text)
    assert parsed.arch == "x86_64"
    assert parsed.reports and parsed.reports[0].kind == "BUG"


_PREFIX_PIECES = ["kern  :err   : ", "user  :warn  : ", "Jan  1 00:00:00 host kernel: ", "host kernel: ",
                  "2024-01-01T00:00:00+00:00 host kernel[1]: ", "<6>", "[ T12]", "** 3 printk messages dropped ** ",
                  "kernel", "BUG: x", "local7 ", "a", "1", " ", ":"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PREFIX_PIECES), min_size=1, max_size=6))
def test_only_lines_that_may_hold_a_prefix_skip_the_quick_path(pieces):
    # normalize() runs the prefix regex only on lines that could start with a prefix: the result must
    # be the regex's own on every line.
    from workers.parser.lines import strip_prefix

    line = "".join(pieces).rstrip("\n")
    assert normalize(line + "\n")[0] == strip_prefix(line)


def test_unterminated_osc_sequence_stops_at_the_line_end():
    log = ("[    0.000000] Booting \x1b]0;garbage from bootloader\n"
           "[   20.100001] BUG: KASAN: slab-out-of-bounds in my_copy_data+0x1c6/0x230 [mydrv]\n"
           "[   20.100002] Read of size 8 at addr ffff888012345678 by task cat/1234\n"
           "[   20.100006] Call Trace:\n[   20.100008]  my_copy_data+0x1c6/0x230\n[   20.100009]  caller+0x1/0x2\n")
    assert [r.title for r in parse_log(log).reports] == ["KASAN: slab-out-of-bounds Read in my_copy_data"]


def test_charset_selection_before_sgr0_is_removed():
    log = ("[   20.100001] \x1b(B\x1b[mBUG: KASAN: slab-out-of-bounds in my_copy_data+0x1c6/0x230 [mydrv]\n"
           "[   20.100002] Read of size 8 at addr ffff888012345678 by task cat/1234\n"
           "[   20.100006] Call Trace:\n[   20.100008]  my_copy_data+0x1c6/0x230\n[   20.100009]  caller+0x1/0x2\n")
    assert [r.title for r in parse_log(log).reports] == ["KASAN: slab-out-of-bounds Read in my_copy_data"]
