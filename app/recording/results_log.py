"""The results log of a take (``TAKE.results``): an append-only, crash-safe binary file.

Layout (little endian)::

    b"FFXRLOG1"  u32 header_size  header (UTF-8 JSON)  u32 crc32(header)
    record*:  b"RC"  u8 kind  u8 0  u32 payload_size  u32 crc32(kind byte + payload)  payload

Record kinds:

- ``FRAME`` (:data:`FRAME_DTYPE`): raw frame ``r3d_index`` of the ``.r3d`` archive is source
  frame ``capture_index``, captured at ``timestamp`` (s). Written after the frame reached the
  archive.
- ``DROP`` (:data:`DROP_DTYPE`): source frame ``capture_index`` was not recorded (``reason``:
  1 the writer's queue was full, 2 the archive could not be written, e.g. a full disk).
- ``RESULT`` (:func:`result_dtype`): one FaceResult: pose, identity, expression, landmarks,
  intrinsics, and the vertices when the header says ``num_vertices`` > 0 (otherwise they are
  rebuilt from the face model). ``present`` flags which arrays exist (bit order of
  :data:`ARRAY_FIELDS`).

Every record is handed to the operating system with one unbuffered write as soon as it is made,
so a killed process loses at most the record being written; :func:`read_results_log` stops at
the first incomplete or corrupt record (a warning says where) and keeps everything before it.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

import numpy as np

from app.recording.errors import RecordingError
from models.camera import Intrinsics
from models.face_model.eyes import EyeCurves
from models.face_result import FaceResult

log = logging.getLogger(__name__)

MAGIC = b"FFXRLOG1"
VERSION = 1
RECORD_MAGIC = b"RC"
_U32 = struct.Struct("<I")
_RECORD_HEAD = struct.Struct("<2sBBII")  # magic, kind, reserved, payload size, crc

FRAME, DROP, RESULT = 1, 2, 3
DROP_QUEUE_FULL, DROP_WRITE_FAILED = 1, 2

FRAME_DTYPE = np.dtype([("r3d_index", "<i8"), ("capture_index", "<i8"), ("timestamp", "<f8")])
DROP_DTYPE = np.dtype([("capture_index", "<i8"), ("timestamp", "<f8"), ("reason", "u1")])

NUM_LANDMARKS = 68
# Optional arrays of a result, in the bit order of the ``present`` field.
ARRAY_FIELDS = ("rotation", "translation", "identity", "expression", "vertices", "landmarks_3d", "landmarks_2d")

# The system call every record goes through (tests replace it to simulate a full disk).
_os_write = os.write

_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def result_dtype(num_identity: int, num_expression: int, num_vertices: int) -> np.dtype:
    """The packed record layout of one result for these model sizes (no vertices if 0)."""
    fields = [
        ("index", "<i8"), ("timestamp", "<f8"), ("found", "u1"), ("present", "<u2"), ("mode", "S8"),
        ("intrinsics", "<f8", (4,)), ("image_size", "<i4", (2,)), ("latency_ms", "<f4"),
        ("rotation", "<f8", (3, 3)), ("translation", "<f8", (3,)),
        ("identity", "<f4", (num_identity,)), ("expression", "<f4", (num_expression,)),
        ("landmarks_3d", "<f4", (NUM_LANDMARKS, 3)), ("landmarks_2d", "<f4", (NUM_LANDMARKS, 2)),
    ]
    if num_vertices:
        fields.append(("vertices", "<f4", (num_vertices, 3)))
    return np.dtype(fields)


@dataclass(frozen=True)
class LogHeader:
    """What the results log needs to decode its records.

    fps: the take's nominal frame rate; num_identity, num_expression: coefficient counts;
    num_vertices: stored vertices per result (0: rebuild them, see ``decoder``);
    expression_names: the model's expression names; face_model: a description of the model;
    decoder: SHA-256 of the decoder graph (``assets/decoder.onnx``) that made the meshes, so
    that a take without stored vertices rebuilds them exactly; empty: the linear face model.
    """

    fps: float
    num_identity: int = 100
    num_expression: int = 53
    num_vertices: int = 0
    expression_names: tuple[str, ...] = ()
    face_model: str = ""
    decoder: str = ""
    version: int = VERSION

    def to_json(self) -> bytes:
        data = {"version": self.version, "fps": self.fps, "num_identity": self.num_identity,
                "num_expression": self.num_expression, "num_vertices": self.num_vertices,
                "expression_names": list(self.expression_names), "face_model": self.face_model,
                "decoder": self.decoder}
        return json.dumps(data).encode("utf-8")

    @classmethod
    def from_json(cls, blob: bytes, path: Path) -> LogHeader:
        try:
            data = json.loads(blob.decode("utf-8"))
            return cls(fps=float(data["fps"]), num_identity=int(data["num_identity"]),
                       num_expression=int(data["num_expression"]), num_vertices=int(data["num_vertices"]),
                       expression_names=tuple(data.get("expression_names", ())),
                       face_model=str(data.get("face_model", "")), decoder=str(data.get("decoder", "")),
                       version=int(data.get("version", VERSION)))
        except (ValueError, KeyError, TypeError) as exc:
            raise RecordingError(f"{path}: corrupt results-log header ({exc})") from None

    @property
    def result_dtype(self) -> np.dtype:
        return result_dtype(self.num_identity, self.num_expression, self.num_vertices)


def encode_result(result: FaceResult, dtype: np.dtype) -> bytes:
    """One RESULT payload; ValueError if an array does not fit the layout."""
    record = np.zeros((), dtype=dtype)
    record["index"] = result.index
    record["timestamp"] = result.timestamp
    record["found"] = bool(result.found)
    record["mode"] = (result.mode or "").encode("ascii", "replace")[:8]
    cam = result.intrinsics
    record["intrinsics"] = (cam.fx, cam.fy, cam.cx, cam.cy)
    record["image_size"] = (cam.width, cam.height)
    record["latency_ms"] = result.latency_ms
    present = 0
    for bit, name in enumerate(ARRAY_FIELDS):
        value = getattr(result, name)
        if value is None or name not in dtype.names:
            continue
        value = np.asarray(value)
        if value.shape != dtype[name].shape:
            raise ValueError(f"frame {result.index}: {name} has shape {value.shape}, "
                             f"the results log expects {dtype[name].shape}")
        record[name] = value
        present |= 1 << bit
    record["present"] = present
    return record.tobytes()


def decode_result(payload: bytes, dtype: np.dtype) -> FaceResult:
    """A FaceResult from a RESULT payload (arrays are copies, in the pipeline's dtypes)."""
    record = np.frombuffer(payload, dtype=dtype, count=1)[0]
    present = int(record["present"])
    arrays: dict[str, np.ndarray | None] = {}
    for bit, name in enumerate(ARRAY_FIELDS):
        if name in dtype.names and present & (1 << bit):
            value = np.array(record[name])
            arrays[name] = value.astype(np.float64 if name in ("rotation", "translation") else np.float32)
        else:
            arrays[name] = None
    fx, fy, cx, cy = (float(v) for v in record["intrinsics"])
    width, height = (int(v) for v in record["image_size"])
    return FaceResult(index=int(record["index"]), timestamp=float(record["timestamp"]),
                      intrinsics=Intrinsics(fx, fy, cx, cy, width, height), found=bool(record["found"]),
                      mode=record["mode"].decode("ascii", "replace"), latency_ms=float(record["latency_ms"]),
                      **arrays)


class ResultsLogWriter:
    """Appends records to a new results log (the file must not exist yet).

    Methods raise OSError from the operating system (a full disk is ENOSPC); the recorder
    turns them into a reported error.
    """

    def __init__(self, path: str | os.PathLike, header: LogHeader):
        self.path = Path(path)
        self.header = header
        self._dtype = header.result_dtype
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                                       0o666)
        blob = header.to_json()
        self._write(MAGIC + _U32.pack(len(blob)) + blob + _U32.pack(zlib.crc32(blob)))
        self.counts = {FRAME: 0, DROP: 0, RESULT: 0}

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            raise RecordingError(f"{self.path} is closed")
        view = memoryview(data)
        while view:
            view = view[_os_write(self._fd, view):]

    def _record(self, kind: int, payload: bytes) -> None:
        crc = zlib.crc32(payload, zlib.crc32(bytes((kind,))))
        self._write(_RECORD_HEAD.pack(RECORD_MAGIC, kind, 0, len(payload), crc) + payload)
        self.counts[kind] += 1

    def frame(self, r3d_index: int, capture_index: int, timestamp: float) -> None:
        self._record(FRAME, np.array((r3d_index, capture_index, timestamp), dtype=FRAME_DTYPE).tobytes())

    def drop(self, capture_index: int, timestamp: float, reason: int) -> None:
        self._record(DROP, np.array((capture_index, timestamp, reason), dtype=DROP_DTYPE).tobytes())

    def result(self, result: FaceResult) -> None:
        self._record(RESULT, encode_result(result, self._dtype))

    def sync(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)

    def close(self) -> None:
        """fsync and close; safe to call twice. OSError propagates after the descriptor is closed."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass
class ResultsLog:
    """A results log read back: header, FRAME and DROP records, and where the results are.

    Results are decoded on demand (:meth:`iter_results`, :meth:`result_at`) so a long take with
    stored vertices need not fit in memory.
    """

    path: Path
    header: LogHeader
    frames: np.ndarray  # FRAME_DTYPE records, in file order
    drops: np.ndarray  # DROP_DTYPE records, in file order
    result_offsets: list[int] = field(default_factory=list)  # byte offsets of RESULT payloads
    truncated: bool = False  # reading stopped at an incomplete or corrupt record
    stopped_at: int = 0  # byte offset where reading stopped

    @property
    def num_results(self) -> int:
        return len(self.result_offsets)

    def _payloads(self, offsets: list[int]) -> Iterator[bytes]:
        size = self.header.result_dtype.itemsize
        try:
            with open(self.path, "rb") as file:
                for offset in offsets:
                    file.seek(offset)
                    payload = file.read(size)
                    if len(payload) != size:
                        raise RecordingError(f"{self.path} changed while it was being read")
                    yield payload
        except OSError as exc:
            raise RecordingError(f"cannot read the results log {self.path}: {exc.strerror or exc}") from None

    def iter_results(self) -> Iterator[FaceResult]:
        """Every stored FaceResult, in file order (source order)."""
        dtype = self.header.result_dtype
        for payload in self._payloads(self.result_offsets):
            yield self._with_eyes(decode_result(payload, dtype))

    def result_at(self, position: int) -> FaceResult:
        """The ``position``-th stored result."""
        payload = next(self._payloads([self.result_offsets[position]]))
        return self._with_eyes(decode_result(payload, self.header.result_dtype))

    def _with_eyes(self, result: FaceResult) -> FaceResult:
        """The eye state (gaze, blink) is a function of the eye curves, as the pipeline made it:
        recomputed here rather than stored."""
        eyes = self._eye_curves
        if result.expression is None or eyes is None:
            return result
        return replace(result, gaze=eyes.gaze(result.expression), blink=eyes.blink_of(result.expression))

    @cached_property
    def _eye_curves(self) -> EyeCurves | None:
        return EyeCurves(self.header.expression_names) if self.header.expression_names else None


def _read_header(file: BinaryIO, path: Path) -> tuple[LogHeader, int]:
    head = file.read(len(MAGIC) + 4)
    if not head.startswith(MAGIC):
        raise RecordingError(f"{path} is not a FaceFromX results log")
    if len(head) < len(MAGIC) + 4:
        raise RecordingError(f"{path}: results-log header cut short")
    (size,) = _U32.unpack_from(head, len(MAGIC))
    blob = file.read(size)
    crc = file.read(4)
    if len(blob) != size or len(crc) != 4 or _U32.unpack(crc)[0] != zlib.crc32(blob):
        raise RecordingError(f"{path}: results-log header cut short or corrupt")
    return LogHeader.from_json(blob, path), len(head) + size + 4


def read_results_log(path: str | os.PathLike) -> ResultsLog:
    """Index every complete record; a cut-short or corrupt tail is reported and ignored.

    Raises :class:`RecordingError` when the file is missing or its header is unreadable.
    """
    path = Path(path)
    frames, drops, offsets = [], [], []
    truncated = False
    try:
        with open(path, "rb") as file:
            total = os.fstat(file.fileno()).st_size
            header, offset = _read_header(file, path)
            expected = {FRAME: FRAME_DTYPE.itemsize, DROP: DROP_DTYPE.itemsize, RESULT: header.result_dtype.itemsize}
            while offset < total:
                head = file.read(_RECORD_HEAD.size)
                if len(head) < _RECORD_HEAD.size:
                    truncated = True
                    break
                magic, kind, _, size, crc = _RECORD_HEAD.unpack(head)
                if magic != RECORD_MAGIC or expected.get(kind) != size:
                    truncated = True
                    break
                payload = file.read(size)
                if len(payload) != size or zlib.crc32(payload, zlib.crc32(bytes((kind,)))) != crc:
                    truncated = True
                    break
                start = offset + _RECORD_HEAD.size
                if kind == FRAME:
                    frames.append(payload)
                elif kind == DROP:
                    drops.append(payload)
                else:
                    offsets.append(start)
                offset = start + size
    except OSError as exc:
        raise RecordingError(f"cannot read the results log {path}: {exc.strerror or exc}") from None
    if truncated:
        log.warning("%s: stopped at byte %d of %d (an incomplete or corrupt record, e.g. after a crash); "
                    "kept %d frame, %d drop and %d result records", path, offset, total,
                    len(frames), len(drops), len(offsets))
    return ResultsLog(path=path, header=header,
                      frames=np.frombuffer(b"".join(frames), dtype=FRAME_DTYPE).copy(),
                      drops=np.frombuffer(b"".join(drops), dtype=DROP_DTYPE).copy(),
                      result_offsets=offsets, truncated=truncated, stopped_at=offset)


def is_disk_full(exc: OSError) -> bool:
    return exc.errno in _DISK_FULL
