"""Files through Django's default storage: the local folder (MEDIA_ROOT) or S3-compatible object storage.

Rows name files relative to the storage (Log.raw, BuildFile.path, Build.index_dir + "/index"), so a
worker on another machine reads what the web stored. Files move in 1 MiB chunks (or boto3's multipart
transfers) both ways, never whole in memory. When the storage is a local folder, files are linked in
and out instead of copied.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

CHUNK = 1 << 20


def local_path(name: str) -> Path | None:
    """The file's path when the storage is a local folder, else None."""
    try:
        return Path(default_storage.path(name))
    except NotImplementedError:
        return None


def spool_dir() -> Path:
    """A local folder for uploads on their way to storage: inside the storage folder when it is local
    (moving in is then a link), else the system's temporary folder."""
    path = local_path("tmp") or Path(settings.FILE_UPLOAD_TEMP_DIR or tempfile.gettempdir()) / "triage-spool"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _link_or_copy(source: Path, dest: Path) -> None:
    try:
        os.link(source, dest)
    except OSError:  # another filesystem
        shutil.copyfile(source, dest)


def put_file(name: str, source: Path) -> str:
    """Store the local file `source` as `name`, replacing any file of that name; the name stored."""
    path = local_path(name)
    if path is None:
        with open(source, "rb") as f:
            return default_storage.save(name, File(f, name=name))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        _link_or_copy(source, tmp)
        os.replace(tmp, path)  # readers see the old file or the new one, never half of one
    finally:
        tmp.unlink(missing_ok=True)
    return name


def get_file(name: str, dest: Path) -> None:
    """Copy the stored `name` to the local path `dest` (all of it or nothing). FileNotFoundError if absent."""
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
    try:
        path = local_path(name)
        if path is not None:
            _link_or_copy(path, tmp)
        else:
            with default_storage.open(name, "rb") as stored:
                obj = getattr(stored, "obj", None)  # django-storages' S3File: boto3 streams it to disk
                if obj is not None:
                    obj.download_file(str(tmp), Config=getattr(default_storage, "transfer_config", None))
                else:
                    with open(tmp, "wb") as out:
                        shutil.copyfileobj(stored, out, CHUNK)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def walk(prefix: str) -> Iterator[str]:
    """Names of the files under the stored folder `prefix`, at any depth."""
    try:
        folders, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{prefix}/{name}"
    for folder in folders:
        yield from walk(f"{prefix}/{folder}")


def put_dir(prefix: str, source: Path, last: str = "meta.json") -> None:
    """Store the local folder `source` under `prefix`, the file `last` after all others: a reader that
    finds it finds the whole folder."""
    files = sorted((p for p in source.rglob("*") if p.is_file()), key=lambda p: p.name == last)
    for path in files:
        put_file(f"{prefix}/{path.relative_to(source).as_posix()}", path)


def get_dir(prefix: str, dest: Path) -> None:
    """Copy the stored folder `prefix` to the new local folder `dest`."""
    dest.mkdir(parents=True)
    for name in walk(prefix):
        target = dest / name[len(prefix) + 1:]
        target.parent.mkdir(parents=True, exist_ok=True)
        get_file(name, target)


def delete_tree(prefix: str) -> None:
    """Remove every stored file under `prefix` (a local folder is removed too)."""
    path = local_path(prefix)
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)
        return
    for name in list(walk(prefix)):
        with contextlib.suppress(FileNotFoundError):
            default_storage.delete(name)


def iter_chunks(name: str) -> Iterator[bytes]:
    with default_storage.open(name, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def read_bytes(name: str) -> bytes:
    with default_storage.open(name, "rb") as f:
        return f.read()
