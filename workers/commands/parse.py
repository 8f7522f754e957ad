"""`triage parse`: crash reports and stat keys of console logs, for people or as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from workers.parser import parse_log
from workers.report import ParsedLog


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["text", "json", "jsonl"], default="text")
    parser.add_argument("logs", nargs="+", metavar="LOG")


def run(args: argparse.Namespace) -> int:
    status = 0
    results = []
    for path in args.logs:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            sys.stderr.write(f"triage parse: {path}: {exc.strerror}\n")
            status = 1
            continue
        parsed = parse_log(data, name=path)
        if args.format == "jsonl":
            sys.stdout.write(json.dumps({"path": path, **parsed.to_dict()}) + "\n")
        elif args.format == "json":
            results.append({"path": path, **parsed.to_dict()})
        else:
            sys.stdout.write(render_text(path, parsed))
    if args.format == "json":
        json.dump(results, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return status


def render_text(path: str, parsed: ParsedLog) -> str:
    out = [f"{path}: {len(parsed.reports)} report(s)"]
    for i, report in enumerate(parsed.reports):
        flag = " [corrupted]" if report.corrupted else ""
        out.append(f"  #{i} {report.title}{flag}  (lines {report.start_line + 1}-{report.end_line + 1})")
        for frame in report.frames[:12]:
            mark = "" if frame.reliable else "? "
            mod = f" [{frame.module}]" if frame.module else ""
            name = frame.function or (f"0x{frame.address:x}" if frame.address is not None else "?")
            role = "" if frame.role == "frame" else f"{frame.role.upper()}: "
            out.append(f"      {role}{mark}{name}{mod}")
    for report in parsed.notices:
        out.append(f"  notice: {report.title}  (lines {report.start_line + 1}-{report.end_line + 1})")
    if parsed.stat_keys:
        out.append("  stat keys: " + ", ".join(parsed.prefixed_stat_keys))
    return "\n".join(out) + "\n"
