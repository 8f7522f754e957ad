"""One line of a disassembly as objdump shows it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Insn:
    """An instruction (or objdump's `(bad)`, `.byte 0xNN`, prefix-only line) at `offset`.

    `text` is None for objdump's `...` line, which stands for a skipped run of zero bytes.
    """

    offset: int
    data: bytes
    text: str | None

    @property
    def mnemonic(self) -> str:
        return (self.text or "").split(None, 1)[0] if self.text else ""


def zero_run(buf: bytes, at: int) -> int:
    """How many zero bytes objdump skips (printing `...`) at `at`, 0 when it disassembles them.

    objdump skips 8 or more zero bytes in multiples of 4 (so as not to swallow an instruction starting
    with a zero byte), and a tail of fewer than 3 zero bytes entirely.
    """
    end = at
    while end < len(buf) and buf[end] == 0:
        end += 1
    run = end - at
    if end == len(buf) and 0 < run < 3:
        return run
    if run >= 8:
        return run if end == len(buf) else run & ~3
    return 0
