"""Stack-frame lines of each architecture, and instruction-pointer lines."""

from workers.parser.frames import parse_frame_line, parse_ip_line, title_name


def test_x86_frame_with_module_and_buildid():
    f = parse_frame_line("  lkdtm_do_action+0x2f/0x50 [lkdtm 0123456789abcdef0123456789abcdef01234567]")
    assert (f.function, f.offset, f.size, f.module) == ("lkdtm_do_action", 0x2F, 0x50, "lkdtm")
    assert f.buildid == "0123456789abcdef0123456789abcdef01234567"
    assert f.reliable


def test_question_mark_frames_are_unreliable():
    f = parse_frame_line(" ? kernel_write+0x6b0/0x6b0")
    assert f.function == "kernel_write" and not f.reliable


def test_old_x86_frame_keeps_the_address():
    f = parse_frame_line(" [<ffffffff813f5a7f>] sched_show_task.cold.35+0x279/0x31f")
    assert f.function == "sched_show_task.cold.35" and f.address == 0xFFFFFFFF813F5A7F


def test_powerpc_frame_takes_the_return_address_and_unreliable_marker():
    f = parse_frame_line("[c0000000021ebab0] [c008000000178634] .direct_entry+0xcc/0x13c [lkdtm]")
    assert f.function == ".direct_entry" and f.address == 0xC008000000178634 and f.module == "lkdtm"
    raw = parse_frame_line("[c0000000021eba30] [c0000000021ebab0] 0xc0000000021ebab0 (unreliable)")
    assert raw.function is None and raw.address == 0xC0000000021EBAB0 and not raw.reliable
    unrel = parse_frame_line("[c0000000023b79b0] [c00800000017a710] .lkdtm_X+0x64/0x9c [lkdtm] (unreliable)")
    assert unrel.function == ".lkdtm_X" and not unrel.reliable


def test_arm_from_frames_name_the_current_function():
    f = parse_frame_line("[<80c1e5e8>] (__schedule) from [<80c1eb20>] (schedule+0x60/0xdc)")
    assert f.function == "__schedule" and f.address == 0x80C1E5E8
    g = parse_frame_line(" __schedule from schedule+0x60/0xdc")
    assert g.function == "__schedule"


def test_decoded_frames_keep_the_source_position():
    f = parse_frame_line(" vfs_write+0x226/0x980 (fs/read_write.c:681)")
    assert f.function == "vfs_write" and f.source == "fs/read_write.c:681"
    g = parse_frame_line(" vfs_write (fs/read_write.c:681)")
    assert g.function == "vfs_write" and g.offset is None and g.source == "fs/read_write.c:681"
    h = parse_frame_line(" unlock_page+0x18/0xb8 mm/folio-compat.c:20")
    assert h.function == "unlock_page" and h.source == "mm/folio-compat.c:20"


def test_other_lines_are_not_frames():
    for line in ["Call Trace:", "RSP: 0018:ffffc900002afce8 EFLAGS: 00000202", "Modules linked in: lkdtm",
                 "CPU: 1 UID: 0 PID: 50 Comm: sh Not tainted 6.12.117-crashlab #1", ""]:
        assert parse_frame_line(line) is None, line


def test_instruction_pointer_lines_of_each_arch():
    rip = parse_ip_line("RIP: 0010:lkdtm_WARNING+0xa/0x10 [lkdtm]")
    assert (rip.function, rip.role, rip.module) == ("lkdtm_WARNING", "ip", "lkdtm")
    old = parse_ip_line("RIP: 0010:[<ffffffff82d4e304>]  [<ffffffff82d4e304>] __memset+0x24/0x30")
    assert old.function == "__memset" and old.address == 0xFFFFFFFF82D4E304
    user = parse_ip_line("RIP: 0033:0x452ac9")
    assert user.function is None and user.address == 0x452AC9
    nip = parse_ip_line("NIP [c008000000178f40] .lkdtm_BUG+0x0/0x4 [lkdtm]")
    assert nip.function == ".lkdtm_BUG" and nip.address == 0xC008000000178F40 and nip.role == "ip"
    lr = parse_ip_line("LR [c008000000178528] .lkdtm_do_action+0x48/0x88 [lkdtm]")
    assert lr.role == "lr" and lr.function == ".lkdtm_do_action"
    pc = parse_ip_line("pc : mark_lock+0x4/0x1b4")
    assert pc.function == "mark_lock" and pc.role == "ip"
    assert parse_ip_line("lr : __lock_acquire+0x630/0x30a4").role == "lr"
    assert parse_ip_line("NIP:  c008000000178f40 LR: c008000000178528 CTR: c008000000178f40") is None


def test_title_names_drop_elf_v1_dots_and_compiler_suffixes():
    assert title_name(".lkdtm_BUG") == "lkdtm_BUG"
    assert title_name("check_cpu_stall.isra.61") == "check_cpu_stall"
