"""Function sizes as the kernel prints them (`func+off/size`), from tiny programs cross-compiled per arch.

The kernel's size is the distance to the next symbol kallsyms has; scripts/mksysmap keeps ELF mapping
symbols ($x, $d: arm64, riscv), local labels and a few stub names out of kallsyms, so they must not end a
function here either, or every arm64 trace would be flagged "this vmlinux does not match the log".
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from workers.symbolize import Index, Symbolizer, build_index, decode_frames
from workers.symbolize.layout import kallsyms_visible

SOURCE = r"""
#if defined(__x86_64__)
#define SKIP_DATA "jmp 1f\n.long 0x12345678\n1:\n"
/* objtool's call-padding symbol before a function, as x86 kernels have (kallsyms lists it) */
#define PFX_F2 asm(".pushsection .text\n.globl __pfx_f2\n.type __pfx_f2,@function\n__pfx_f2:\n" \
                   ".skip 16, 0x90\n.size __pfx_f2, 16\n.popsection\n");
#elif defined(__aarch64__)
#define SKIP_DATA "b 1f\n.word 0x12345678\n1:\n"
#elif defined(__riscv)
#define SKIP_DATA "j 1f\n.word 0x12345678\n1:\n"
#else
#define SKIP_DATA "b 1f\n.long 0x12345678\n1:\n"
#endif
#ifndef PFX_F2
#define PFX_F2
#endif
volatile int sink;
__attribute__((noinline)) int f1(int x)
{
	int s = 0;
	for (int i = 0; i < x; i++)
		s += i * sink;
	asm volatile(SKIP_DATA); /* data in the middle of code: a $d/$x mapping symbol pair on arm64/riscv */
	return s + sink;
}
PFX_F2
__attribute__((noinline)) int f2(int x)
{
	return f1(x) * 3 + sink;
}
__attribute__((noinline)) int f3(int x)
{
	return f2(x) ^ sink;
}
"""

# arch -> (gcc, nm, extra flags); ppc64 big-endian is ELFv1: the kernel builds it with dot symbols
ARCHES = {
    "x86_64": ("gcc", "nm", []),
    "arm64": ("aarch64-linux-gnu-gcc", "aarch64-linux-gnu-nm", []),
    "riscv64": ("riscv64-linux-gnu-gcc", "riscv64-linux-gnu-nm", []),
    "powerpc64le": ("powerpc64le-linux-gnu-gcc", "powerpc64le-linux-gnu-nm", []),
    "powerpc64": ("powerpc64-linux-gnu-gcc", "powerpc64-linux-gnu-nm", ["-mcall-aixdesc"]),
}


def build(tmp_path: Path, arch: str) -> Path:
    gcc, nm, flags = ARCHES[arch]
    for tool in (gcc, nm):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (.ci/run installs it with apt-get)")
    src = tmp_path / "k.c"
    src.write_text(SOURCE)
    out = tmp_path / "k"
    proc = subprocess.run([gcc, "-O2", "-g", "-fno-toplevel-reorder", "-fno-stack-protector", "-nostdlib", "-static",
                           "-Wl,-e,f3", *flags, str(src), "-o", str(out)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"{gcc} cannot build the test program here: {proc.stderr[-300:]}")
    return out


def code_addresses(arch: str, binary: Path) -> dict[str, int]:
    """Addresses of the functions (and the __pfx_ symbol) of the source, from the arch's nm."""
    out = subprocess.run([ARCHES[arch][1], "-n", str(binary)], capture_output=True, text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTwW":
            found[parts[2].removeprefix(".")] = int(parts[0], 16)
    return found


@pytest.mark.parametrize("arch", sorted(ARCHES))
def test_function_size_is_the_distance_to_the_next_kallsyms_symbol(arch: str, tmp_path: Path) -> None:
    binary = build(tmp_path, arch)
    build_index(binary, tmp_path / "index")
    index = Index(tmp_path / "index")
    addrs = code_addresses(arch, binary)
    # what the kernel prints: f1 ends where the next function (or its __pfx_ padding symbol) starts
    end_of_f1 = addrs.get("__pfx_f2", addrs["f2"])
    size = end_of_f1 - addrs["f1"]
    assert index.kallsyms_size(addrs["f1"]) == size
    assert index.kallsyms_size(addrs["f2"]) == addrs["f3"] - addrs["f2"]

    symbolizer = Symbolizer(index)
    log = f"Call Trace:\n f1+0x8/{size:#x}\n f2+0x4/{addrs['f3'] - addrs['f2']:#x}\n f1+0x8/{size + 0x40:#x}\n"
    frames = decode_frames(log, symbolizer)
    assert [f.function for f in frames] == ["f1", "f2", "f1"]
    assert [f.mismatch for f in frames] == [False, False, True]  # only a wrong size is flagged


def test_mapping_symbols_exist_in_the_arm64_program_the_size_check_reads(tmp_path: Path) -> None:
    """The arm64 program above really has $d/$x inside f1 (else the test above proves nothing)."""
    binary = build(tmp_path, "arm64")
    out = subprocess.run(["aarch64-linux-gnu-readelf", "-sW", str(binary)], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("aarch64-linux-gnu-readelf is not installed")
    addrs = code_addresses("arm64", binary)
    mapping = [int(line.split()[1], 16) for line in out.stdout.splitlines()
               if line.split()[-1:] in (["$d"], ["$x"])]
    assert any(addrs["f1"] < a < addrs["f2"] for a in mapping)


@pytest.mark.parametrize("name", ["$x", "$d", "$a", "$t", "$x.12", "$xrv64i2p1_m2p0", ".L0 ", ".LBB4_2",
                                  "__efistub_memcpy", "__pi_$x", "__kvm_nvhe_$d", "__kvm_nvhe_.Ltmp1",
                                  "__AArch64ADRPThunk_foo", "__kcfi_typeid_foo", "__crc_printk",
                                  "__kstrtab_printk", "__kstrtabns_printk", "foo_veneer", "bar_from_arm",
                                  "baz_from_thumb", "L0", "_SDA_BASE_", "00000010.long_branch.foo", ""])
def test_names_scripts_mksysmap_drops_are_no_kallsyms_boundary(name: str) -> None:
    assert not kallsyms_visible(name)


@pytest.mark.parametrize("name", ["schedule", "__pfx_schedule", "__cfi_schedule", "do_one_initcall.cold",
                                  "_stext", "__x64_sys_read", "L0_handler", "veneer_setup", ".schedule"])
def test_function_padding_cfi_and_ordinary_names_are_kallsyms_boundaries(name: str) -> None:
    assert kallsyms_visible(name)


def test_the_whole_table_scan_agrees_with_the_rule_per_name() -> None:
    """symbols.visible_names scans a string table at once, including names that share the tail of a
    longer one (the linker stores `foo` inside `__pfx_foo`)."""
    import numpy as np

    from workers.symbolize.symbols import visible_names

    names = ["schedule", "__pfx_schedule", "$x", "$d.1", ".LBB0_1", "foo_veneer", "L0", "L0x", "__kstrtab_bar",
             "x.long_branch.y", "_from_arm_not", "a_from_thumb", "__crc_z", ""]
    strings = b"\0" + b"\0".join(n.encode() for n in names) + b"\0"
    offsets = [strings.index(b"\0" + n.encode() + b"\0") + 1 for n in names if n]
    tails = {"schedule": strings.index(b"__pfx_schedule") + len("__pfx_"),  # `schedule` inside `__pfx_schedule`
             "veneer": strings.index(b"foo_veneer") + 4, "$d.1": strings.index(b"$d.1"),
             "Thunk_x": None}
    offsets += [o for o in tails.values() if o is not None]
    expected = [kallsyms_visible(strings[o:strings.index(b"\0", o)].decode()) for o in offsets]
    assert visible_names(strings, np.array(offsets)).tolist() == expected
    assert expected.count(False) >= 8 and expected.count(True) >= 4
