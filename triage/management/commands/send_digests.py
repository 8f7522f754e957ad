"""`manage.py send_digests`: send the email digests that are due now (what beat runs each day)."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils.dateparse import parse_datetime

from triage.digest import send_due


class Command(BaseCommand):
    help = "Send the email digests that are due now (and retry the ones the mail server refused)."

    def add_arguments(self, parser):
        parser.add_argument("--at", help="act as if it were this time (ISO 8601, with a zone): for tests and catch-up")

    def handle(self, *args, **options):
        now = None
        if options["at"]:
            now = parse_datetime(options["at"])
            if now is None or now.tzinfo is None:
                raise SystemExit("--at takes an ISO 8601 time with a zone, like 2026-01-02T07:00+00:00")
        sent = send_due(now)
        self.stdout.write(f"{sent} digest{'s' if sent != 1 else ''} sent")
