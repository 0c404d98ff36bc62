"""The ZIP container under ``.r3d`` files: an append-only writer and a random-access reader.

Reading: :class:`ZipArchive` indexes the members from the central directory (parsed by the
standard :mod:`zipfile`), or, when there is none (a take whose writer was killed, or a file
cut short), by scanning the local file headers from the start of the file; ``recovered`` then
says so. Members are read with ``os.pread`` (no shared file position, so any number of threads
may read at once), bounds-checked against the file size and verified against their CRC-32.
Stored (0) and deflated (8) members are supported.

Writing: :class:`ZipAppender` writes each member (stored, sizes and CRC known up front, so no
data descriptor) straight to an unbuffered file, and the central directory on :meth:`finish`,
switching to ZIP64 records when offsets or the member count need them. Until ``finish`` the file
is a sequence of complete local members, the last possibly cut short: what the scanner reads.

Errors are :class:`capture.base.CaptureError` with one line naming the file and the problem.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from capture.base import CaptureError

log = logging.getLogger(__name__)

LOCAL_SIG = b"PK\x03\x04"
CENTRAL_SIG = b"PK\x01\x02"
EOCD_SIG = b"PK\x05\x06"
ZIP64_EOCD_SIG = b"PK\x06\x06"
ZIP64_LOCATOR_SIG = b"PK\x06\x07"
DATA_DESCRIPTOR_SIG = b"PK\x07\x08"

LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # 30 bytes
CENTRAL_HEADER = struct.Struct("<4sHHHHHHIIIHHHHHII")  # 46 bytes
EOCD = struct.Struct("<4sHHHHIIH")  # 22 bytes
ZIP64_EOCD = struct.Struct("<4sQHHIIQQQQ")  # 56 bytes
ZIP64_LOCATOR = struct.Struct("<4sIQI")  # 20 bytes
EXTRA_HEADER = struct.Struct("<HH")

ZIP64_EXTRA_ID = 0x0001
STORED, DEFLATED = 0, 8
FLAG_ENCRYPTED, FLAG_DATA_DESCRIPTOR, FLAG_UTF8 = 0x0001, 0x0008, 0x0800
U32_MAX, U16_MAX = 0xFFFFFFFF, 0xFFFF

# Exceptions the standard zipfile parser raises on damaged central directories.
_ZIPFILE_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, struct.error, EOFError, OSError,
                   NotImplementedError, OverflowError, IndexError, KeyError)


@dataclass
class Member:
    """One archive member. ``data_offset`` is None until the local header has been read."""

    name: str
    header_offset: int
    compress_size: int
    file_size: int
    crc: int
    method: int
    flags: int
    data_offset: int | None = None
    local_extra: bytes = b""


def iter_extra_fields(extra: bytes) -> dict[int, bytes]:
    """ZIP extra field block -> {header id: payload}; a malformed tail is ignored."""
    fields: dict[int, bytes] = {}
    pos = 0
    while pos + EXTRA_HEADER.size <= len(extra):
        field_id, size = EXTRA_HEADER.unpack_from(extra, pos)
        pos += EXTRA_HEADER.size
        if pos + size > len(extra):
            break
        fields.setdefault(field_id, extra[pos:pos + size])
        pos += size
    return fields


def _decode_name(raw: bytes, flags: int) -> str:
    return raw.decode("utf-8" if flags & FLAG_UTF8 else "cp437", errors="replace")


class ZipArchive:
    """Random-access, thread-safe reader of one ZIP file (see the module docstring).

    Attributes:
        path: the file.
        members: member name -> :class:`Member`.
        recovered: True when there was no usable central directory and the members come from
            a scan of the local headers.
        scan_note: for a recovered archive, why the scan stopped (e.g. a partial last member).
    """

    def __init__(self, path: Path, members: dict[str, Member], file, size: int, recovered: bool,
                 scan_note: str = ""):
        self.path = path
        self.members = members
        self.recovered = recovered
        self.scan_note = scan_note
        self._file = file
        self._size = size
        self._seek_lock = None if hasattr(os, "pread") else threading.Lock()

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path) -> ZipArchive:
        """Index ``path``: central directory first, else a scan of the local headers."""
        try:
            file = open(path, "rb", buffering=0)  # owned by the archive: closed in close()
        except FileNotFoundError:
            raise CaptureError(f"no such file: {path}") from None
        except OSError as exc:
            raise CaptureError(f"cannot open {path}: {exc.strerror or exc}") from None
        try:
            size = os.fstat(file.fileno()).st_size
            archive = cls(path, {}, file, size, recovered=False)
            head = archive.pread(0, 4)
            if head not in (LOCAL_SIG, EOCD_SIG):
                raise CaptureError(f"{path} is not a zip archive (a Record3D .r3d file is one)")
            members = archive._central_directory()
            if members is None:
                if head != LOCAL_SIG:
                    raise CaptureError(f"{path}: truncated archive (no central directory and no members)")
                members, archive.scan_note = archive._scan_local_headers()
                archive.recovered = True
            archive.members = members
            return archive
        except BaseException:
            file.close()
            raise

    def _central_directory(self) -> dict[str, Member] | None:
        """Members listed by the central directory, or None when it is missing or unreadable."""
        try:
            with zipfile.ZipFile(self._file) as zf:
                infos = zf.infolist()
        except _ZIPFILE_ERRORS as exc:
            log.debug("%s: no usable central directory (%s)", self.path, exc)
            return None
        members = {}
        for info in infos:
            members[info.filename] = Member(
                name=info.filename, header_offset=info.header_offset, compress_size=info.compress_size,
                file_size=info.file_size, crc=info.CRC, method=info.compress_type, flags=info.flag_bits)
        return members

    def _scan_local_headers(self) -> tuple[dict[str, Member], str]:
        """Walk the local headers from offset 0 and keep every member whose data is complete."""
        members: dict[str, Member] = {}
        offset = 0
        note = "end of file"
        while offset < self._size:
            header = self.pread(offset, LOCAL_HEADER.size)
            if len(header) < LOCAL_HEADER.size:
                note = f"partial local header at byte {offset}"
                break
            sig, _, flags, method, _, _, crc, csize, usize, name_len, extra_len = LOCAL_HEADER.unpack(header)
            if sig != LOCAL_SIG:
                note = "central directory" if sig[:4] in (CENTRAL_SIG, EOCD_SIG) else \
                    f"no local header at byte {offset}"
                break
            tail = self.pread(offset + LOCAL_HEADER.size, name_len + extra_len)
            if len(tail) < name_len + extra_len:
                note = f"partial local header at byte {offset}"
                break
            name = _decode_name(tail[:name_len], flags)
            extra = tail[name_len:]
            if csize == U32_MAX or usize == U32_MAX:
                zip64 = iter_extra_fields(extra).get(ZIP64_EXTRA_ID, b"")
                values = list(struct.unpack_from(f"<{len(zip64) // 8}Q", zip64)) if zip64 else []
                if usize == U32_MAX and values:
                    usize = values.pop(0)
                if csize == U32_MAX and values:
                    csize = values.pop(0)
            if flags & FLAG_DATA_DESCRIPTOR and csize == 0:
                note = f"member {name!r} has its size in a data descriptor; cannot scan past it"
                break
            data_offset = offset + LOCAL_HEADER.size + name_len + extra_len
            if data_offset + csize > self._size:
                note = f"partial last member {name!r}"
                break
            members[name] = Member(name=name, header_offset=offset, compress_size=csize, file_size=usize,
                                   crc=crc, method=method, flags=flags, data_offset=data_offset,
                                   local_extra=extra)
            offset = data_offset + csize
            if flags & FLAG_DATA_DESCRIPTOR:
                offset += 16 if self.pread(offset, 4) == DATA_DESCRIPTOR_SIG else 12
        return members, note

    # -- reading ----------------------------------------------------------------------------

    def pread(self, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes at ``offset`` (fewer at the end of the file)."""
        if self._file.closed:
            raise CaptureError(f"{self.path} is closed")
        if offset < 0:
            raise CaptureError(f"{self.path}: damaged archive (a member lies at byte {offset})")
        size = max(0, min(size, self._size - offset))
        try:
            if self._seek_lock is None:
                return os.pread(self._file.fileno(), size, offset)
            with self._seek_lock:
                self._file.seek(offset)
                return self._file.read(size)
        except (OSError, ValueError) as exc:
            raise CaptureError(f"cannot read {self.path}: {exc}") from None

    def local_extra(self, member: Member) -> bytes:
        """The extra field of ``member``'s local header (where our writer keeps frame timestamps)."""
        self._data_offset(member)
        return member.local_extra

    def _data_offset(self, member: Member) -> int:
        if member.data_offset is None:
            header = self.pread(member.header_offset, LOCAL_HEADER.size)
            if len(header) < LOCAL_HEADER.size or header[:4] != LOCAL_SIG:
                raise CaptureError(f"{self.path}: member {member.name!r} has no local header "
                                   f"at byte {member.header_offset} (damaged archive)")
            name_len, extra_len = struct.unpack_from("<HH", header, 26)
            start = member.header_offset + LOCAL_HEADER.size
            member.local_extra = self.pread(start + name_len, extra_len)
            member.data_offset = start + name_len + extra_len
        return member.data_offset

    def read(self, name: str) -> bytes:
        """The uncompressed bytes of member ``name``, CRC-checked.

        Raises CaptureError for a missing, truncated, encrypted, corrupt or unsupported member.
        """
        member = self.members.get(name)
        if member is None:
            raise CaptureError(f"{self.path}: missing member {name!r}")
        if member.flags & FLAG_ENCRYPTED:
            raise CaptureError(f"{self.path}: member {name!r} is encrypted")
        offset = self._data_offset(member)
        if offset + member.compress_size > self._size:
            raise CaptureError(f"{self.path}: truncated archive (member {name!r} runs past the end of the file)")
        raw = self.pread(offset, member.compress_size)
        if member.method == STORED:
            data = raw
        elif member.method == DEFLATED:
            try:
                inflater = zlib.decompressobj(-15)
                data = inflater.decompress(raw, member.file_size + 1)
            except zlib.error as exc:
                raise CaptureError(f"{self.path}: member {name!r} is corrupt ({exc})") from None
        else:
            raise CaptureError(f"{self.path}: member {name!r} uses unsupported compression {member.method}")
        if len(data) != member.file_size:
            raise CaptureError(f"{self.path}: member {name!r} is corrupt "
                               f"({len(data)} bytes, the archive lists {member.file_size})")
        if zlib.crc32(data) != member.crc:
            raise CaptureError(f"{self.path}: member {name!r} is corrupt (CRC mismatch)")
        return data

    def close(self) -> None:
        self._file.close()


# -- writing ---------------------------------------------------------------------------------


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
