"""`triage parse`: crash reports and stat keys of console logs, for people or as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from workers.commands.compare import read_log
from workers.parser import parse_log
from workers.parser.derived import report_guilty_file
from workers.report import ParsedLog, log_lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["text", "json", "jsonl"], default="text")
    parser.add_argument("--vmlinux", help="decode the frames with this vmlinux (or index folder) and name each "
                                          "report's guilty file")
    parser.add_argument("--modules", help="folder with the build's .ko files (with --vmlinux)")
    parser.add_argument("--cache", help="symbol index cache folder (with --vmlinux)")
    parser.add_argument("--max-reports", type=int, metavar="N",
                        help="build only the first N reports of each log and count the others (as the app does)")
    parser.add_argument("logs", nargs="+", metavar="LOG")


def _symbolizer(args: argparse.Namespace):
    from workers.symbolize import SymbolizeError, Symbolizer

    try:
        return Symbolizer(args.vmlinux, args.modules, args.cache)
    except SymbolizeError as exc:
        sys.stderr.write(f"triage parse: {exc}\n")
        return None


def add_guilty_files(parsed: ParsedLog, data: bytes, symbolizer) -> None:
    """After decoding: each report's guilty file (syzkaller's rule over the symbolised report)."""
    from workers.symbolize import decode_frames

    text = data.decode("utf-8", "replace")
    decoded = {f.line: f.text for f in decode_frames(text, symbolizer)}
    lines = log_lines(text)
    for report in parsed.reports:
        report.guilty_file = report_guilty_file(report.title, lines, report.start_line, report.end_line,
                                                decoded) or None


def run(args: argparse.Namespace) -> int:
    status = 0
    results = []
    symbolizer = None
    if args.vmlinux:
        symbolizer = _symbolizer(args)
        if symbolizer is None:
            return 2
    for path in args.logs:
        try:
            # `dmesg.xz`, `kmsg.gz`: the robot decompresses them first (lkp spec §A.1), as compare does
            data = read_log(Path(path)) if Path(path).suffix in (".xz", ".gz") else Path(path).read_bytes()
        except OSError as exc:
            sys.stderr.write(f"triage parse: {path}: {exc.strerror}\n")
            status = 1
            continue
        except ValueError as exc:
            sys.stderr.write(f"triage parse: {path}: {exc}\n")
            status = 1
            continue
        parsed = parse_log(data, name=path, max_reports=args.max_reports)
        if symbolizer is not None:
            add_guilty_files(parsed, data, symbolizer)
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
    more = f" ({parsed.reports_dropped} more found, not built: --max-reports)" if parsed.reports_dropped else ""
    out = [f"{path}: {len(parsed.reports)} report(s){more}"]
    for i, report in enumerate(parsed.reports):
        flag = f" [corrupted: {report.corrupted_reason or 'VM disconnected'}]" if report.corrupted else ""
        out.append(f"  #{i} {report.title}{flag}  (lines {report.start_line + 1}-{report.end_line + 1})")
        facts = [f"type {report.type or 'UNKNOWN'}"]
        if report.guilty_file:
            facts.append(f"guilty file {report.guilty_file}")
        if report.suppressed:
            facts.append("suppressed")
        out.append("      " + ", ".join(facts))
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
