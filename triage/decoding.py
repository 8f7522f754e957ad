"""Indexing builds and decoding crashes with them: the database side of workers.symbolize."""

from __future__ import annotations

import contextlib
import os
import resource
import time
from collections import OrderedDict
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from triage.builds import build_root
from triage.ingest import read_raw
from triage.models import Build, BuildFile, Crash, Log
from triage.queueing import send_on_commit
from triage.search import crash_search_text
from workers.codedecode import decode_code_line
from workers.report import log_lines
from workers.symbolize import Index, Symbolizer, build_index, decode_frames, identify, store_dir_for
from workers.symbolize.elffile import uncompressed
from workers.symbolize.lazy import LazyIndex

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


def index(build: Build) -> None:
    """Decompress the vmlinux, read its identity, build its index; progress is saved for the UI."""
    root = build_root(build)
    upload = build.files.filter(kind=BuildFile.Kind.VMLINUX).first()
    if upload is None:
        raise ValueError("this build has no vmlinux")
    source = Path(settings.MEDIA_ROOT) / upload.path
    vmlinux = root / "vmlinux"
    if not vmlinux.exists():
        with uncompressed(source, tmpdir=str(root)) as path:
            os.replace(path, vmlinux) if path != source else os.link(source, vmlinux)
    ident = identify(vmlinux)
    Build.objects.filter(pk=build.pk).update(buildid=ident.build_id or "", release=ident.release or "",
                                             arch=ident.arch or "")
    # Crashes waiting for this build need not wait for the whole index: they are decoded now from the
    # compile units they touch (a lazy index, a second or two), and again once the index is ready.
    build.refresh_from_db()
    with transaction.atomic():
        queue_waiting_crashes(build)
    if source.exists() and source != vmlinux:  # keep one copy: the uncompressed one the index reads
        source.unlink()
        BuildFile.objects.filter(pk=upload.pk).update(path=str(vmlinux.relative_to(settings.MEDIA_ROOT)),
                                                      size=vmlinux.stat().st_size)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] > 1.0 and total:
            last[0] = now
            Build.objects.filter(pk=build.pk).update(index_progress=min(99, 100 * done // total))

    with memory_limit(settings.TRIAGE_INDEX_MEMORY_LIMIT):
        build_index(vmlinux, root / "index", progress)
    Build.objects.filter(pk=build.pk).update(index_status=Build.Index.READY, index_progress=100, index_error="")


def logs_of(build: Build):
    """Logs this build ran: by build-id when the log shows one, else by release string."""
    by_release = Q(release=build.release) & (Q(buildid="") | Q(buildid=build.buildid)) if build.release else Q(pk=None)
    by_id = Q(buildid=build.buildid) if build.buildid else Q(pk=None)
    return Log.objects.filter(by_id | by_release)


def queue_waiting_crashes(build: Build) -> int:
    """Point the logs of a newly indexed build at it and queue the decoding of their crashes."""
    from workers.tasks import decode_log

    logs = list(logs_of(build).filter(crash_count__gt=0).values_list("pk", flat=True))
    Log.objects.filter(pk__in=logs).update(build=build)
    Crash.objects.filter(log__in=logs).update(decode_status=Crash.Decode.QUEUED, decode_error="")
    for pk in logs:
        send_on_commit(decode_log, pk)
    return len(logs)


def symbolizer_for(build: Build) -> Symbolizer | None:
    """The build's symbolizer: its index when ready; while the index builds, a lazy one that reads
    only the compile units asked for; None when there is nothing to read yet."""
    root = build_root(build)
    modules = {"modules_dir": root / "modules", "cache_dir": root / "cache"}
    if build.index_status == Build.Index.READY:
        key = str(root / "index")  # the index's path: what the cached answers were read from
        if key in _SYMBOLIZERS:
            _SYMBOLIZERS.move_to_end(key)
            return _SYMBOLIZERS[key]
        symbolizer = Symbolizer(Index(root / "index"), **modules)
        _SYMBOLIZERS[key] = symbolizer
        while len(_SYMBOLIZERS) > 4:
            _SYMBOLIZERS.popitem(last=False)
        return symbolizer
    if build.index_status == Build.Index.BUILDING and (root / "vmlinux").exists():
        # the CUs it reads are kept beside the index: the build running meanwhile takes them from there
        return Symbolizer(LazyIndex(root / "vmlinux", store_dir_for(root / "index")), **modules)
    return None


def decode(log: Log) -> int:
    """Symbolize every crash of a log with its build; returns how many crashes were decoded."""
    build = log.build
    with memory_limit(settings.TRIAGE_INDEX_MEMORY_LIMIT):  # module indexes are built here
        return _decode(log, build)


def _decode(log: Log, build: Build | None) -> int:
    symbolizer = symbolizer_for(build) if build else None
    if symbolizer is None:
        log.crashes.update(decode_status=Crash.Decode.WAITING)
        return 0
    # Cached per process: forget modules that failed for an earlier log (the file may be there now)
    # and the errors said then, so each crash reports only its own.
    symbolizer.errors.clear()
    symbolizer._modules = {name: ix for name, ix in symbolizer._modules.items() if ix is not None}
    lines = log_lines(read_raw(log).decode("utf-8", "replace"))
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
        crash.decoded = {"text": "\n".join(out), "frames": [f.to_dict() for f in mine], "mismatch": mismatched,
                         "errors": dict(symbolizer.errors), "lazy": isinstance(symbolizer.index, LazyIndex)}
        crash.decode_status, crash.decode_error = Crash.Decode.DONE, ""
        crash.search_text = crash_search_text(crash.report, crash.decoded)
    Crash.objects.bulk_update(crashes, ["decoded", "decode_status", "decode_error", "search_text"])
    return len(crashes)
