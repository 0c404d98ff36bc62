"""Exports left behind by a killed run (``kill -9``, a crash, a power cut): recover or remove.

An export is written to a hidden temporary ``.NAME.pidPID.XXXXXXXX.partial`` beside its target
(:mod:`app.export.target`) and renamed into place at the end; a process that dies first leaves
the temporary behind. The next export into the same folder finds those whose process is gone
(or, for names without a process id, that have not changed for :data:`STALE_AFTER_S`) and

- recovers what can be read to a visible ``NAME-recovered-YYYYMMDD-HHMMSS.EXT`` (the time is
  the temporary's last change): CSV and JSON Lines up to their last complete line, an OBJ
  sequence's complete files (``NAME-recovered-...`` folder), an Alembic archive that reads back;
- removes the rest (an Alembic archive is only readable once finished: its index is written
  last), and says so in one log line each.
"""

from __future__ import annotations

import collections
import logging
import os
import re
import shutil
import time
from pathlib import Path

from app.export.target import SEQUENCE_FILE

log = logging.getLogger(__name__)

PARTIAL = re.compile(r"\.(?P<name>.+?)\.(?:pid(?P<pid>\d+)\.)?[A-Za-z0-9_]+\.partial")
STALE_AFTER_S = 600.0  # a temporary without a process id that has not changed for this long
TAIL_BYTES = 4096


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(path: Path) -> bool:
    """True for a ``.NAME....partial`` whose writer is gone (see the module docstring)."""
    match = PARTIAL.fullmatch(path.name)
    if match is None:
        return False
    if match["pid"] is not None:
        pid = int(match["pid"])
        return pid != os.getpid() and not _process_alive(pid)
    try:
        return time.time() - path.stat().st_mtime > STALE_AFTER_S
    except OSError:
        return False


def recovered_name(path: Path) -> Path:
    """``take-recovered-20261208-001500.csv`` beside ``.take.csv.pid12.abcd.partial`` (a name
    not used yet; the time is the temporary's last change)."""
    match = PARTIAL.fullmatch(path.name)
    name = Path(match["name"] if match else path.name)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(path.stat().st_mtime))
    stem, suffix = (name.stem, name.suffix) if path.is_file() else (name.name, "")
    candidate, n = path.with_name(f"{stem}-recovered-{stamp}{suffix}"), 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{stem}-recovered-{stamp}-{n}{suffix}")
    return candidate


def _size_text(path: Path) -> str:
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size
    return f"{size / 1e6:.1f} MB"


def _recover_lines(path: Path, header_lines: int) -> int:
    """Cut ``path`` after its last complete line; returns the number of data lines kept."""
    with path.open("rb+") as f:
        data = f.read()
        end = data.rfind(b"\n") + 1
        f.truncate(end)
    return max(0, data[:end].count(b"\n") - header_lines)


def _alembic_samples(path: Path) -> int:
    """Samples of the face mesh in a readable archive, else 0."""
    try:
        from alembic3d import Abc, AbcGeom

        archive = Abc.IArchive(str(path))
        head = AbcGeom.IXform(archive.getTop(), "head")
        return AbcGeom.IPolyMesh(head, "face").getSchema().getNumSamples()
    except Exception:  # noqa: BLE001 (any failure to read means: not recoverable)
        return 0


def _complete_obj_files(folder: Path) -> list[Path]:
    """The files of an OBJ sequence folder that were written whole: every file of a sequence
    ends with the same UV and face lines, so a file cut short ends differently."""
    files = sorted(p for p in folder.iterdir() if SEQUENCE_FILE.fullmatch(p.name))
    tails: dict[Path, bytes] = {}
    for path in files:
        with path.open("rb") as f:
            f.seek(max(0, path.stat().st_size - TAIL_BYTES))
            tails[path] = f.read()
    if not tails:
        return []
    common, _ = collections.Counter(tails.values()).most_common(1)[0]
    last_line = common.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    if not (common.endswith(b"\n") and last_line.startswith(b"f ")):
        return []
    return [path for path, tail in tails.items() if tail == common]


def _recover(path: Path) -> str:
    """Recover or remove one stale temporary; returns the log line."""
    size = _size_text(path)
    if path.is_dir():
        complete = _complete_obj_files(path)
        if complete:
            for extra in set(path.iterdir()) - set(complete):
                extra.unlink() if extra.is_file() else shutil.rmtree(extra, ignore_errors=True)
            target = recovered_name(path)
            os.rename(path, target)
            return f"recovered {len(complete)} OBJ files of an interrupted export into {target}"
        shutil.rmtree(path)
        return f"removed {path} ({size}), an interrupted OBJ export without a complete file"
    suffix = Path(PARTIAL.fullmatch(path.name)["name"]).suffix.lower()
    if suffix in (".csv", ".jsonl"):
        frames = _recover_lines(path, header_lines=1 if suffix == ".csv" else 0)
        if frames > 0:
            target = recovered_name(path)
            os.rename(path, target)
            os.chmod(target, 0o644)
            return f"recovered {frames} frames of an interrupted export into {target}"
    elif suffix == ".abc":
        samples = _alembic_samples(path)
        if samples > 0:
            target = recovered_name(path)
            os.rename(path, target)
            return f"recovered {samples} frames of an interrupted export into {target}"
        path.unlink()
        return (f"removed {path} ({size}), an Alembic export interrupted before it was finished "
                f"(an archive is readable only once complete; re-export the recorded take)")
    path.unlink()
    return f"removed {path} ({size}), an export interrupted before it had any complete frame"


def recover_stale_partials(folder: str | os.PathLike) -> list[str]:
    """Recover or remove every stale export temporary in ``folder``; returns the log lines.

    Never raises: a temporary that cannot be handled is left and named in a warning.
    """
    folder = Path(folder)
    lines: list[str] = []
    try:
        candidates = [p for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".partial")]
    except OSError:
        return lines
    for path in sorted(candidates):
        if not is_stale(path):
            continue
        try:
            line = _recover(path)
        except OSError as exc:
            line = f"could not recover or remove {path}: {exc.strerror or exc}"
        log.warning("%s", line)
        lines.append(line)
    return lines
