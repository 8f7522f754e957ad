"""§4.2 of the robot's stat-key spec: kmsg-mode candidates of a kernel-dumped kmsg file. Synthetic
lines written from the rules."""

from __future__ import annotations

from workers.statkeys import stat_keys_strict
from workers.statkeys.lists import DEVICE_NAMES, KMSG_DENYLIST


def kmsg(*lines: str) -> list[str]:
    keys, source = stat_keys_strict("".join(line + "\n" for line in lines), "run/kmsg")
    assert source == "kmsg" and "boot_failures" not in keys
    return keys


ERR = "kern  :err   : [    5.000000] "


def test_lists_are_complete():
    assert len(DEVICE_NAMES) == 412 and len(KMSG_DENYLIST) == 324


def test_error_levels_emerg_to_err_are_taken():
    assert kmsg("kern  :emerg : [ 1.000000] power rail one died",
                "kern  :alert : [ 1.000000] power rail two died",
                "kern  :crit  : [ 1.000000] power rail three died",
                ERR + "power rail four died",
                "<2>[ 1.000000] power rail five died") == [
        "power_rail_one_died", "power_rail_two_died", "power_rail_three_died", "power_rail_four_died",
        "power_rail_five_died"]


def test_warning_and_lower_and_other_facilities_are_not():
    assert kmsg("kern  :warn  : [ 1.000000] only a warning here", "<4>[ 1.000000] old warning here",
                "user  :err   : [ 1.000000] user space error here", "kern  :notice: [ 1.000000] a notice") == []


def test_segfault_lines_are_taken_at_any_level():
    assert kmsg("user  :info  : [ 1.000000] app[7]: segfault at 8 ip 00007f00 sp 00007f01 error 4 in a.so") == \
        ["segfault_at_ip_sp_error"]


def test_oops_lines_are_left_to_dmesg():
    assert kmsg("kern  :alert : [ 1.000000] BUG: unable to handle page fault for address: 0",
                "kern  :err   : [ 1.000000] [drm:intel_x [i915]] *ERROR* broken") == []


def test_denylist_entries_are_fixed_substrings():
    assert kmsg(ERR + "i8042: No controller found", ERR + "EXT4-fs (.*): literally") == []
    assert kmsg(ERR + "EXT4-fs (sda1): error here") == ["EXT4-fs(sda1):error_here"]  # regex-looking entry inert


def test_colour_codes_are_removed_before_keying():
    assert kmsg("kern  :err   : [ 1.000000] \x1b[31mhot\x1b[0m plate\x1b[K failed") == ["hot_plate_failed"]


def test_boot_ok_lines_at_any_level():
    assert kmsg("[    9.000000] Kernel tests: Boot OK!", "user  :notice: [ 9.1] LKP: tty: 12: Kernel tests: Boot OK!") == \
        ["Kernel_tests:Boot_OK", "LKP:tty:#:Kernel_tests:Boot_OK"]


def test_runtime_errors_start_at_the_token_before():
    assert kmsg("user  :err   : [ 2.0] src/util.c:10:4: runtime error: shift exponent 40 is too large") == \
        ["sanitizer.src/util.c:#:#:runtime_error:shift_exponent#is_too_large"]
    assert kmsg("x  runtime error: lone case") == ["sanitizer.runtime_error:lone_case"]


def test_leaks_join_up_to_six_frames_with_twelve_digit_addresses():
    lines = [
        "user  :err   : [ 3.0] Direct leak of 40 byte(s) in 1 object(s) allocated from:",
        *(f"user  :err   : [ 3.0]     #{i} 0x7f0011223344 in call_{'ghijklmn'[i]} (/lib/x.so+0x1)" for i in range(8)),
        "user  :err   : [ 3.1] Indirect leak of 8 byte(s) in 1 object(s) allocated from:",
        "user  :err   : [ 3.1]     #0 0x7f0011223344 in strdup (/lib/x.so+0x1)",
        "user  :err   : [ 3.1]     #1 0x401000 in short_address (/bin/t+0x1)",
    ]
    assert kmsg(*lines) == ["sanitizer.direct_leak/call_g/call_h/call_i/call_j/call_k/call_l", "sanitizer.indirect_leak/strdup"]


def test_frames_before_any_leak_header_form_their_own_key():
    assert kmsg("    #0 0x55aa11223344 in add_numbers /src/t.c:3", "    #1 0x55aa11223345 in main /src/t.c:9") == \
        ["add_numbers/main"]


def test_nul_hides_the_boot_ok_and_sanitizer_greps_but_not_error_lines():
    assert kmsg("\x00", ERR + "disk went away", "[ 9.0] Kernel tests: Boot OK!") == ["disk_went_away"]


def test_identical_lines_collapse_and_short_ids_drop():
    assert kmsg(ERR + "same failure", ERR + "same failure", ERR + "abc", ERR + "1234 5678") == ["same_failure"]


def test_worked_examples():
    assert kmsg(ERR + "ata1.00: failed command: READ DMA") == ["ata#.#:failed_command:READ_DMA"]
    assert kmsg("kern  :err   : [  122.7] 8139too: 8139too Fast Ethernet driver 0.9.28 failed") == \
        ["too:#too_Fast_Ethernet_driver##failed"]
    assert kmsg("kern  :err   : [  123.5] Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS "
                "1.16.0-debian-1.16.0-5 04/01/2014") == ["Hardware_name:QEMU_Standard_PC(i440FX+PIIX,#),BIOS#-debian"]
    assert kmsg("<3>[    2.800000] old style level three error message") == ["old_style_level_three_error_message"]
