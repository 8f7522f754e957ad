"""Indexing builds and decoding crashes with them: the database side of workers.symbolize.

A worker may run on any machine: it reads the build's files from storage (triage.storage) into its
local cache (workers.buildcache, keyed by build-id), builds the index there once, and stores the index
beside the build in storage, so the next worker downloads it instead of building it again.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import resource
import shutil
import tempfile
import time
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Q

from triage import storage, subsystems
from triage.analysis import without_nul
from triage.builds import add_to_known, known_build
from triage.cluster_counts import runs_changed
from triage.decode_queue import queue_decodes
from triage.ingest import read_raw
from triage.models import Build, BuildFile, Crash, Log
from triage.search import crash_search_text
from workers.buildcache import BuildCache
from workers.codedecode import decode_code_line
from workers.report import log_lines
from workers.symbolize import Index, Symbolizer, build_index, decode_frames, identify
from workers.symbolize.elffile import uncompressed
from workers.symbolize.index import FORMAT_VERSION, current_index
from workers.symbolize.lazy import LazyIndex
from workers.symbolize.modules import module_name

logger = logging.getLogger(__name__)
COMPRESSED_SUFFIXES = (".xz", ".gz", ".zst")  # triage.builds names a stored vmlinux for its format
_SYMBOLIZERS: OrderedDict[str, Symbolizer] = OrderedDict()  # per worker process, a few builds warm


@contextlib.contextmanager
def memory_limit(limit: int):
    """Cap this process's address space for the duration (restored after): MemoryError past it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    capped = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (capped, hard))
    try:
        yield
    except MemoryError:
        raise MemoryError(f"indexing needed more than the memory limit of {limit // 1024 ** 2} MiB "
                          "(TRIAGE_INDEX_MEMORY_LIMIT): a damaged or crafted file?") from None
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def build_cache() -> BuildCache:
    """This worker's local cache (TRIAGE_CACHE_DIR, at most TRIAGE_CACHE_BYTES)."""
    return BuildCache(settings.TRIAGE_CACHE_DIR, settings.TRIAGE_CACHE_BYTES)


def _ident(build: Build) -> str:
    return build.buildid or f"build{build.pk}"  # a vmlinux without a build-id is known by its upload


def vmlinux_key(build: Build) -> str:
    return f"{_ident(build)}.vmlinux"


def index_key(build: Build) -> str:
    return f"{_ident(build)}.index{FORMAT_VERSION}"  # an index of another format is another entry


def stored_index(build: Build) -> str:
    """Where the build's index is kept in storage: by build-id, so that a vmlinux uploaded twice (two
    builds) is indexed once; beside the build when it has none."""
    return f"indexes/{index_key(build)}" if build.buildid else f"{build.index_dir}/index"


def _vmlinux_file(build: Build) -> BuildFile:
    upload = build.files.filter(kind=BuildFile.Kind.VMLINUX).first()
    if upload is None:
        raise ValueError("this build has no vmlinux")
    return upload


def _fetch_vmlinux(upload: BuildFile, dest: Path) -> None:
    """Download the stored vmlinux to `dest`, decompressed."""
    download = dest.with_name("download" + "".join(Path(upload.path).suffixes))
    storage.get_file(upload.path, download)
    with uncompressed(download, tmpdir=str(dest.parent)) as plain:
        os.replace(plain, dest)


def _fetch_current_vmlinux(build: Build, dest: Path) -> None:
    try:
        _fetch_vmlinux(_vmlinux_file(build), dest)
    except FileNotFoundError:  # another worker just replaced the compressed upload (see index())
        _fetch_vmlinux(_vmlinux_file(build), dest)


@contextlib.contextmanager
def vmlinux_entry(build: Build) -> Iterator[Path]:
    """The build's decompressed vmlinux in the local cache (fetched on a miss)."""
    with build_cache().entry(vmlinux_key(build), lambda dest: _fetch_current_vmlinux(build, dest)) as path:
        yield path


INDEX_LOCK_SPACE = 0x696478  # advisory lock namespace "idx"; see triage.clusters for the clusters' one


@contextlib.contextmanager
def index_lock(build: Build) -> Iterator[None]:
    """One index build per build-id at a time on all machines (see named_lock)."""
    with named_lock(index_key(build)):
        yield


@contextlib.contextmanager
def named_lock(key: str) -> Iterator[None]:
    """A lock over all machines: PostgreSQL's session advisory lock (released if the worker dies, with
    its connection); with SQLite (one machine) a file lock."""
    if connection.vendor == "postgresql":
        number = zlib.crc32(key.encode()) & 0x7FFFFFFF
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [INDEX_LOCK_SPACE, number])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [INDEX_LOCK_SPACE, number])
        return
    folder = Path(settings.VAR_DIR) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{key}.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _make_index(build: Build, dest: Path, progress=None) -> None:
    """The build's index at `dest`: downloaded from storage when a worker stored one, else built
    from the vmlinux and stored for the others. Two workers that get here at once build it once."""
    with index_lock(build):
        name = stored_index(build)
        for stored in dict.fromkeys([name, f"{build.index_dir}/index"]):  # the second: where indexes were
            if default_storage.exists(f"{stored}/meta.json"):
                storage.get_dir(stored, dest)
                if current_index(dest) is not None:
                    logger.info("build %s: index %s downloaded from storage", build.pk, index_key(build))
                    return
                shutil.rmtree(dest)  # of an older format: build it again
        started = time.monotonic()
        with vmlinux_entry(build) as vmlinux, memory_limit(settings.TRIAGE_INDEX_MEMORY_LIMIT):
            build_index(vmlinux, dest, progress)
        storage.put_dir(name, dest)
        logger.info("build %s: index %s built in %.1f s and stored", build.pk, index_key(build),
                    time.monotonic() - started)


@contextlib.contextmanager
def index_entry(build: Build, progress=None) -> Iterator[Path]:
    """The build's index folder in the local cache (downloaded, or built, on a miss)."""
    with build_cache().entry(index_key(build), lambda dest: _make_index(build, dest, progress)) as path:
        yield path


def index(build: Build) -> Build | None:
    """Decompress the vmlinux, read its identity, build its index; progress is saved for the UI.
    Returns the build this upload was added to when its build-id is one we have (see add_to_known)."""
    upload = _vmlinux_file(build)
    if not build.buildid:
        cache = build_cache()
        work = Path(tempfile.mkdtemp(prefix="identify-", dir=cache.root / "tmp"))
        try:
            _fetch_current_vmlinux(build, work / "vmlinux")
            ident = identify(work / "vmlinux")
            # The build-id of a build we have: this upload adds its modules to that build instead of
            # becoming a second build without them (logs would move to it and lose their module frames).
            # Under a lock: two uploads of one new vmlinux at once make one build, not two.
            with named_lock(f"identify:{ident.build_id}") if ident.build_id else contextlib.nullcontext():
                known = known_build(ident.build_id, build) if ident.build_id else None
                if known is None:
                    Build.objects.filter(pk=build.pk).update(buildid=ident.build_id or "", release=ident.release or "",
                                                             arch=ident.arch or "")
            if known is not None:
                if add_to_known(build, known):
                    with transaction.atomic():
                        queue_waiting_crashes(known)  # decoded again: with the new modules, never fewer
                return known
            build.refresh_from_db()
            cache.adopt(vmlinux_key(build), work / "vmlinux")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if Path(upload.path).suffix in COMPRESSED_SUFFIXES:  # keep one copy in storage: the decompressed one every reader uses
        with vmlinux_entry(build) as vmlinux:
            plain = storage.put_file(f"{build.index_dir}/vmlinux", vmlinux)
            size = vmlinux.stat().st_size
        BuildFile.objects.filter(pk=upload.pk).update(path=plain, size=size)
        with contextlib.suppress(FileNotFoundError):
            default_storage.delete(upload.path)
    # Crashes waiting for this build need not wait for the whole index: they are decoded now from the
    # compile units they touch (a lazy index, a second or two), and again once the index is ready.
    with transaction.atomic():
        queue_waiting_crashes(build)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] > 1.0 and total:
            last[0] = now
            Build.objects.filter(pk=build.pk).update(index_progress=min(99, 100 * done // total))

    with index_entry(build, progress):
        pass
    Build.objects.filter(pk=build.pk).update(index_status=Build.Index.READY, index_progress=100, index_error="")
    return None


def logs_of(build: Build):
    """Logs this build ran: by build-id when the log shows one, else by release string."""
    by_release = Q(release=build.release) & (Q(buildid="") | Q(buildid=build.buildid)) if build.release else Q(pk=None)
    by_id = Q(buildid=build.buildid) if build.buildid else Q(pk=None)
    return Log.objects.filter(by_id | by_release)


def queue_waiting_crashes(build: Build) -> int:
    """Point the logs of a newly indexed build at it and queue the decoding of their crashes."""
    logs = list(logs_of(build).filter(crash_count__gt=0).values_list("pk", flat=True))
    Log.objects.filter(pk__in=logs).update(build=build)
    runs_changed(logs)
    queue_decodes(logs)
    return len(logs)


MODULE_IN_LOG = re.compile(rb"\[([\w-]+)\]")  # `func+0x1/0x2 [lkdtm]`, as frames name their module


def _fetch_modules(build: Build, raw: bytes, folder: Path) -> Path | None:
    """A local folder with the build's modules that the log names (all of them when storage is local)."""
    local = storage.local_path(f"{build.index_dir}/modules")
    if local is not None:
        return local
    named = {m.decode().replace("-", "_") for m in MODULE_IN_LOG.findall(raw)}
    ko = folder / "ko"
    ko.mkdir(exist_ok=True)
    for f in build.files.filter(kind=BuildFile.Kind.MODULE):
        if module_name(f.name) in named and not (ko / f.name).exists():
            storage.get_file(f.path, ko / f.name)
    return ko


@contextlib.contextmanager
def symbolizer_for(build: Build, raw: bytes = b"") -> Iterator[Symbolizer | None]:
    """The build's symbolizer: its index when ready; while the index builds, a lazy one that reads
    only the compile units asked for; None when there is nothing to read yet. The files it reads are
    held in the local cache until the block ends."""
    with contextlib.ExitStack() as held:
        if build.index_status == Build.Index.READY:
            path = held.enter_context(index_entry(build))
        elif build.index_status == Build.Index.BUILDING and (build.buildid or build.release):
            path = held.enter_context(vmlinux_entry(build))
        else:
            yield None
            return
        work = held.enter_context(build_cache().entry(f"build{build.pk}.modules", lambda dest: dest.mkdir()))
        modules = {"modules_dir": _fetch_modules(build, raw, work), "cache_dir": work / "cache"}
        if build.index_status != Build.Index.READY:
            # the CUs it reads are kept in this worker's cache for its next lazy decodes of the build
            store = held.enter_context(build_cache().entry(f"{_ident(build)}.cus", lambda dest: dest.mkdir()))
            yield Symbolizer(LazyIndex(path, store), **modules)
            return
        key = f"{path}:{work}"  # where the cached answers were read from
        symbolizer = _SYMBOLIZERS.get(key)
        if symbolizer is None or not (path / "meta.json").exists():
            symbolizer = Symbolizer(Index(path), **modules)
        _SYMBOLIZERS[key] = symbolizer
        _SYMBOLIZERS.move_to_end(key)
        while len(_SYMBOLIZERS) > 4:
            _SYMBOLIZERS.popitem(last=False)
        yield symbolizer


def decode(log: Log) -> int:
    """Symbolize every crash of a log with its build; returns how many crashes were decoded."""
    build = log.build
    with memory_limit(settings.TRIAGE_INDEX_MEMORY_LIMIT):  # module indexes are built here
        return _decode(log, build)


def _decode(log: Log, build: Build | None) -> int:
    if build is None:
        log.crashes.update(decode_status=Crash.Decode.WAITING)
        return 0
    raw = read_raw(log)
    with symbolizer_for(build, raw) as symbolizer:
        if symbolizer is None:
            log.crashes.update(decode_status=Crash.Decode.WAITING)
            return 0
        return _decode_with(log, raw, symbolizer)


def _decode_with(log: Log, raw: bytes, symbolizer: Symbolizer) -> int:
    # Cached per process: forget modules that failed for an earlier log (the file may be there now)
    # and the errors said then, so each crash reports only its own.
    symbolizer.errors.clear()
    symbolizer._modules = {name: ix for name, ix in symbolizer._modules.items() if ix is not None}
    lines = log_lines(raw.decode("utf-8", "replace").replace("\x00", ""))  # NUL: see analysis.without_nul
    frames = {f.line: f for f in decode_frames("\n".join(lines), symbolizer)}  # KASLR from the whole log
    crashes = list(log.crashes.all())
    for crash in crashes:
        out, mine = [], []
        for i in range(crash.start_line, min(crash.end_line + 1, len(lines))):
            frame = frames.get(i)
            out.append(frame.text if frame else lines[i])
            if frame:
                mine.append(frame)
            if "Code:" in lines[i]:
                block = decode_code_line(lines[i], symbolizer.arch)
                if block:
                    out.append(block.rstrip("\n"))
        mismatched = sorted({f.function for f in mine if f.mismatch and f.function})
        crash.decoded = without_nul({"text": "\n".join(out), "frames": [f.to_dict() for f in mine],
                                     "mismatch": mismatched, "errors": dict(symbolizer.errors),
                                     "lazy": isinstance(symbolizer.index, LazyIndex)})
        crash.decode_status, crash.decode_error = Crash.Decode.DONE, ""
        crash.search_text = crash_search_text(crash.report, crash.decoded)
    Crash.objects.bulk_update(crashes, ["decoded", "decode_status", "decode_error", "search_text"])
    subsystems.assign(crashes, log.tree, lines)  # the decoded guilty frame names its file
    return len(crashes)
