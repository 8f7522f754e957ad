"""`triage decode`: symbolize the stack traces of a log like scripts/decode_stacktrace.sh.

`--format text` prints the log with every frame line rewritten as the script prints it and a decodecode
block after each Code: line; `--format json` prints the decoded frames. The vmlinux index is built on
first use into the cache (`--cache`, default ~/.cache/triage/symbols) and reused afterwards.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vmlinux", required=True, help="vmlinux (also .xz/.gz/.zst) or an index folder")
    parser.add_argument("--modules", help="folder with the build's .ko files (searched recursively)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--cache", help="index cache folder (default: $TRIAGE_SYMBOL_CACHE or ~/.cache)")
    parser.add_argument("paths", nargs="+", metavar="LOG")


def _progress(done: int, total: int) -> None:
    if done == total or done % 50 == 0:
        sys.stderr.write(f"\rindexing vmlinux: {done}/{total} compile units")
        if done == total:
            sys.stderr.write("\n")


def run(args: argparse.Namespace) -> int:
    from workers.symbolize import SymbolizeError, Symbolizer, decode_frames, decode_log

    try:
        symbolizer = Symbolizer(args.vmlinux, args.modules, args.cache,
                                progress=_progress if sys.stderr.isatty() else None)
    except SymbolizeError as exc:
        sys.stderr.write(f"triage decode: {exc}\n")
        return 2
    status = 0
    for path in args.paths:
        try:
            with open(path, encoding="utf-8", errors="replace", newline="") as f:
                text = f.read()
        except OSError as exc:
            sys.stderr.write(f"triage decode: {path}: {exc.strerror}\n")
            status = 1
            continue
        if args.format == "json":
            frames = decode_frames(text, symbolizer)
            print(json.dumps({"path": path, "build_id": symbolizer.index.meta.get("build_id"),
                              "release": symbolizer.index.meta.get("release"),
                              "vmlinux_mismatch": any(f.mismatch for f in frames),
                              "frames": [f.to_dict() for f in frames]}))
        else:
            sys.stdout.write(decode_log(text, symbolizer))
            mismatched = sorted({f.function or "?" for f in decode_frames(text, symbolizer) if f.mismatch})
            if mismatched:
                sys.stderr.write(f"triage decode: {path}: this vmlinux does not match the log (function sizes "
                                 f"differ: {', '.join(mismatched[:5])})\n")
    for err in symbolizer.errors.values():
        sys.stderr.write(f"triage decode: {err}\n")
    return status
