"""Where one report ends and the next begins."""

from workers.parser import parse_log

WARNING = """[   10.000000] ------------[ cut here ]------------
[   10.000001] WARNING: CPU: 0 PID: 1 at fs/ext4/inode.c:1234 ext4_do_writepages+0x12/0x340
[   10.000005] RIP: 0010:ext4_do_writepages+0x12/0x340
[   10.000008] Call Trace:
[   10.000010]  ext4_writepages+0x50/0x100
[   10.000011]  do_writepages+0xd0/0x1c0
[   10.000017] ---[ end trace 0000000000000000 ]---
"""
PANIC = "[   12.000000] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n"


def test_panic_long_after_a_closed_report_is_a_new_report():
    boot = "".join(f"[   11.{i:06d}] random boot line {i}\n" for i in range(100))
    titles = [r.title for r in parse_log(WARNING + boot + PANIC).reports]
    assert len(titles) == 2 and titles[0] == "WARNING in ext4_do_writepages" and "VFS" in titles[1]


def test_panic_right_after_the_end_marker_belongs_to_the_report():
    titles = [r.title for r in parse_log(WARNING + PANIC).reports]
    assert titles == ["WARNING in ext4_do_writepages"]


DECOMPRESSOR = "early console in setup code\nDecompressing Linux... Parsing ELF... done.\nBooting the kernel.\n"
KERNEL = "[    0.000000] Linux version 6.1.0 (gcc) #1 SMP\n[    1.000000] Run /sbin/init as init process\n"


def test_first_boot_is_not_a_reboot():
    assert parse_log(DECOMPRESSOR + KERNEL).reports == []


def test_booting_again_after_kernel_output_is_a_reboot():
    titles = [r.title for r in parse_log(DECOMPRESSOR + KERNEL + DECOMPRESSOR + KERNEL).reports]
    assert titles == ["unexpected kernel reboot"]


def test_user_space_general_protection_traps_are_not_crashes():
    # Spec §3.1 group 5: only the form naming the mapping (`error:N in`) is suppressed.
    log = ("[   12.0] traps: a.out[1234] general protection fault ip:7f0000001000 sp:7ffd00000000 error:0 in "
           "libc.so.6[7f0000000000+100000] likely on CPU 3 (core 3, socket 0)\n[   13.0] ok\n")
    assert parse_log(log).reports == []
    bare = "[   10.0] traps: a.out[1234] general protection fault ip:7f0000001000 sp:7ffd00000000 error:0\n"
    assert [r.title for r in parse_log(bare).reports] == ["general protection fault in corrupted"]
