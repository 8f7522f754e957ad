"""`triage cluster`: not implemented yet (see its issue)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*")


def run(args: argparse.Namespace) -> int:
    sys.stderr.write("triage cluster: not implemented yet\n")
    return 2
