"""Title keys: what a report is filed under (its title and alternative titles, made stable across
boots and builds), and the title a corrupted report is filed under instead."""

from __future__ import annotations

import re

from workers.report import Report

from .signatures import _CLONE, _DOT_SYMBOL, frame_signature

_OFFSET = re.compile(r"\+0x[0-9a-fA-F]+(?:/0x[0-9a-fA-F]+)?")
_HEX = re.compile(r"\b0x[0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}\b")
_NUM = re.compile(r"(?<![\w.])\d+(?![\w])")
_SPACES = re.compile(r"\s+")


def title_key(title: str) -> str:
    """The part of a title that names the bug: equal keys mean the same cluster.

    Parser titles (syzbot-style) are already free of addresses; this also makes raw report lines
    such as `BUG: KASAN: ... in f+0x1c6/0x230 [m]` or `CPU: 1 PID: 51` stable across boots and builds.
    """
    key = _OFFSET.sub("", title)
    key = _HEX.sub("ADDR", key)
    key = _NUM.sub("NUM", key)
    key = _CLONE.sub(r"\1", key)
    key = _DOT_SYMBOL.sub("", key)
    return _SPACES.sub(" ", key).strip()


CORRUPTED_FRAMES = 3


def corrupted_title(report: Report) -> str | None:
    """The cluster title of a corrupted report: title, kind and its top non-generic frames (reliable
    ones, else the `?` ones an unwinder left); None when it has no frame and its title names no
    function (then only the corrupted-report bucket can hold it)."""
    frames = frame_signature(report, CORRUPTED_FRAMES)
    if not frames:
        frames = frame_signature(report, CORRUPTED_FRAMES, reliable_only=False)
    title = title_key(report.title)
    named = " in " in title and title.rsplit(" in ", 1)[1] not in ("", "corrupted")
    if not frames and not named:
        return None
    return f"{title} [{report.kind or 'corrupted'}]" + (" @ " + " ".join(frames) if frames else "")


def report_titles(report: Report) -> list[str]:
    """Title keys of a report, its own first then its alternative titles, without repeats (a
    corrupted report has one: `corrupted_title`)."""
    if report.corrupted:
        key = corrupted_title(report)
        return [key] if key else ["untitled"]
    seen: list[str] = []
    for t in [report.title, *report.alt_titles]:
        k = title_key(t)
        if k and k not in seen:
            seen.append(k)
    return seen or ["untitled"]  # reports the parser could not name still group together
