"""`triage cluster`: group the reports of several logs into clusters, with the app's rules."""

from __future__ import annotations

import argparse
import json
import sys

from workers.cluster import Clusterer, similar
from workers.commands.compare import collect_logs, parse_paths


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["text", "jsonl"], default="text",
                        help="jsonl: one object a cluster, {title, members: [{path, report}]}")
    parser.add_argument("--similar", type=float, default=0.75, metavar="SCORE",
                        help="text format: propose clusters whose stacks are at least this similar (0-1)")
    parser.add_argument("logs", nargs="+", metavar="LOG", help="log files or directories of logs")


def run(args: argparse.Namespace) -> int:
    files, errors = collect_logs(args.logs)
    parsed, read_errors = parse_paths(files)
    for message in errors + read_errors:
        sys.stderr.write(f"triage cluster: {message}\n")
    clusterer = Clusterer()
    members: dict[str, list[dict[str, object]]] = {}  # insertion order = first seen
    for path, log in parsed:
        for index, report in enumerate(log.reports):
            key = clusterer.assign(report)
            members.setdefault(key, []).append({"path": str(path), "report": index})
    if args.format == "jsonl":
        for key, items in members.items():
            sys.stdout.write(json.dumps({"title": clusterer.clusters[key].title, "members": items}) + "\n")
    else:
        for key, items in members.items():
            cluster = clusterer.clusters[key]
            flag = "  [corrupted]" if cluster.corrupted else ""
            sys.stdout.write(f"{cluster.title}  ({len(items)} report{'s' if len(items) != 1 else ''}){flag}\n")
            for item in items:
                sys.stdout.write(f"    {item['path']} #{item['report']}\n")
        pairs = similar(clusterer.clusters.values(), threshold=args.similar)
        if pairs:
            sys.stdout.write("\nsimilar clusters (frame-sequence similarity):\n")
            for a, b, score in pairs:
                sys.stdout.write(f"  {score:.2f}  {clusterer.clusters[a].title}  <->  {clusterer.clusters[b].title}\n")
    return 1 if errors or read_errors else 0
