"""workers.codedecode against what scripts/decodecode (objdump) printed for real Code: lines.

The comparison is the one ../shared/eval/score_decode.py makes: per "All code" block, the instruction
boundaries (within the offsets objdump listed), the trapping instruction (the one holding the byte the
Code: line marks) and the mnemonics (a one-letter AT&T suffix difference allowed).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.codedecode import decode_all, decode_code_line, disassemble, parse_code_line
from workers.codedecode.codeline import MAX_UNITS
from workers.codedecode.layout import format_lines

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "codedecode"
SHARED = ROOT.parent / "shared" / "corpus"

INSN = re.compile(r"^\s*([0-9a-f]+):(\*?)\s+((?:[0-9a-f]{2} )+|[0-9a-f]{8}\s)\s*(\S*)")


def marker_offset(code_line: str) -> int | None:
    offset = 0
    for token in code_line.split("Code:", 1)[1].split():
        if token[0] in "<(" and token[-1] in ">)":
            return offset
        if all(c in "0123456789abcdefABCDEF" for c in token):
            offset += len(token) // 2
    return None


def all_code(block: str, code_line: str | None = None) -> tuple[tuple[int, ...], int | None, tuple[str, ...]]:
    """(boundaries, trapping offset, mnemonics) of the "All code" part of one decodecode block; with
    `code_line`, the trapping instruction is the one holding the marked byte (decodecode stars the first
    instruction on powerpc whatever the marker says)."""
    offsets, mnems, trap, inside = [], [], None, False
    for line in block.splitlines():
        if line.startswith("All code"):
            inside = True
        elif line.startswith("Code starting with"):
            inside = False
        elif inside and (m := INSN.match(line)) and m.group(4) and not m.group(4).startswith("<--"):
            offsets.append(int(m.group(1), 16))
            mnems.append(m.group(4))
            if m.group(2):
                trap = offsets[-1]
    if code_line is not None:
        marker = marker_offset(code_line)
        trap = max((o for o in offsets if o <= marker), default=None) if marker is not None else None
    return tuple(offsets), trap, tuple(mnems)


def same_mnemonic(a: str, b: str) -> bool:
    return a == b or a[:-1] == b or b[:-1] == a


def truth_blocks(path: Path) -> list[tuple[str, str]]:
    """(Code: line, decodecode's block) for each `##########` section of a .decodecode file."""
    out = []
    for section in path.read_text(errors="replace").split("##########")[1:]:
        lines = section.splitlines()
        out.append((lines[1], "\n".join(lines[2:])))
    return out


def score(paths: list[Path]) -> dict[str, int]:
    counts = dict.fromkeys(("blocks", "bounds", "trap", "mnem", "mnem_same"), 0)
    for path in paths:
        for code_line, truth in truth_blocks(path):
            want = all_code(truth, code_line)
            if not want[0]:
                continue
            got = all_code(decode_code_line(code_line) or "")
            lo, hi = min(want[0]), max(want[0])
            shown = [(o, mn) for o, mn in zip(got[0], got[2], strict=True) if lo <= o <= hi]
            counts["blocks"] += 1
            same_bounds = tuple(o for o, _ in shown) == want[0]
            counts["bounds"] += same_bounds
            counts["trap"] += want[1] == got[1]
            if same_bounds:
                counts["mnem"] += len(want[2])
                counts["mnem_same"] += sum(same_mnemonic(a, mn) for a, (_, mn) in zip(want[2], shown, strict=True))
    return counts


def assert_all_agree(counts: dict[str, int]) -> None:
    assert counts["blocks"] > 0
    assert counts["bounds"] == counts["blocks"], counts
    assert counts["trap"] == counts["blocks"], counts
    assert counts["mnem_same"] == counts["mnem"], counts


@pytest.mark.parametrize("corpus", ["lab", "lab-ppc64"])
def test_fixture_blocks_have_decodecodes_boundaries_trap_and_mnemonics(corpus):
    assert_all_agree(score(sorted((FIXTURES / corpus).glob("*.decodecode"))))


@pytest.mark.corpus
@pytest.mark.parametrize("corpus", ["lab", "lab-ppc64"])
def test_every_lab_block_has_decodecodes_boundaries_trap_and_mnemonics(corpus):
    logs = SHARED / corpus / "logs"
    if not logs.is_dir():
        pytest.skip(f"{logs} is absent (the shared corpora are not mounted)")
    assert_all_agree(score(sorted(logs.glob("*.decodecode"))))


def test_x86_blocks_are_identical_to_decodecode_text():
    # layout too: offset column, 7-byte columns with continuation lines, `:*` and the trap tag, `...`
    for path in sorted((FIXTURES / "lab").glob("*.decodecode")):
        for code_line, truth in truth_blocks(path):
            assert decode_code_line(code_line) == truth.rstrip("\n"), (path.name, code_line)


# What GNU objdump 2.40 (the binutils behind the lab's .decodecode files) prints for encodings where
# capstone alone would differ: ud1's ModRM operand, lock on a branch, a REX before another REX,
# `66 90`, unused rep/REX.W prefixes, HLE, EVEX/x87 (bad) lengths, segment register 6, branch hints,
# bytes cut off by the end, %gs and %rip operands, AMX.
OBJDUMP_X86 = [
    ("0f b9 48 18 90", [
        "   0:\t0f b9 48 18          \tud1    0x18(%rax),%ecx",
        "   4:\t90                   \tnop",
    ]),
    ("67 48 0f b9 3a 90", [
        "   0:\t67 48 0f b9 3a       \tud1    (%edx),%rdi",
        "   5:\t90                   \tnop",
    ]),
    ("f0 0f 82 ba 00 00 00 90", [
        "   0:\tf0 0f 82 ba 00 00 00 \tlock jb 0xc1",
        "   7:\t90                   \tnop",
    ]),
    ("40 4d 85 f6 90", [
        "   0:\t40                   \trex",
        "   1:\t4d 85 f6             \ttest   %r14,%r14",
        "   4:\t90                   \tnop",
    ]),
    ("66 90 66 66 90", [
        "   0:\t66 90                \txchg   %ax,%ax",
        "   2:\t66 66 90             \tdata16 xchg %ax,%ax",
    ]),
    ("f3 e8 0d fa d0 ff", [
        "   0:\tf3 e8 0d fa d0 ff    \trepz call 0xffffffffffd0fa13",
    ]),
    ("48 5d 48 98 48 fc", [
        "   0:\t48 5d                \trex.W pop %rbp",
        "   2:\t48 98                \tcltq",
        "   4:\t48 fc                \trex.W cld",
    ]),
    ("f3 48 89 44 24 08", [
        "   0:\tf3 48 89 44 24 08    \txrelease mov %rax,0x8(%rsp)",
    ]),
    ("62 f8 ff ff 49", [
        "   0:\t62                   \t(bad)",
        "   1:\tf8                   \tclc",
        "   2:\tff                   \t(bad)",
        "   3:\tff                   \t.byte 0xff",
        "   4:\t49                   \trex.WB",
    ]),
    ("d9 48 c7 c6 00", [
        "   0:\td9 48 c7             \t(bad)  -0x39(%rax)",
        "   3:\tc6                   \t.byte 0xc6",
        "\t...",
    ]),
    ("8c be 09 00 00 00", [
        "   0:\t8c be 09 00 00 00    \tmov    %?,0x9(%rsi)",
    ]),
    ("3e 0f 87 fb 00 00 00", [
        "   0:\t3e 0f 87 fb 00 00 00 \tja,pt  0x102",
    ]),
    ("48 0f ba", [
        "   0:\t48                   \trex.W",
        "   1:\t0f                   \t.byte 0xf",
        "   2:\tba                   \t.byte 0xba",
    ]),
    ("c7 60", [
        "   0:\tc7                   \t(bad)",
        "   1:\t60                   \t(bad)",
    ]),
    ("43 10 48 89", [
        "   0:\t43 10 48 89          \trex.XB adc %cl,-0x77(%r8)",
    ]),
    ("63 10", [
        "   0:\t63 10                \tmovsxd (%rax),%edx",
    ]),
    ("65 48 8b 04 25 28 00 00 00", [
        "   0:\t65 48 8b 04 25 28 00 \tmov    %gs:0x28,%rax",
        "   7:\t00 00 ",
    ]),
    ("48 8d 05 00 00 00 00", [
        "   0:\t48 8d 05 00 00 00 00 \tlea    0x0(%rip),%rax        # 0x7",
    ]),
    ("f3 48 ab", [
        "   0:\tf3 48 ab             \trep stos %rax,%es:(%rdi)",
    ]),
    ("de f9 d3 e0", [
        "   0:\tde f9                \tfdivrp %st,%st(1)",
        "   2:\td3 e0                \tshl    %cl,%eax",
    ]),
    ("c4 e2 78 49 c0", [
        "   0:\tc4 e2 78 49 c0       \ttilerelease",
    ]),
]


@pytest.mark.parametrize(("hex_bytes", "lines"), OBJDUMP_X86, ids=[h for h, _ in OBJDUMP_X86])
def test_x86_lines_match_objdump(hex_bytes, lines):
    assert format_lines(disassemble(bytes.fromhex(hex_bytes.replace(" ", "")), "x86_64"), "x86_64") == lines


# i386 kernels pad with `lea 0x0(%esi,%eiz,1),%esi` and trap with ud2 / ud1
OBJDUMP_I386 = [
    ("8d 74 26 00 90", [
        "   0:\t8d 74 26 00          \tlea    0x0(%esi,%eiz,1),%esi",
        "   4:\t90                   \tnop",
    ]),
    ("8d b4 26 00 00 00 00", [
        "   0:\t8d b4 26 00 00 00 00 \tlea    0x0(%esi,%eiz,1),%esi",
    ]),
    ("3e 8d 74 26 00", [
        "   0:\t3e 8d 74 26 00       \tlea    %ds:0x0(%esi,%eiz,1),%esi",
    ]),
    ("0f 0b 67 0f b9 40 12", [
        "   0:\t0f 0b                \tud2",
        "   2:\t67 0f b9 40 12       \tud1    0x12(%bx,%si),%eax",
    ]),
    ("64 a1 14 00 00 00", [
        "   0:\t64 a1 14 00 00 00    \tmov    %fs:0x14,%eax",
    ]),
    ("f3 a5 c3", [
        "   0:\tf3 a5                \trep movsl %ds:(%esi),%es:(%edi)",
        "   2:\tc3                   \tret",
    ]),
]


@pytest.mark.parametrize(("hex_bytes", "lines"), OBJDUMP_I386, ids=[h for h, _ in OBJDUMP_I386])
def test_i386_lines_match_objdump(hex_bytes, lines):
    assert format_lines(disassemble(bytes.fromhex(hex_bytes.replace(" ", "")), "i386"), "i386") == lines


# powerpc64 (big-endian) and arm64 words, as objdump 2.40 prints them (arm64 stripped, as decodecode does)
OBJDUMP_WORDS = {
    "powerpc64": ("7c0004ac 7c7f1b79 7d7a03a6 7d514aa6 79290fa4 0fe00000 40c2011c 00000000 f8010080", [
        "   0:\t7c 00 04 ac \thwsync",
        "   4:\t7c 7f 1b 79 \tmr.     r31,r3",
        "   8:\t7d 7a 03 a6 \tmtsrr0  r11",
        "   c:\t7d 51 4a a6 \tmfhsprg1 r10",
        "  10:\t79 29 0f a4 \tsldi    r9,r9,1",
        "  14:\t0f e0 00 00 \ttwui    r0,0",
        "  18:\t40 c2 01 1c \tbne-    0x134",
        "  1c:\t00 00 00 00 \t.long 0x0",
        "  20:\tf8 01 00 80 \tstd     r0,128(r1)",
    ]),
    "arm64": ("d503233f a9be7bfd 52800000 12800013 f9473421 a8c27bfd 54000042 1a9f07e0 37ffeca0 d4210000 "
              "d65f03c0 00000000", [
        "   0:\td503233f \tpaciasp",
        "   4:\ta9be7bfd \tstp\tx29, x30, [sp, #-32]!",
        "   8:\t52800000 \tmov\tw0, #0x0                   \t// #0",
        "   c:\t12800013 \tmov\tw19, #0xffffffff            \t// #-1",
        "  10:\tf9473421 \tldr\tx1, [x1, #3688]",
        "  14:\ta8c27bfd \tldp\tx29, x30, [sp], #32",
        "  18:\t54000042 \tb.cs\t0x20  // b.hs, b.nlast",
        "  1c:\t1a9f07e0 \tcset\tw0, ne\t// ne = any",
        "  20:\t37ffeca0 \ttbnz\tw0, #31, 0xfffffffffffffdb4",
        "  24:\td4210000 \tbrk\t#0x800",
        "  28:\td65f03c0 \tret",
        "  2c:\t00000000 \tudf\t#0",
    ]),
}


@pytest.mark.parametrize("arch", sorted(OBJDUMP_WORDS))
def test_word_arches_match_objdump(arch):
    words, lines = OBJDUMP_WORDS[arch]
    order = "big" if arch == "powerpc64" else "little"
    data = b"".join(int(w, 16).to_bytes(4, order) for w in words.split())
    assert format_lines(disassemble(data, arch), arch) == lines


def test_powerpc_stars_the_marked_word_not_the_first_one():
    code = ("Code: eba1ffe8 ebc1fff0 ebe1fff8 7c0803a6 4e800020 7fc3f378 48005a59 e8410028 7fe3fb78 "
            "48005a4d e8410028 4bffffcc <0fe00000> 3d220000 7c0802a6 39000002")
    block = decode_code_line(code)
    assert "  30:*\t0f e0 00 00 \ttwui    r0,0\t\t<-- trapping instruction" in block.splitlines()
    assert "   0:\teb a1 ff e8 \tld      r29,-24(r1)" in block.splitlines()
    assert block.split("===========================================\n")[1].splitlines()[0] == (
        "   0:\t0f e0 00 00 \ttwui    r0,0")


def test_marker_inside_an_instruction_stars_the_instruction_holding_it():
    # objdump's sweep from byte 0 decodes `b8 0f 0b 90 90` as one mov; the marked ud2 is inside it
    block = decode_code_line("Code: b8 <0f> 0b 90 90 c3")
    lines = block.splitlines()
    assert lines[2].startswith("   0:*\tb8 0f 0b 90 90") and lines[2].endswith("<-- trapping instruction")
    fault = block.split("===\n")[-1]
    assert "ud2" in fault.splitlines()[0]


def test_decode_all_finds_every_code_line_of_a_log():
    for corpus in ("lab", "lab-ppc64"):
        text = (FIXTURES / corpus / "EXCEPTION.log").read_text(errors="replace")
        lines = text.splitlines()
        found = decode_all(text)
        assert [i for i, _ in found] == [i for i, line in enumerate(lines) if "Code:" in line]
        truth = [b for _, b in truth_blocks(FIXTURES / corpus / "EXCEPTION.decodecode")]
        for (i, block), want in zip(found, truth, strict=True):
            assert all_code(block)[:1] == all_code(want)[:1], lines[i]


def test_decode_all_takes_the_arch_from_the_register_dump():
    log = ("NIP:  c000000000a8c1e0 LR: c000000000a8c1d8 CTR: 0000000000000000\n"
           "MSR:  8000000000029033 <SF,EE,ME,IR,DR,RI,LE>  CR: 28002222  XER: 20000000\n"
           "Code: 60000000 7c0802a6 (0fe00000) 4e800020\n")
    (index, block), = decode_all(log)
    assert index == 2
    assert "   8:*\t00 00 e0 0f \ttwui    r0,0\t\t<-- trapping instruction" in block.splitlines()


def test_arm64_word_marker():
    block = decode_code_line("[  12.1] Code: d503233f a9bf7bfd 910003fd 52800000 (d4210000) d65f03c0")
    assert "  10:*\td4210000 \tbrk\t#0x800\t\t<-- trapping instruction" in block.splitlines()
    assert block.splitlines()[-2] == "   0:\td4210000 \tbrk\t#0x800"


def test_riscv_parcels_and_arm_words():
    riscv = decode_code_line("Code: 1141 e406 e022 0800 (9002) 60a2", "riscv64")
    assert "c.ebreak" in riscv.split("<--")[0].splitlines()[-1]
    arm = decode_code_line("Code: e92d4010 e3a00000 (e7f001f2) e8bd8010", "arm")
    assert "   8:*\te7f001f2 \t" in arm


def test_i386_and_arch_aliases():
    line = "Code: 55 89 e5 <0f> 0b 5d c3"
    assert decode_code_line(line, "i386") == decode_code_line(line, "i686")
    assert "ud2" in decode_code_line(line, "i386").split("<--")[0].splitlines()[-1]
    assert decode_code_line(line, "amd64") == decode_code_line(line)


def test_without_marker_only_the_faulting_part_is_printed():
    block = decode_code_line("Code: 0f 0b 90 c3")
    assert block.startswith("Code starting with the faulting instruction\n")
    assert "All code" not in block and "ud2" in block


@pytest.mark.parametrize("line", [
    "no code here",
    "Code: ",
    "Code: Unable to access opcode bytes at 0x7f1c2a3b4c5d.",
    "Code: Bad RIP value.",
    "Code: 4 8 9",
    "Code: 489 0f <0b>",
    "Krnl Code: 000000000012a3b4: a7f40001  brc 15,0x12a3b6",
    "Code: zz <0f> 0b",
])
def test_lines_without_code_bytes_give_none(line):
    assert decode_code_line(line) is None


def test_an_overlong_code_line_is_cut_at_max_units():
    block = decode_code_line("Code: " + "90 " * 100_000 + "<0f> 0b")
    offsets = [int(m.group(1), 16) for m in map(INSN.match, block.splitlines()) if m]
    assert len(offsets) == MAX_UNITS and max(offsets) == MAX_UNITS - 1
    assert "All code" not in block  # the marker was beyond the cut


def test_hex_lines_after_a_code_line_continue_it():
    (index, block), = decode_all("[ 1.0] Code: 48 89 e5\n<0f> 0b 5d\nc3\n[ 1.1] RSP: 0018\n")
    assert index == 0
    assert "   3:*\t0f 0b" in block and "ret" in block


def test_unknown_arch_gives_none():
    assert decode_code_line("Code: 0f <0b>", "mips64") is None
    assert decode_all("Code: 0f <0b>\n", "vax") == []


def test_trailing_garbage_and_odd_tokens_stop_the_code():
    parsed = parse_code_line("Code: 0f <0b> 90 xyz 48 89")
    assert parsed.units == ("0f", "0b", "90") and parsed.marker == 1


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789abcdef <>()xz:", max_size=120), st.sampled_from(
    [None, "x86_64", "i386", "arm64", "arm", "powerpc64", "powerpc64le", "riscv64", "s390", "bogus"]))
def test_garbage_never_raises(tail, arch):
    result = decode_code_line("Code: " + tail, arch)
    assert result is None or "Code starting with the faulting instruction" in result


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=1, max_size=64), st.sampled_from(["x86_64", "i386", "arm64", "powerpc64", "riscv64",
                                                           "s390", "thumb"]))
def test_the_sweep_covers_every_byte_once_in_order(data, arch):
    insns = disassemble(data, "arm" if arch == "thumb" else arch, 2 if arch == "thumb" else 1)
    assert b"".join(i.data for i in insns) == data
    assert [i.offset for i in insns] == [sum(len(j.data) for j in insns[:k]) for k in range(len(insns))]


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=64), st.integers(min_value=0, max_value=63))
def test_one_trapping_instruction_holds_the_marked_byte(data, mark):
    mark %= len(data)
    line = "Code: " + " ".join(f"<{b:02x}>" if i == mark else f"{b:02x}" for i, b in enumerate(data))
    starred = [m for m in map(INSN.match, decode_code_line(line).splitlines()) if m and m.group(2)]
    if any(b for b in data[mark:mark + 1]):  # a marked zero byte may fall in objdump's skipped `...`
        assert len(starred) == 1 and int(starred[0].group(1), 16) <= mark
