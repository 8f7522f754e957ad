"""`triage upload`: send console logs (or a kernel build) to a triage server, for CI bots.

Metadata comes from flags, else from the CI's usual environment variables (GitHub Actions, GitLab CI,
Jenkins, KernelCI-style TRIAGE_* variables). Connection errors and 5xx answers are retried with
backoff; a 4xx ends with the server's reason and exit status 2. Prints the URL of what it created.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from workers.client import ClientError, ServerUnavailable, multipart, request, server_from

FIELDS = ("tree", "branch", "commit", "parent", "config", "arch", "test", "machine", "run_id")
# The first variable set wins, after the flag and TRIAGE_<FIELD>.
CI_VARIABLES = {
    "tree": ["GITHUB_REPOSITORY", "CI_PROJECT_PATH"],
    "branch": ["GITHUB_REF_NAME", "CI_COMMIT_REF_NAME", "GIT_BRANCH"],
    "commit": ["GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT"],
    "run_id": ["GITHUB_RUN_ID", "CI_JOB_ID", "BUILD_TAG", "BUILD_ID"],
    "machine": ["RUNNER_NAME", "CI_RUNNER_DESCRIPTION", "NODE_NAME"],
    "test": ["CI_JOB_NAME", "GITHUB_JOB", "JOB_NAME"],
}
EXIT_REFUSED, EXIT_UNAVAILABLE = 2, 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("logs", nargs="*", type=Path, metavar="LOG", help="console logs to upload")
    parser.add_argument("--vmlinux", type=Path, help="upload a kernel build instead: its vmlinux (.xz/.gz/.zst)")
    parser.add_argument("--module", action="append", type=Path, default=[], metavar="KO",
                        help="a module .ko (or a tarball of a modules folder) of the build; repeat")
    parser.add_argument("--server", help="the triage server's URL (else TRIAGE_URL, else the config file)")
    parser.add_argument("--token", help="API token with the upload scope (else TRIAGE_TOKEN, else the config file)")
    parser.add_argument("--client-config", metavar="FILE",
                        help="INI file with [server] url= and token= (else TRIAGE_CONFIG, "
                             "else ~/.config/triage/client.ini)")
    for field in FIELDS:
        parser.add_argument(f"--{field.replace('_', '-')}", dest=field, metavar="VALUE",
                            help=f"the run's {field} (else TRIAGE_{field.upper()} or the CI's variables)")
    parser.add_argument("--retries", type=int, default=5, help="retries on connection errors and 5xx (default 5)")
    parser.add_argument("--backoff", type=float, default=1.0, help="first wait in seconds, doubled each retry")
    parser.add_argument("--json", action="store_true", help="print the server's answers as JSON lines")


def metadata(args: argparse.Namespace, environ=os.environ) -> dict[str, str]:
    out = {}
    for field in FIELDS:
        value = getattr(args, field, None) or environ.get(f"TRIAGE_{field.upper()}", "")
        for name in CI_VARIABLES.get(field, ()):
            if value:
                break
            value = environ.get(name, "")
        if value:
            out[field] = value
    return out


def run(args: argparse.Namespace) -> int:
    if not args.logs and not args.vmlinux and not args.module:
        print("triage upload: give LOG files, or --vmlinux/--module for a build", file=sys.stderr)
        return EXIT_REFUSED
    missing = [str(p) for p in [*args.logs, *([args.vmlinux] if args.vmlinux else []), *args.module]
               if not p.is_file()]
    if missing:
        print(f"triage upload: no such file: {', '.join(missing)}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        server = server_from(args.server, args.token, args.client_config)
        meta = metadata(args)
        if args.vmlinux or args.module:
            files = ([("vmlinux", args.vmlinux)] if args.vmlinux else []) + [("modules", m) for m in args.module]
            build_meta = {k: v for k, v in meta.items() if k in ("tree", "branch", "commit", "config")}
            answers = [send(server, "/api/builds/", build_meta, files, args)]
        else:
            answers = [send(server, "/api/logs/", meta, [("file", log)], args) for log in args.logs]
    except ClientError as exc:
        print(f"triage upload: refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except ServerUnavailable as exc:
        print(f"triage upload: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    for answer in answers:
        print(json.dumps(answer) if args.json else answer.get("url", answer))
    return 0


def send(server, path: str, fields: dict[str, str], files, args) -> dict:
    content_type, length, body = multipart(fields, files)
    _status, answer = request(server, "POST", path, body=body, content_type=content_type, length=length,
                              retries=args.retries, backoff=args.backoff)
    return json.loads(answer)
