"""Shared fixtures: plain factory functions (patchwork style) and real log files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.smtp import smtp_server  # noqa: F401 (a real SMTP server for the tests that send email)

FIXTURES = Path(__file__).parent / "fixtures"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


# A tiny "kernel" with DWARF and a build-id, built with gcc for the tests that upload, index and decode.
RELEASE = "6.99.0-triage-test"
SOURCE = f"""
const char linux_banner[] = "Linux version {RELEASE} (me@host) (gcc) #1 SMP PREEMPT";
static inline __attribute__((always_inline)) int deref(volatile int *p) {{ return *p; }}
__attribute__((noinline)) int crash_here(volatile int *p) {{ return deref(p) + 1; }}
__attribute__((noinline)) int caller(volatile int *p) {{ return crash_here(p) * 2; }}
void _start(void) {{ caller((volatile int *)0); for (;;); }}
"""


@pytest.fixture
def vmlinux(tmp_path) -> Path:
    if shutil.which("gcc") is None or shutil.which("nm") is None:
        pytest.skip("gcc and binutils are needed to build the test vmlinux")
    src = tmp_path / "kernel.c"
    src.write_text(SOURCE)
    out = tmp_path / "vmlinux"
    subprocess.run(["gcc", "-g", "-O2", "-nostdlib", "-static", "-fno-stack-protector", "-Wl,--build-id",
                    str(src), "-o", str(out)], check=True)
    return out


@pytest.fixture
def eager_tasks():
    """Run .delay() inline: the real tasks, in this process, so a test sees their rows."""
    from workers.celery_app import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def fixture_log(name: str) -> bytes:
    return (FIXTURES / "logs" / name).read_bytes()


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test when the shared corpora are not beside the project."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not here (the shared corpora live beside the project root)")
    return path


@pytest.fixture(autouse=True)
def _storage(settings, tmp_path):
    """Every test stores uploads in its own folder, and caches builds in its own folder."""
    settings.MEDIA_ROOT = tmp_path / "storage"
    settings.TRIAGE_CACHE_DIR = tmp_path / "buildcache"


@pytest.fixture
def anon_client():
    """A browser that has not logged in."""
    from django.test import Client

    return Client()


@pytest.fixture
def client(db):
    """A browser logged in as a plain user ("reader"): the instance is private by default, so every
    page needs a login (tests of what anonymous visitors get use `anon_client`)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    browser = Client()
    browser.force_login(get_user_model().objects.get_or_create(username="reader")[0])
    return browser


@pytest.fixture(autouse=True)
def _fresh_suggestions():
    """List filters cache the values they suggest per process: each test sees its own rows."""
    from triage.listing import forget_cached

    forget_cached()


@pytest.fixture(autouse=True)
def _own_cache(settings, tmp_path):
    """Pages keep counts in the shared cache (a cluster's groups): each test has a cache of its own."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": str(tmp_path)}}
