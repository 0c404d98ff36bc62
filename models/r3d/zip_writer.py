"""An append-only writer of the ZIP container under ``.r3d`` files.

:class:`ZipAppender` writes each member (stored, sizes and CRC known up front, so no data
descriptor) straight to an unbuffered file, and the central directory on :meth:`finish`,
switching to ZIP64 records when offsets or the member count need them. Until ``finish`` the
file is a sequence of complete local members, the last possibly cut short: what
:class:`models.r3d.zip_reader.ZipArchive` recovers by scanning.
"""

from __future__ import annotations

import struct
import time
import zlib
from dataclasses import dataclass

from models.r3d.zip_format import (
    CENTRAL_HEADER,
    CENTRAL_SIG,
    EOCD,
    EOCD_SIG,
    EXTRA_HEADER,
    FLAG_UTF8,
    LOCAL_HEADER,
    LOCAL_SIG,
    STORED,
    U16_MAX,
    U32_MAX,
    ZIP64_EOCD,
    ZIP64_EOCD_SIG,
    ZIP64_EXTRA_ID,
    ZIP64_LOCATOR,
    ZIP64_LOCATOR_SIG,
)

__all__ = ["ZipAppender"]


def _dos_time(timestamp: float) -> tuple[int, int]:
    t = time.localtime(timestamp)
    year = min(max(t.tm_year, 1980), 2107)
    return (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2), ((year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday


@dataclass(frozen=True)
class _Entry:
    name: bytes
    offset: int
    size: int
    crc: int
    time: int
    date: int
    extra: bytes


class ZipAppender:
    """Appends stored members to ``file`` (an unbuffered binary file opened for writing).

    Every :meth:`add` issues plain ``file.write`` calls, so the member is with the operating
    system when it returns: a killed process leaves every member it added readable by a scan.
    :meth:`finish` writes the central directory (ZIP64 when an offset reaches ``zip64_limit``
    or there are more than 65535 members). OSErrors from ``file.write`` propagate unchanged.
    """

    VERSION = 20
    VERSION_ZIP64 = 45
    MADE_BY_UNIX = 3 << 8
    UNIX_FILE_ATTR = 0o100644 << 16

    def __init__(self, file, zip64_limit: int = U32_MAX):
        self._file = file
        self._offset = 0
        self._entries: list[_Entry] = []
        self._zip64_limit = zip64_limit

    @property
    def offset(self) -> int:
        """Bytes written so far."""
        return self._offset

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = self._file.write(view)
            if written is None:  # non-blocking file with nothing written: not expected here
                raise OSError("write made no progress")
            self._offset += written
            view = view[written:]

    def add(self, name: str, data: bytes, extra: bytes = b"") -> None:
        """Append member ``name`` holding ``data`` (stored), with a local-header ``extra`` field."""
        if len(data) >= U32_MAX:
            raise ValueError(f"member {name!r} is too large for this writer ({len(data)} bytes)")
        encoded = name.encode("utf-8")
        crc = zlib.crc32(data)
        mtime, mdate = _dos_time(time.time())
        header = LOCAL_HEADER.pack(LOCAL_SIG, self.VERSION, FLAG_UTF8, STORED, mtime, mdate, crc, len(data),
                                   len(data), len(encoded), len(extra))
        entry = _Entry(encoded, self._offset, len(data), crc, mtime, mdate, extra)
        self._write(header + encoded + extra)
        self._write(data)
        self._entries.append(entry)

    def finish(self) -> None:
        """Write the central directory and the end records; the file is then a complete ZIP."""
        cd_start = self._offset
        records = []
        for entry in self._entries:
            zip64 = entry.offset >= self._zip64_limit
            extra = EXTRA_HEADER.pack(ZIP64_EXTRA_ID, 8) + struct.pack("<Q", entry.offset) if zip64 else b""
            version = self.VERSION_ZIP64 if zip64 else self.VERSION
            records.append(CENTRAL_HEADER.pack(
                CENTRAL_SIG, self.MADE_BY_UNIX | version, version, FLAG_UTF8, STORED, entry.time, entry.date,
                entry.crc, entry.size, entry.size, len(entry.name), len(extra), 0, 0, 0, self.UNIX_FILE_ATTR,
                U32_MAX if zip64 else entry.offset) + entry.name + extra)
        self._write(b"".join(records))
        cd_size = self._offset - cd_start
        count = len(self._entries)
        needs_zip64 = (count > U16_MAX or cd_start >= self._zip64_limit or cd_size >= self._zip64_limit)
        if needs_zip64:
            zip64_eocd_offset = self._offset
            self._write(ZIP64_EOCD.pack(ZIP64_EOCD_SIG, ZIP64_EOCD.size - 12, self.MADE_BY_UNIX | self.VERSION_ZIP64,
                                        self.VERSION_ZIP64, 0, 0, count, count, cd_size, cd_start))
            self._write(ZIP64_LOCATOR.pack(ZIP64_LOCATOR_SIG, 0, zip64_eocd_offset, 1))
        count16 = U16_MAX if needs_zip64 else count
        self._write(EOCD.pack(EOCD_SIG, 0, 0, count16, count16, U32_MAX if needs_zip64 else cd_size,
                              U32_MAX if needs_zip64 else cd_start, 0))
