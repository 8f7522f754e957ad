"""Create the demo login and upload the demo logs (idempotent: a second run changes nothing)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files import File
from django.core.management.base import BaseCommand

from triage.builds import store_build
from triage.ingest import store_log
from triage.models import ApiToken, BuildFile
from triage.permissions import TRIAGERS_GROUP
from triage.tokens import ALL_SCOPES, create_token, hash_key

DEMO_DIR = Path(settings.BASE_DIR) / "demo" / "logs"
# The lab kernels' binaries are not in the repository (size); use them when ../shared is beside it.
LAB_KERNELS = [Path(settings.BASE_DIR).parent / "shared" / "corpus" / lab / "kernel" for lab in ("lab", "lab-ppc64")]
# Two made-up commits: the base boots clean, the target crashes, so a comparison has rows.
BASE_COMMIT = "cb588b24f0fcf515"
TARGET_COMMIT = "eaf065b089545219e27e529e3d6"


def demo_key(user) -> str:
    """The demo user's API key, the same on every start: only its hash is in the database, so the key
    itself is kept in var/ (readable by its owner only) to be printed again."""
    path = Path(settings.VAR_DIR) / "demo-api-token"
    key = path.read_text().strip() if path.exists() else ""
    if key and ApiToken.objects.filter(user=user, key_hash=hash_key(key)).exists():
        return key
    _token, key = create_token(user, "demo", ALL_SCOPES)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(key + "\n")
    return key


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
        self.stdout.write(f"demo login: user 'demo', password 'demo'; API token {demo_key(user)}")
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
