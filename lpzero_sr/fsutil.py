"""Files that survive a full disk, a crash and a second process: atomic writes and run-folder locks.

* :func:`atomic_write_bytes` / :func:`atomic_write_text` write to a temporary file in the same folder, flush and
  ``fsync`` it, then ``os.replace`` it over the target: a reader sees the old file or the new one, never half of
  one. On any error (``ENOSPC``, a read-only folder) the temporary file is removed, the old file is untouched,
  and the error is one :class:`FileWriteError` line naming the file.
* :func:`run_lock` takes an exclusive, non-blocking ``flock`` on ``<folder>/.lock`` for the life of a run and
  writes the holder (pid, host, command) into it; a second run on the same folder is refused with one
  :class:`LockError` line that names the holder. The kernel releases the lock when the process dies, so a killed
  run never blocks the next one.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from lpzero_sr.errors import LpzeroError

LOCK_NAME = ".lock"
_HELD: dict[Path, int] = {}  # folder -> pid of its holder here: a nested lock in that process is the same holder


class FileWriteError(LpzeroError):
    """A file that could not be written (full disk, read-only folder); the previous file is untouched."""


class LockError(LpzeroError):
    """A folder that another running process holds."""


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied (read-only?)"
    return exc.strerror or str(exc)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see the module docstring); creates missing parent folders."""
    path = Path(path)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise FileWriteError(f"cannot write {path}: {_reason(exc)}; the previous file, if any, is unchanged") from None
    finally:
        if tmp is not None:
            with suppress(OSError):
                os.unlink(tmp)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """:func:`atomic_write_bytes` of ``text`` in UTF-8."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def _holder(lock_file: Path) -> str:
    try:
        text = lock_file.read_text(encoding="utf-8").strip()
    except OSError:
        text = ""
    return text or "another process"


@contextmanager
def run_lock(folder: str | Path, what: str = "run") -> Iterator[Path]:
    """Hold ``folder`` exclusively while the body runs (creates the folder). Raises :class:`LockError` naming
    the holder when another live process holds it; inside this process a nested lock of a held folder (``fit
    --checkpoint`` naming its own ``--out``) holds it already."""
    folder = Path(folder)
    if _HELD.get(folder.resolve()) == os.getpid():  # a forked child inherits the table, not the lock
        yield folder
        return
    lock_file = folder / LOCK_NAME
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise FileWriteError(f"cannot lock {folder}: {_reason(exc)}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockError(
                f"{folder} is in use by {_holder(lock_file)}; wait for that {what} to end or choose another folder"
            ) from None
        command = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))[:200]
        with suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}: {command}\n".encode(), 0)
        _HELD[folder.resolve()] = os.getpid()
        try:
            yield folder
        finally:
            _HELD.pop(folder.resolve(), None)
    finally:
        os.close(fd)  # closing the descriptor releases the flock
