"""`triage kcidb`: KernelCI interchange with a triage server.

    triage kcidb export [--commit C ...] [-o FILE]   runs and crashes as a KCIDB submission (JSON)
    triage kcidb submit FILE                         import a KCIDB submission (the server fetches log_urls)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.parse
from pathlib import Path

from workers.client import ClientError, ServerUnavailable, get_json, request, server_from

FILTERS = ("tree", "branch", "commit", "config", "arch", "test", "machine", "created_after", "created_before")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["export", "submit"], help="export runs, or submit a KCIDB file")
    parser.add_argument("file", nargs="?", type=Path, help="the KCIDB JSON to submit")
    parser.add_argument("-o", "--output", type=Path, help="write the export here instead of standard output")
    parser.add_argument("--server", help="the triage server's URL (else TRIAGE_URL, else the config file)")
    parser.add_argument("--token", help="API token (else TRIAGE_TOKEN, else the config file)")
    parser.add_argument("--client-config", metavar="FILE", help="INI file with [server] url= and token=")
    parser.add_argument("--limit", type=int, help="export at most this many runs, newest first")
    parser.add_argument("--wait", type=float, default=3600, metavar="SECONDS",
                        help="submit: how long to wait for the server's workers to fetch the logs (default 3600)")
    for name in FILTERS:
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, metavar="VALUE", help=f"export runs with this {name}")


def wait_for_import(server, answer: dict, limit: float, every: float = 1.0) -> dict:
    """Poll the import the server queued until a worker has fetched every log (or `limit` seconds)."""
    deadline = time.monotonic() + limit
    while answer.get("status") in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(every)
        answer = get_json(server, answer["url"])
    return answer


def run(args: argparse.Namespace) -> int:
    try:
        server = server_from(args.server, args.token, args.client_config)
        if args.action == "export":
            params = {k: getattr(args, k) for k in FILTERS if getattr(args, k)}
            if args.limit:
                params["limit"] = str(args.limit)
            _status, body = request(server, "GET", "/api/kcidb/?" + urllib.parse.urlencode(params))
            text = json.dumps(json.loads(body), indent=1) + "\n"
            if args.output:
                args.output.write_text(text)
            else:
                sys.stdout.write(text)
            return 0
        if not args.file or not args.file.is_file():
            print("triage kcidb submit: give the KCIDB JSON file", file=sys.stderr)
            return 2
        _status, body = request(server, "POST", "/api/kcidb/", body=args.file.read_bytes(),
                                content_type="application/json")
        answer = wait_for_import(server, json.loads(body), args.wait)
        if answer.get("status") not in ("done", "failed"):
            print(f"triage kcidb: the import is still {answer.get('status')} after {args.wait:g} s: "
                  f"{answer.get('url')}", file=sys.stderr)
            return 1
        if answer.get("error"):
            print(f"triage kcidb: the import failed: {answer['error']}", file=sys.stderr)
        for test in answer.get("tests", []):
            print(f"{test['test_id']}\t{test['status']}\t{test.get('url') or test.get('error', '')}")
        return 0 if answer["status"] == "done" and not answer.get("counts", {}).get("error") else 1
    except ClientError as exc:
        print(f"triage kcidb: refused: {exc}", file=sys.stderr)
        return 2
    except ServerUnavailable as exc:
        print(f"triage kcidb: {exc}", file=sys.stderr)
        return 3
