"""Disassembly of `Code:` lines in scripts/decodecode's layout.

PLACEHOLDER: the real implementation replaces this module (issue: Symbolizer and Code decoder).
"""

from __future__ import annotations


def decode_code_line(line: str, arch: str = "x86_64") -> str | None:
    """The decodecode block ("All code" ... "Code starting with the faulting instruction") or None."""
    return None
