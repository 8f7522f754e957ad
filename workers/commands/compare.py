"""`triage compare`: the 0-day robot's fail:runs table for two sets of logs, offline.

Each log is one run; its failure keys are the parser's stat keys with their `dmesg.` (or `kmsg.`)
prefix, counted once per run, so a log without a crash still counts in the runs.
"""

from __future__ import annotations

import argparse
import gzip
import lzma
import os
import sys
import zlib
from collections.abc import Iterable
from pathlib import Path

from workers.cluster import Clusterer
from workers.compare import Run, compare, runs_table
from workers.parser import parse_log
from workers.report import ParsedLog

# Files that sit beside logs in corpora and lkp result directories and are not logs themselves
# (judged on the name without its compression suffix: `job.yaml`, `stats.json.gz`, `job.sh`).
NOT_LOGS = {".yaml", ".yml", ".json", ".jsonl", ".decoded", ".decodecode", ".md", ".ko", ".map", ".sh",
            ".py", ".o", ".a", ".patch", ".diff", ".config", ".bz2", ".zst", ".tar", ".zip"}
_OPENERS = {".xz": lzma.open, ".gz": gzip.open}
# An lkp result directory holds one run: its console log `dmesg(.xz)` beside `job.sh`, `stderr`,
# `meminfo.gz`, `kmsg.xz`... Only the console log is that run (the others are not console logs,
# and reading each as a run of its own would multiply the runs).
_LKP_CONSOLE = "dmesg"
# The most a log may be once decompressed: a small crafted archive must not fill the memory.
MAX_LOG_BYTES = int(os.environ.get("TRIAGE_MAX_LOG_BYTES", 64 << 20))
_CHUNK = 1 << 20


def log_name(path: Path) -> str:
    """The file name without its compression suffix (`dmesg.xz` -> `dmesg`)."""
    return path.name[:-len(path.suffix)] if path.suffix in _OPENERS else path.name


def is_log(path: Path) -> bool:
    return Path(log_name(path)).suffix not in NOT_LOGS


def _keep(files: list[Path]) -> list[Path]:
    """Logs among the files of one directory: its console log for an lkp result directory."""
    console = [p for p in files if log_name(p) == _LKP_CONSOLE]
    return console[:1] if console else [p for p in files if is_log(p)]


def collect_logs(paths: Iterable[str]) -> tuple[list[Path], list[str]]:
    """Log files named directly or found (recursively, sorted) in directories; and error messages."""
    logs: list[Path] = []
    errors: list[str] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            by_dir: dict[Path, list[Path]] = {}
            for p in sorted(path.rglob("*")):
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts):
                    by_dir.setdefault(p.parent, []).append(p)
            found = sorted(p for files in by_dir.values() for p in _keep(files))
            if not found:
                errors.append(f"{name}: no log files in this directory")
            logs.extend(found)
        elif path.is_file():
            logs.append(path)
        else:
            errors.append(f"{name}: no such file or directory")
    return logs, errors


def read_log(path: Path, limit: int = MAX_LOG_BYTES) -> bytes:
    """The bytes of a log, decompressed when it ends in `.xz` or `.gz`, read in chunks up to `limit`.

    A truncated archive gives what it held (a console log cut by a dying machine is still a log);
    a corrupt one or one over the limit raises ValueError."""
    opener = _OPENERS.get(path.suffix)
    if opener is None:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    else:
        chunks: list[bytes] = []
        size = 0
        try:
            with opener(path, "rb") as f:
                # read1: one decompression step a call, so a cut archive yields the data before the cut
                while size <= limit and (chunk := f.read1(min(_CHUNK, limit + 1 - size))):
                    chunks.append(chunk)
                    size += len(chunk)
        except EOFError:
            pass  # truncated archive: keep what was decompressed
        except (lzma.LZMAError, gzip.BadGzipFile, zlib.error) as exc:
            raise ValueError(f"not a valid {path.suffix[1:]} file ({exc})") from None
        data = b"".join(chunks)
    if len(data) > limit:
        raise ValueError(f"larger than {limit} bytes{' once decompressed' if opener else ''}")
    return data


def parse_paths(paths: Iterable[Path]) -> tuple[list[tuple[Path, ParsedLog]], list[str]]:
    parsed, errors = [], []
    for path in paths:
        try:
            parsed.append((path, parse_log(read_log(path), name=str(path))))
        except OSError as exc:
            errors.append(f"{path}: {exc.strerror or exc}")
        except ValueError as exc:
            errors.append(f"{path}: {exc}")
    return parsed, errors


def runs_of(parsed: list[tuple[Path, ParsedLog]], clusterer: Clusterer | None = None) -> list[Run]:
    """One run a log: its prefixed stat keys, and `cluster:TITLE` keys when a clusterer is given."""
    runs = []
    for path, log in parsed:
        keys = set(log.prefixed_stat_keys)
        if clusterer is not None:
            for report in log.reports:
                keys.add("cluster:" + clusterer.clusters[clusterer.assign(report)].title)
        runs.append(Run.of(str(path), keys, release=log.release or ""))
    return runs


def side_name(parsed: list[tuple[Path, ParsedLog]], default: str) -> str:
    """The kernel release every log of a side reports, else `default`."""
    releases = {log.release for _, log in parsed}
    return releases.pop() if len(releases) == 1 and None not in releases else default


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", nargs="+", required=True, metavar="LOG", help="logs (files or directories) of the base")
    parser.add_argument("--target", nargs="+", required=True, metavar="LOG", help="logs of the commit under test")
    parser.add_argument("--base-name", help="column title of the base (default: its kernel release)")
    parser.add_argument("--target-name", help="column title of the target (default: its kernel release)")
    parser.add_argument("--robot-arithmetic", action="store_true",
                        help="%%reproduction as the robot computes it, 100*(f1/runs0 - f0/runs0), "
                             "instead of the difference of per-side rates")
    parser.add_argument("--clusters", action="store_true",
                        help="also count each run's crash clusters (as cluster:TITLE keys), not only stat keys")
    parser.add_argument("--format", choices=["robot", "detail"], default="robot",
                        help="robot: the robot's table; detail: buckets, Fisher p-values, runs to settle")


def run(args: argparse.Namespace) -> int:
    status = 0
    sides = []
    for paths in (args.base, args.target):
        files, errors = collect_logs(paths)
        parsed, read_errors = parse_paths(files)
        for message in errors + read_errors:
            sys.stderr.write(f"triage compare: {message}\n")
            status = 1
        sides.append(parsed)
    if not sides[0] or not sides[1]:
        sys.stderr.write("triage compare: each side needs at least one readable log\n")
        return 2
    base_name = args.base_name or side_name(sides[0], "base")
    target_name = args.target_name or side_name(sides[1], "target")
    clusterer = Clusterer() if args.clusters else None  # one for both sides: same crash, same key
    base_runs, target_runs = runs_of(sides[0], clusterer), runs_of(sides[1], clusterer)
    if args.format == "robot":
        sys.stdout.write(runs_table([(base_name, base_runs), (target_name, target_runs)], args.robot_arithmetic))
        return status
    result = compare(base_runs, target_runs, base_name, target_name, robot_arithmetic=args.robot_arithmetic)
    sys.stdout.write(f"{base_name}: {result.runs0} runs, {target_name}: {result.runs1} runs\n")
    for name, rows in result.by_bucket().items():
        if not rows:
            continue
        sys.stdout.write(f"\n{name}:\n")
        for r in rows:
            settle = ""
            if not r.significant:
                settle = (f"  (+{r.runs_to_settle} runs a side would settle it)" if r.runs_to_settle
                          else "  (more runs would not settle it)")
            sys.stdout.write(f"  {r.fail0:>5}:{r.runs0:<5} {r.change:+7.1f}% {r.fail1:>5}:{r.runs1:<5} "
                             f"p={r.p_value:.3g}  {r.key}{settle}\n")
    return status
