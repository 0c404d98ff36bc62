"""Write-then-rename destinations: nothing appears under the final name until an export succeeds.

:class:`AtomicFile` writes a hidden temporary file (``.NAME.pidPID.XXXX.partial``) in the destination
folder and renames it onto ``NAME`` in :meth:`AtomicFile.commit`; :class:`AtomicDir` does the
same with a temporary folder for OBJ sequences. ``abort`` removes the temporary and leaves any
earlier file under the final name untouched. OS errors become :class:`ExportError` lines through
:func:`export_error` ("disk full while writing PATH" for ENOSPC/EDQUOT).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

from app.export.errors import ExportError

log = logging.getLogger(__name__)

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})

# Files of an OBJ sequence; an earlier sequence in the same folder is superseded by a new one.
SEQUENCE_FILE = re.compile(r"frame_\d{6,}\.obj")

# The system calls every export goes through (tests replace them to simulate a full disk).
_os_write = os.write
_os_fsync = os.fsync


def partial_prefix(path: Path) -> str:
    """``.NAME.pidPID.``: the hidden temporary's name says which process writes it, so a later
    run can tell one left by a killed process (:mod:`app.export.recover`)."""
    return f".{path.name}.pid{os.getpid()}."


def export_error(path: str | os.PathLike, exc: OSError) -> ExportError:
    """One line for an OS error met while writing ``path``."""
    if exc.errno in DISK_FULL_ERRNOS:
        return ExportError(f"disk full while writing {path}")
    reason = exc.strerror or str(exc) or type(exc).__name__
    return ExportError(f"cannot write {path}: {reason}")


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """Write every byte of ``data`` to the file descriptor (``os.write`` may write less)."""
    view = memoryview(data).cast("B")
    while view:
        written = _os_write(fd, view)
        view = view[written:]


def _umask() -> int:
    """The process umask, read without changing it (``os.umask`` would race with other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def give_usual_mode(path: str | os.PathLike, mode: int = 0o666) -> None:
    """``mkstemp``/``mkdtemp`` make private (0600/0700) entries; an output gets the usual mode
    (``mode`` less the umask: 0644 / 0755 with the common umask), like any file a program writes."""
    os.chmod(path, mode & ~_umask())


def _check_parent(path: Path) -> Path:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise ExportError(f"cannot write {path}: folder {parent} does not exist")
    if not parent.is_dir():
        raise ExportError(f"cannot write {path}: {parent} is not a folder")
    return parent


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable; best effort (some file systems refuse directory fsync)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class AtomicFile:
    """A temporary file beside ``path`` that becomes ``path`` on :meth:`commit`.

    Args:
        path: the final file.
        keep_open: keep a write descriptor (:attr:`fd`) open for :meth:`write`; pass False when
            another library writes :attr:`temp_path` itself (Alembic).

    Raises :class:`ExportError` when the folder is missing or unwritable or ``path`` is a folder.
    """

    def __init__(self, path: str | os.PathLike, keep_open: bool = True):
        self.path = Path(path)
        if self.path.is_dir():
            raise ExportError(f"cannot write {self.path}: it is a folder")
        self.folder = _check_parent(self.path)
        try:
            fd, temp = tempfile.mkstemp(prefix=partial_prefix(self.path), suffix=".partial", dir=self.folder)
        except OSError as exc:
            raise export_error(self.path, exc) from None
        self.temp_path = Path(temp)
        self.fd: int | None = fd
        self._done = False
        try:
            give_usual_mode(self.temp_path, 0o666)
        except OSError as exc:
            self.abort()
            raise export_error(self.path, exc) from None
        if not keep_open:
            os.close(fd)
            self.fd = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Append ``data`` (OSError propagates; the owner turns it into an ExportError)."""
        if self.fd is None:
            raise ExportError(f"cannot write {self.path}: the file is closed")
        write_all(self.fd, data)

    def commit(self) -> Path:
        """Flush to disk and rename onto :attr:`path`; OSError propagates (call abort then)."""
        fd = self.fd if self.fd is not None else os.open(self.temp_path, os.O_RDONLY)
        self.fd = None
        try:
            _os_fsync(fd)
        finally:
            os.close(fd)
        os.replace(self.temp_path, self.path)
        self._done = True
        _fsync_dir(self.folder)
        return self.path

    def abort(self) -> None:
        """Close and delete the temporary file; safe to call twice and after commit."""
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None
        if not self._done:
            self._done = True
            try:
                self.temp_path.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("could not remove the temporary file %s: %s", self.temp_path, exc)


class AtomicDir:
    """A temporary folder beside ``path`` that becomes the folder ``path`` on :meth:`commit`.

    When ``path`` already exists as a folder, :meth:`commit` moves the new files into it and
    removes the files of an earlier sequence (``frame_NNNNNN.obj``) that the new one does not
    have, so the folder holds exactly one sequence; other files are left alone.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ExportError(f"cannot write the OBJ sequence {self.path}: it is a file, not a folder")
        self.folder = _check_parent(self.path)
        try:
            self.temp_path = Path(tempfile.mkdtemp(prefix=partial_prefix(self.path), suffix=".partial",
                                                   dir=self.folder))
        except OSError as exc:
            raise export_error(self.path, exc) from None
        self._done = False
        try:
            give_usual_mode(self.temp_path, 0o777)
        except OSError as exc:
            self.abort()
            raise export_error(self.path, exc) from None

    def commit(self) -> Path:
        """Put the files under :attr:`path`; OSError propagates (call abort then)."""
        if not self.path.exists():
            os.rename(self.temp_path, self.path)
        else:
            new = set(os.listdir(self.temp_path))
            for name in sorted(new):
                os.replace(self.temp_path / name, self.path / name)
            for name in os.listdir(self.path):
                if SEQUENCE_FILE.fullmatch(name) and name not in new:
                    (self.path / name).unlink()
                    log.info("removed %s of an earlier sequence", self.path / name)
            os.rmdir(self.temp_path)
        self._done = True
        _fsync_dir(self.path)
        _fsync_dir(self.folder)
        return self.path

    def abort(self) -> None:
        """Delete the temporary folder; safe to call twice and after commit."""
        if not self._done:
            self._done = True
            shutil.rmtree(self.temp_path, ignore_errors=True)
            if self.temp_path.exists():
                log.warning("could not remove the temporary folder %s", self.temp_path)
