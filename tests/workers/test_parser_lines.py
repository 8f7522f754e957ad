"""Line normalization: prefixes of every log source are removed and original line numbers kept."""

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
