"""`triage compare` finds and reads logs: compressed logs, lkp result directories, decompression limits."""

from __future__ import annotations

import gzip
import lzma
from pathlib import Path

import pytest

from workers.cli import main
from workers.commands.compare import collect_logs, read_log

PANIC = b"[   17.1] Kernel panic - not syncing: Fatal exception\n"
CLEAN = b"[    1.0] Run /init as init process\n"


def _lkp_result_dir(folder: Path, console: bytes) -> Path:
    folder.mkdir(parents=True)
    (folder / "dmesg.xz").write_bytes(lzma.compress(console))
    (folder / "kmsg.xz").write_bytes(lzma.compress(b"<3>[ 1.0] some error\n"))
    (folder / "meminfo.gz").write_bytes(gzip.compress(b"MemFree: 1\n"))
    for name in ("job.sh", "job.yaml", "stderr", "stdout", "time"):
        (folder / name).write_text("x\n")
    return folder


def test_lkp_result_directory_is_one_run_read_from_its_compressed_console_log(tmp_path, capsys):
    base = tmp_path / "base"
    for i in range(2):
        _lkp_result_dir(base / str(i), CLEAN)
    target = tmp_path / "target"
    _lkp_result_dir(target / "0", PANIC)
    _lkp_result_dir(target / "1", CLEAN)
    assert collect_logs([str(target)]) == ([target / "0" / "dmesg.xz", target / "1" / "dmesg.xz"], [])
    status = main(["compare", "--base", str(base), "--target", str(target),
                   "--base-name", "a", "--target-name", "b"])
    out = capsys.readouterr().out
    assert status == 0
    assert "1:2" in out and "dmesg.Kernel_panic-not_syncing:Fatal_exception" in out


def test_gz_and_xz_logs_are_read_and_non_logs_skipped(tmp_path):
    (tmp_path / "a.log.gz").write_bytes(gzip.compress(PANIC))
    (tmp_path / "b.log.xz").write_bytes(lzma.compress(PANIC))
    (tmp_path / "stats.json.gz").write_bytes(gzip.compress(b"{}"))
    (tmp_path / "reproduce.sh").write_text("true\n")
    logs, errors = collect_logs([str(tmp_path)])
    assert (logs, errors) == ([tmp_path / "a.log.gz", tmp_path / "b.log.xz"], [])
    assert [read_log(p) for p in logs] == [PANIC, PANIC]


def test_truncated_archive_gives_what_it_held(tmp_path):
    path = tmp_path / "dmesg.xz"
    text = b"".join(b"[ %d.0] line %d\n" % (i, i) for i in range(20000))
    path.write_bytes(lzma.compress(text)[:-100])
    data = read_log(path)
    assert data and text.startswith(data)


def test_decompression_bomb_and_corrupt_archives_are_clear_errors(tmp_path):
    bomb = tmp_path / "dmesg.gz"
    bomb.write_bytes(gzip.compress(b"\0" * 1_000_000))
    with pytest.raises(ValueError, match="larger than 1000 bytes once decompressed"):
        read_log(bomb, limit=1000)
    junk = tmp_path / "junk.xz"
    junk.write_bytes(b"not xz at all")
    with pytest.raises(ValueError, match="not a valid xz file"):
        read_log(junk)


def test_corrupt_log_is_reported_and_the_others_still_compared(tmp_path, capsys):
    (tmp_path / "junk.log.gz").write_bytes(b"garbage")
    (tmp_path / "ok.log").write_bytes(PANIC)
    status = main(["compare", "--base", str(tmp_path), "--target", str(tmp_path / "ok.log")])
    assert status == 1
    assert "junk.log.gz: not a valid gz file" in capsys.readouterr().err
