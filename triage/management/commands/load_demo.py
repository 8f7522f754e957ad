"""Create the demo login and upload the demo logs (idempotent: a second run changes nothing)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files import File
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from triage.builds import store_build
from triage.ingest import store_log
from triage.models import BuildFile
from triage.permissions import TRIAGERS_GROUP

DEMO_DIR = Path(settings.BASE_DIR) / "demo" / "logs"
# The lab kernels' binaries are not in the repository (size); use them when ../shared is beside it.
LAB_KERNELS = [Path(settings.BASE_DIR).parent / "shared" / "corpus" / lab / "kernel" for lab in ("lab", "lab-ppc64")]
# Two made-up commits: the base boots clean, the target crashes, so a comparison has rows.
BASE_COMMIT = "cb588b24f0fcf515"
TARGET_COMMIT = "eaf065b089545219e27e529e3d6"


class Command(BaseCommand):
    help = "Create the demo user (demo/demo) and upload the demo logs for the worker to analyze."

    def add_arguments(self, parser):
        parser.add_argument("--no-logs", action="store_true", help="only create the user")

    def handle(self, *args, no_logs: bool = False, **options):
        user, created = get_user_model().objects.get_or_create(
            username="demo", defaults={"is_staff": True, "is_superuser": True})
        if created:
            user.set_password("demo")
            user.save()
        user.groups.add(Group.objects.get(name=TRIAGERS_GROUP))  # the demo user may triage
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(f"demo login: user 'demo', password 'demo'; API token {token.key}")
        if no_logs:
            return
        new = 0
        for path in sorted(DEMO_DIR.glob("*.log")):
            arch, _, name = path.stem.partition("-")
            runs = [BASE_COMMIT, TARGET_COMMIT] if name == "BOOT" else [TARGET_COMMIT]
            for commit in runs:
                metadata = {"tree": "demo", "branch": "master", "commit": commit, "config": "crashlab",
                            "arch": arch, "test": f"lkdtm-{name}", "machine": "qemu", "run_id": "1"}
                _log, created = store_log(iter([path.read_bytes()]), path.name, metadata, user)
                new += created
        self.stdout.write(f"demo logs: {new} new uploads queued for the worker")
        self.load_builds()

    def load_builds(self) -> None:
        for kernel in LAB_KERNELS:
            vmlinux = kernel / "vmlinux.xz"
            if not vmlinux.exists() or BuildFile.objects.filter(name=f"{kernel.parent.name}-vmlinux.xz").exists():
                continue
            modules = sorted((kernel / "modules").glob("*.ko*"))
            with open(vmlinux, "rb") as vm:
                opened = [open(m, "rb") for m in modules]  # noqa: SIM115 (closed below)
                try:
                    store_build(File(vm, name=f"{kernel.parent.name}-vmlinux.xz"),
                                [File(f, name=m.name) for f, m in zip(opened, modules, strict=True)],
                                {"tree": "demo", "commit": TARGET_COMMIT, "config": "crashlab"})
                finally:
                    for f in opened:
                        f.close()
            self.stdout.write(f"demo build: {vmlinux} queued for indexing (its crashes are decoded when ready)")
