"""The `triage` command line: the analysis engine, offline, on files.

Each subcommand lives in `workers/commands/<name>.py` with `add_arguments(parser)` and `run(args)`;
they are imported only when chosen so that `triage parse` never pays for capstone or scipy.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "parse": "find crash reports in console logs (titles, stat keys, frames)",
    "decode": "symbolize stack traces and disassemble Code: lines (like decode_stacktrace.sh)",
    "cluster": "group the reports of several logs into clusters of the same bug",
    "compare": "compare two sets of runs: fail:runs and %reproduction per stat key",
    "upload": "send console logs or a kernel build to a triage server (for CI bots)",
    "kcidb": "KernelCI interchange: export runs as KCIDB JSON, or submit a KCIDB file to a server",
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="triage", description="Linux kernel crash triage")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, help_text in COMMANDS.items():
        # argparse %-formats help strings (not descriptions): "%reproduction" must reach it as "%%r..."
        sp = sub.add_parser(name, help=help_text.replace("%", "%%"), description=help_text)
        if name == chosen:
            importlib.import_module(f"workers.commands.{name}").add_arguments(sp)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    module = importlib.import_module(f"workers.commands.{args.command}")
    try:
        return module.run(args) or 0
    except BrokenPipeError:  # `triage parse ... | head`
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
