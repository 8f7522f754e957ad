"""`triage kcidb`: KernelCI interchange with a triage server.

    triage kcidb export [--commit C ...] [-o FILE]   runs and crashes as a KCIDB submission (JSON)
    triage kcidb submit FILE                         import a KCIDB submission (the server fetches log_urls)
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
from pathlib import Path

from workers.client import ClientError, ServerUnavailable, request, server_from

FILTERS = ("tree", "branch", "commit", "config", "arch", "test", "machine", "created_after", "created_before")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["export", "submit"], help="export runs, or submit a KCIDB file")
    parser.add_argument("file", nargs="?", type=Path, help="the KCIDB JSON to submit")
    parser.add_argument("-o", "--output", type=Path, help="write the export here instead of standard output")
    parser.add_argument("--server", help="the triage server's URL (else TRIAGE_URL, else the config file)")
    parser.add_argument("--token", help="API token (else TRIAGE_TOKEN, else the config file)")
    parser.add_argument("--client-config", metavar="FILE", help="INI file with [server] url= and token=")
    parser.add_argument("--limit", type=int, help="export at most this many runs, newest first")
    for name in FILTERS:
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, metavar="VALUE", help=f"export runs with this {name}")


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
        answer = json.loads(body)
        for test in answer.get("tests", []):
            print(f"{test['test_id']}\t{test['status']}\t{test.get('url') or test.get('error', '')}")
        return 0 if not answer.get("counts", {}).get("error") else 1
    except ClientError as exc:
        print(f"triage kcidb: refused: {exc}", file=sys.stderr)
        return 2
    except ServerUnavailable as exc:
        print(f"triage kcidb: {exc}", file=sys.stderr)
        return 3
