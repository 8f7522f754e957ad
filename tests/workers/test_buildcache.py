"""The per-worker cache: filled once per key across processes, LRU eviction past its byte limit,
never evicting an entry in use."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

from workers.buildcache import BuildCache

MIB = 1024 * 1024


def write(size: int):
    def fill(dest: Path) -> None:
        with open(dest, "wb") as f:
            f.write(os.urandom(size))  # random: no sparse file, the blocks are really used
    return fill


def test_a_miss_fills_the_entry_and_a_hit_reuses_it(tmp_path):
    cache = BuildCache(tmp_path, 10 * MIB)
    calls = []

    def fill(dest: Path) -> None:
        calls.append(dest)
        dest.mkdir()
        (dest / "meta.json").write_text("{}")

    with cache.entry("abc.index", fill) as path:
        assert (path / "meta.json").read_text() == "{}"
    with cache.entry("abc.index", fill) as again:
        assert again == path
    assert len(calls) == 1
    assert not list((tmp_path / "tmp").iterdir())  # nothing half-made left behind


def test_a_cache_over_its_limit_evicts_the_least_recently_used(tmp_path):
    cache = BuildCache(tmp_path, 3 * MIB)
    for key in ("a", "b", "c"):
        with cache.entry(key, write(MIB)):
            pass
        time.sleep(0.02)  # distinct last-use times
    with cache.entry("a", write(MIB)):  # a is used again: b is now the oldest
        pass
    with cache.entry("d", write(MIB)):
        pass
    assert sorted(e.key for e in cache.entries()) == ["a", "c", "d"]
    assert cache.usage() <= 3 * MIB + 64 * 1024


def test_an_entry_in_use_is_not_evicted(tmp_path):
    cache = BuildCache(tmp_path, 1 * MIB)
    with cache.entry("busy", write(MIB)) as busy:
        with cache.entry("new", write(MIB)):
            pass
        assert busy.exists()  # the over-limit cache evicted "new"'s neighbour only when free
    with cache.entry("later", write(MIB)):
        pass
    assert not cache.path("busy").exists()  # released, then the oldest: gone


def test_a_failed_fill_leaves_no_entry(tmp_path):
    cache = BuildCache(tmp_path, MIB)

    def broken(dest: Path) -> None:
        dest.write_bytes(b"half")
        raise OSError("download cut")

    try:
        with cache.entry("x", broken):
            raise AssertionError("no entry expected")
    except OSError:
        pass
    assert not cache.path("x").exists() and not list((tmp_path / "tmp").iterdir())


def _fill_slowly(root: str, out: str) -> None:
    cache = BuildCache(root, 100 * MIB)

    def fill(dest: Path) -> None:
        with open(out, "a") as f:
            f.write(f"{os.getpid()}\n")
        time.sleep(0.5)
        dest.write_bytes(b"vmlinux")

    with cache.entry("same.vmlinux", fill) as path:
        assert path.read_bytes() == b"vmlinux"


def test_two_processes_that_miss_the_same_key_fill_it_once(tmp_path):
    out = tmp_path / "fills"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_fill_slowly, args=(str(tmp_path / "cache"), str(out))) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0]
    assert len(out.read_text().split()) == 1
