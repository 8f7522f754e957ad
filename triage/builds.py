"""Storing kernel builds (a vmlinux, module .ko files or a tarball of them) and queueing their index.

Files are streamed to a local spool folder (never held in memory whole), checked, then stored under
the build's own folder in storage (triage.storage: local or object storage); what the files are
(build-id, release, arch) is read by the indexing task, since a compressed vmlinux must be
decompressed first and that can take a while.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction

from triage import storage
from triage.ingest import RejectedUpload
from triage.models import Build, BuildFile
from triage.queueing import Queued, queue

ELF = b"\x7fELF"
COMPRESSED = {b"\xfd7zXZ\x00": ".xz", b"\x1f\x8b": ".gz", b"\x28\xb5\x2f\xfd": ".zst"}
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2")
BUILD_METADATA = ("tree", "branch", "commit", "config")


class Budget:
    """The bytes an upload may still write before it passes TRIAGE_MAX_BUILD_BYTES."""

    def __init__(self) -> None:
        self.left = settings.TRIAGE_MAX_BUILD_BYTES

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            limit = settings.TRIAGE_MAX_BUILD_BYTES // (1024 * 1024)
            raise RejectedUpload(f"the build is larger than the limit of {limit} MiB")


def write_stream(chunks: Iterable[bytes], dest: Path, budget: Budget) -> bytes:
    """Write chunks to dest; return the first bytes (to tell what the file is)."""
    head = b""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "wb") as out:
        for chunk in chunks:
            budget.spend(len(chunk))
            if len(head) < 16:
                head += chunk[:16]
            out.write(chunk)
    return head


def kind_of(head: bytes) -> str | None:
    """'.elf', '.xz', '.gz', '.zst' or None for anything else."""
    if head.startswith(ELF):
        return ".elf"
    return next((suffix for magic, suffix in COMPRESSED.items() if head.startswith(magic)), None)


MAX_TAR_MEMBERS = 100_000  # a modules folder of an allmodconfig kernel holds ~10,000 files


def extract_modules(tar_path: Path, modules_dir: Path, budget: Budget) -> list[Path]:
    """The .ko files of a modules tarball, flattened into modules_dir (no path from the archive is trusted).

    Every member counts against the upload's budget (skipping one still decompresses it), and the
    member list is not kept, so a hostile tarball costs bounded time, disk and memory."""
    found = []
    try:
        with tarfile.open(tar_path, "r:*") as tar:
            for count, member in enumerate(tar):
                tar.members = []  # tarfile remembers every header otherwise
                if count > MAX_TAR_MEMBERS:
                    raise RejectedUpload(f"{tar_path.name}: more than {MAX_TAR_MEMBERS} files in the tarball")
                budget.spend(member.size)
                name = os.path.basename(member.name)
                if not member.isfile() or ".ko" not in name:
                    continue
                source = tar.extractfile(member)
                if source is None:
                    continue
                dest = modules_dir / name
                if dest.exists():
                    raise RejectedUpload(f"{tar_path.name}: two modules named {name}")
                with source, open(dest, "wb") as out:
                    head = source.read(16)
                    if kind_of(head) is None:  # as a direct upload: an ELF file or a compressed one
                        raise RejectedUpload(f"{tar_path.name}: {name} is not a kernel module (not ELF nor "
                                             ".xz/.gz/.zst)")
                    out.write(head)
                    shutil.copyfileobj(source, out, 1 << 20)
                found.append(dest)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise RejectedUpload(f"{tar_path.name}: not a readable tarball ({exc})") from exc
    return found


def extract_tarballs(build: Build) -> int:
    """The index task's first step: the modules of the build's tarballs, checked member by member (ELF
    or compressed magic, sizes against one decompressed total, TRIAGE_MAX_BUILD_BYTES), stored as
    modules. A refused tarball keeps nothing: neither its modules nor itself. Returns modules added."""
    tarballs = list(build.files.filter(kind=BuildFile.Kind.TARBALL))
    if not tarballs:
        return 0
    root = Path(tempfile.mkdtemp(prefix="tar-", dir=storage.spool_dir()))
    added: list[BuildFile] = []
    try:
        budget = Budget()
        modules_dir = root / "modules"
        modules_dir.mkdir()
        taken = set(build.files.filter(kind=BuildFile.Kind.MODULE).values_list("name", flat=True))
        for tarball in tarballs:
            local = root / tarball.name
            storage.get_file(tarball.path, local)
            for ko in extract_modules(local, modules_dir, budget):
                if ko.name in taken:
                    raise RejectedUpload(f"{tarball.name}: two modules named {ko.name}")
                taken.add(ko.name)
                path = f"{build.index_dir}/modules/{ko.name}"
                storage.put_file(path, ko)
                added.append(BuildFile(build=build, kind=BuildFile.Kind.MODULE, name=ko.name, path=path,
                                       size=ko.stat().st_size, sha256=""))
            local.unlink()
        with transaction.atomic():
            BuildFile.objects.bulk_create(added)
            BuildFile.objects.filter(pk__in=[t.pk for t in tarballs]).delete()
        for tarball in tarballs:  # its modules are stored one by one now
            default_storage.delete(tarball.path)
    except BaseException as exc:
        for f in added:
            default_storage.delete(f.path)
        if isinstance(exc, RejectedUpload):  # refused: nothing kept of it (a transient error keeps it)
            for tarball in tarballs:
                default_storage.delete(tarball.path)
            BuildFile.objects.filter(pk__in=[t.pk for t in tarballs]).delete()
        raise
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return len(added)


def store_build(vmlinux, modules: list, metadata: dict[str, str]) -> Build:
    """Store uploaded build files (Django UploadedFile objects) and queue the indexing task."""
    if vmlinux is None and not modules:
        raise RejectedUpload("no files: send a vmlinux and/or module .ko files (or a tarball of them)")
    folder = f"builds/{uuid.uuid4().hex}"
    root = Path(tempfile.mkdtemp(prefix="build-", dir=storage.spool_dir()))
    budget = Budget()
    files: list[BuildFile] = []
    stored = False
    try:
        if vmlinux is not None:
            name = Path(vmlinux.name).name or "vmlinux"
            part = root / "upload" / "vmlinux.part"
            kind = kind_of(write_stream(vmlinux.chunks(), part, budget))
            if kind is None:
                raise RejectedUpload(f"{name}: not an ELF file nor a .xz/.gz/.zst compressed one")
            # Named for what the bytes are, whatever the uploader called it: decompression goes by it.
            plain = "vmlinux" if kind == ".elf" else f"vmlinux{kind}"
            part.rename(root / "upload" / plain)
            files.append(BuildFile(kind=BuildFile.Kind.VMLINUX, name=name, path=f"{folder}/upload/{plain}",
                                   size=(root / "upload" / plain).stat().st_size))
        modules_dir = root / "modules"
        for upload in modules:
            name = Path(upload.name).name
            dest = modules_dir / name
            if dest.exists():
                raise RejectedUpload(f"two modules named {name}")
            head = write_stream(upload.chunks(), dest, budget)
            if name.endswith(TAR_SUFFIXES):  # checked and extracted by the index task, not here
                files.append(BuildFile(kind=BuildFile.Kind.TARBALL, name=name, path=f"{folder}/modules/{name}",
                                       size=dest.stat().st_size))
                continue
            if ".ko" not in name or kind_of(head) is None:
                raise RejectedUpload(f"{name}: not a kernel module (.ko, .ko.xz, .ko.gz, .ko.zst) nor a tarball")
            files.append(BuildFile(kind=BuildFile.Kind.MODULE, name=name, path=f"{folder}/modules/{name}",
                                   size=dest.stat().st_size))
        stored = True
        for f in files:  # into storage before any row names them
            storage.put_file(f.path, root / f.path.removeprefix(folder + "/"))
        with transaction.atomic():
            work = vmlinux is not None or any(f.kind == BuildFile.Kind.TARBALL for f in files)
            build = Build.objects.create(index_status=Build.Index.QUEUED if work else Build.Index.NONE,
                                         index_dir=folder, **{k: str(metadata.get(k) or "")[: Build._meta.get_field(k).max_length]
                                                              for k in BUILD_METADATA})
            for f in files:
                f.build = build
            BuildFile.objects.bulk_create(files)
    except BaseException:
        if stored:
            storage.delete_tree(folder)
        raise
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if work:
        queue_index(build)
    return build


def queue_index(build: Build) -> Queued:
    """Queue (again) the indexing of a build: the upload, the re-index action, the sweeper's re-send."""
    from workers.tasks import index_build

    return queue(build, index_build, index_progress=0, index_error="", attempts=0)


def reindex_refusal(build: Build) -> str | None:
    """Why the build cannot be indexed again now, or None."""
    if build.index_status in (Build.Index.QUEUED, Build.Index.BUILDING):
        return f"this build is already {build.get_index_status_display()}"
    if not build.files.exists():
        return "this build has no files to index"
    return None



def known_build(buildid: str, upload: Build) -> Build | None:
    """The first build of this build-id with a vmlinux, other than `upload` (None when it is new)."""
    return (Build.objects.filter(buildid=buildid, files__kind=BuildFile.Kind.VMLINUX).exclude(pk=upload.pk)
            .order_by("pk").first())


def add_to_known(upload: Build, known: Build) -> list[str]:
    """Fold an upload of a vmlinux we already have into that build: the modules it lacks are copied
    to it (the ones it has are kept, whatever the upload brings), its empty metadata fields filled;
    the upload keeps no file and says where it went. Returns the modules added."""
    have = set(known.files.filter(kind=BuildFile.Kind.MODULE).values_list("name", flat=True))
    added: list[BuildFile] = []
    work = Path(tempfile.mkdtemp(prefix="merge-", dir=storage.spool_dir()))
    try:
        for f in upload.files.filter(kind=BuildFile.Kind.MODULE).exclude(name__in=have).order_by("name"):
            storage.get_file(f.path, work / f.name)
            path = storage.put_file(f"{known.index_dir}/modules/{f.name}", work / f.name)
            added.append(BuildFile(build=known, kind=f.kind, name=f.name, path=path, size=f.size,
                                   sha256=f.sha256, buildid=f.buildid))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    names = [f.name for f in added]
    kept = len(have)
    note = (f"this vmlinux (build-id {known.buildid}) is already build {known.pk}: the upload was added to it "
            f"({kept} module{'s' * (kept != 1)} kept" + (f", added {', '.join(names)}" if names else "")
            + "); its vmlinux is not stored twice")
    with transaction.atomic():
        BuildFile.objects.bulk_create(added, ignore_conflicts=True)  # a concurrent merge added it: one row
        blank = {k: getattr(upload, k) for k in BUILD_METADATA if getattr(upload, k) and not getattr(known, k)}
        if blank:
            Build.objects.filter(pk=known.pk).update(**blank)
        upload.files.all().delete()
        Build.objects.filter(pk=upload.pk).update(index_status=Build.Index.NONE, index_progress=0, index_error=note)
    storage.delete_tree(upload.index_dir)
    if known.index_status in (Build.Index.FAILED, Build.Index.NONE):  # this upload is a second chance for it
        queue_index(known)
    return names
