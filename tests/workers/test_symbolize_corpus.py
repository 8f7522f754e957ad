"""Module frames of the lab corpora decode exactly as decode_stacktrace.sh printed them.

Uses ../shared/corpus/lab*/kernel/modules/lkdtm.ko.xz (x86-64 DWARF 5; powerpc64 ELFv1 with dot-symbols)
and the logs' .decoded files; skipped when the corpus is not there. The vmlinux frames are scored by
../shared/eval/score_decode.py (indexing the 100 MB vmlinux takes about a minute: not a unit test).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workers.symbolize import Index, build_module_index
from workers.symbolize.decode import _format_code
from workers.symbolize.frames import parse_symbol, split_line

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
DECODED_MODULE_FRAME = re.compile(r"(\S+) \((.*)\) lkdtm\s*$")

pytestmark = pytest.mark.corpus


def module_frames(log: Path) -> list[str]:
    return [line.rstrip("\r") for line in log.read_text(errors="replace").splitlines()
            if line.rstrip("\r").endswith(" [lkdtm]") and "+0x" in line]


@pytest.mark.parametrize("lab", ["lab", "lab-ppc64"])
def test_lkdtm_frames_match_decode_stacktrace(tmp_path: Path, lab: str) -> None:
    root = SHARED / lab
    ko = root / "kernel" / "modules" / "lkdtm.ko.xz"
    if not ko.exists():
        pytest.skip(f"{ko} is not available")
    build_module_index(ko, tmp_path / "lkdtm")
    index = Index(tmp_path / "lkdtm")
    checked = 0
    for log in sorted((root / "logs").glob("*.log")):
        decoded = log.with_suffix(".decoded")
        if not decoded.exists():
            continue
        want = [m.groups() for line in decoded.read_text(errors="replace").splitlines()
                if (m := DECODED_MODULE_FRAME.search(line.rstrip("\r")))]
        got = []
        for line in module_frames(log):
            split = split_line(line)
            parsed = parse_symbol(split.symbol)
            assert parsed is not None, line
            _segment, name, offset, _size = parsed
            base = index.symbol_address(name)
            assert base is not None, f"{name} not in lkdtm.ko"
            got.append((name, _format_code(index, index.lookup(base + (offset or 0)))))
        assert got == [(n.split(":")[-1], code) for n, code in want], log.name
        checked += len(got)
    assert checked > 5
