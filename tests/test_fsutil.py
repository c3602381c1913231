"""Atomic writes and run-folder locks (lpzero_sr.fsutil)."""

from __future__ import annotations

import errno
import multiprocessing
import os
from pathlib import Path

import pytest

from lpzero_sr import fsutil
from lpzero_sr.fsutil import FileWriteError, LockError, atomic_write_text, run_lock


def test_atomic_write_replaces_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "proxy.json"
    atomic_write_text(target, "old\n")
    atomic_write_text(target, "new\n")
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["proxy.json"]


def test_a_full_disk_keeps_the_old_file_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "proxy.json"
    target.write_text("old\n")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fsutil.os, "fsync", full)
    with pytest.raises(FileWriteError, match=r"cannot write .*proxy.json: no space left on the device"):
        atomic_write_text(target, "new\n")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proxy.json"]


def _try_lock(folder: str, queue: multiprocessing.Queue) -> None:
    try:
        with run_lock(folder):
            queue.put("got it")
    except LockError as exc:
        queue.put(str(exc))


def test_a_nested_lock_of_a_held_folder_is_the_same_holder(tmp_path: Path) -> None:
    with run_lock(tmp_path / "run"), run_lock(tmp_path / "run" / ".." / "run"):
        pass
    with run_lock(tmp_path / "run"):  # released: it can be taken again
        pass


def test_a_second_process_is_refused_with_the_holders_name(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    with run_lock(tmp_path / "run", "fit"):
        proc = ctx.Process(target=_try_lock, args=(str(tmp_path / "run"), queue))
        proc.start()
        proc.join(30)
        message = queue.get(timeout=5)
    assert message.startswith(f"{tmp_path / 'run'} is in use by pid {os.getpid()} on ")
    assert message.endswith("; wait for that run to end or choose another folder")
    proc = ctx.Process(target=_try_lock, args=(str(tmp_path / "run"), queue))
    proc.start()
    proc.join(30)
    assert queue.get(timeout=5) == "got it"  # released on exit
