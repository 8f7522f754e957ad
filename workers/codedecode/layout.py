"""objdump's line layout, and decodecode's "All code" / "Code starting with the faulting instruction" block."""

from __future__ import annotations

from .insn import Insn

TRAP = "\t\t<-- trapping instruction"


def _hex_bytes(data: bytes) -> str:
    return "".join(f"{b:02x} " for b in data)


def format_lines(insns: list[Insn], arch: str, big_endian: bool = False) -> list[str]:
    """The lines `objdump -S` prints for `insns` (decodecode filters out the headers)."""
    lines: list[str] = []
    for insn in insns:
        head = f"{insn.offset:4x}:\t"
        if insn.text is None:
            lines.append("\t...")
        elif arch in ("x86_64", "i386"):
            # 7 bytes per line, the rest on continuation lines without text
            lines.append(f"{head}{_hex_bytes(insn.data[:7]):<21}\t{insn.text}")
            for more in range(7, len(insn.data), 7):
                lines.append(f"{insn.offset + more:4x}:\t{_hex_bytes(insn.data[more:more + 7])}")
        elif arch in ("arm64", "arm"):
            word = int.from_bytes(insn.data, "little")
            lines.append(f"{head}{word:0{2 * len(insn.data)}x} \t{insn.text}")
        elif arch in ("thumb", "riscv64", "riscv32"):
            # objdump shows 16-bit parcels (Thumb) or the instruction value (riscv)
            if arch == "thumb":
                parcels = " ".join(insn.data[i:i + 2][::-1].hex() for i in range(0, len(insn.data), 2))
                lines.append(f"{head}{parcels:<9} \t{insn.text}")
            else:  # objdump pads riscv's instruction value to a 20-column field, 18 for 4 bytes
                value = insn.data[::-1].hex()
                lines.append(f"{head}{value:<{18 if len(value) > 4 else 20}}\t{insn.text}")
        else:  # powerpc, s390: bytes in memory order
            lines.append(f"{head}{_hex_bytes(insn.data)}\t{insn.text}")
    return lines


def trap_index(insns: list[Insn], offset: int) -> int | None:
    """Index of the instruction holding the byte at `offset` (the marked one)."""
    found = None
    for i, insn in enumerate(insns):
        if insn.offset <= offset:
            found = i
        else:
            break
    if found is not None and insns[found].text is None:
        return None
    return found


def decodecode_block(all_code: list[Insn] | None, trap: int | None, from_fault: list[Insn], arch: str) -> str:
    """decodecode's output after the Code: line: the whole disassembly with the trapping instruction
    starred (only when a unit was marked), a blank line, then the code from the faulting instruction."""
    out: list[str] = []
    if all_code is not None:
        out += ["All code", "========"]
        for i, insn in enumerate(all_code):
            lines = format_lines([insn], arch)
            if i == trap:
                head, rest = lines[0].split(":", 1)
                lines[0] = f"{head}:*{rest}{TRAP}"
            out += lines
        out.append("")
    out += ["Code starting with the faulting instruction", "==========================================="]
    out += format_lines(from_fault, arch)
    return "\n".join(out)
