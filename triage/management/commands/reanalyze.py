"""Queue the analysis of stored logs again (after a parser improvement): rows are replaced, merges kept."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from triage.ingest import queue_analysis
from triage.models import Log


class Command(BaseCommand):
    help = "Re-queue the analysis of stored logs (all, failed ones, or those of one commit)."

    def add_arguments(self, parser):
        parser.add_argument("--failed", action="store_true", help="only logs whose analysis failed")
        parser.add_argument("--commit", help="only logs of this commit")

    def handle(self, *args, failed: bool = False, commit: str | None = None, **options):
        logs = Log.objects.all()
        if failed:
            logs = logs.filter(status=Log.Status.FAILED)
        if commit:
            logs = logs.filter(commit=commit)
        count = 0
        for log in logs.iterator():
            queue_analysis(log)
            count += 1
        self.stdout.write(f"{count} logs queued for analysis")
