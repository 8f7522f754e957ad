"""A log's lines, as every engine module numbers them (in its own module: `triage decode` needs this and
none of workers.report's dataclasses, whose import is a good part of its start-up)."""

from __future__ import annotations


def log_lines(text: str) -> list[str]:
    """A log's lines as every engine module numbers them: split on "\\n" only (as the kernel's scripts
    and serial consoles do; str.splitlines() would also split on form feeds and other separators that
    firmware prints), with the "\\r" of CRLF line ends removed."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]
