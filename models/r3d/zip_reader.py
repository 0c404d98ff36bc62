"""A random-access reader of the ZIP container under ``.r3d`` files.

:class:`ZipArchive` indexes the members from the central directory (parsed by the standard
:mod:`zipfile`), or, when there is none (a take whose writer was killed, or a file cut short),
by scanning the local file headers from the start of the file; ``recovered`` then says so.
Members are read with ``os.pread`` (no shared file position, so any number of threads may read
at once), bounds-checked against the file size and verified against their CRC-32. Stored (0)
and deflated (8) members are supported.

Errors are :class:`models.r3d.errors.R3DError` with one line naming the file and the problem.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import zipfile
import zlib
from pathlib import Path

from models.r3d.errors import R3DError
from models.r3d.zip_format import (
    CENTRAL_SIG,
    DATA_DESCRIPTOR_SIG,
    DEFLATED,
    EOCD_SIG,
    FLAG_DATA_DESCRIPTOR,
    FLAG_ENCRYPTED,
    LOCAL_HEADER,
    LOCAL_SIG,
    STORED,
    U32_MAX,
    ZIP64_EXTRA_ID,
    Member,
    decode_name,
    iter_extra_fields,
)

__all__ = ["ZipArchive"]

log = logging.getLogger(__name__)

# Exceptions the standard zipfile parser raises on damaged central directories.
_ZIPFILE_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, struct.error, EOFError, OSError,
                   NotImplementedError, OverflowError, IndexError, KeyError)


class ZipArchive:
    """Random-access, thread-safe reader of one ZIP file (see the module docstring).

    Attributes:
        path: the file.
        members: member name -> :class:`~models.r3d.zip_format.Member`.
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
            raise R3DError(f"no such file: {path}") from None
        except OSError as exc:
            raise R3DError(f"cannot open {path}: {exc.strerror or exc}") from None
        try:
            size = os.fstat(file.fileno()).st_size
            archive = cls(path, {}, file, size, recovered=False)
            head = archive.pread(0, 4)
            if head not in (LOCAL_SIG, EOCD_SIG):
                raise R3DError(f"{path} is not a zip archive (a Record3D .r3d file is one)")
            members = archive._central_directory()
            if members is None:
                if head != LOCAL_SIG:
                    raise R3DError(f"{path}: truncated archive (no central directory and no members)")
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
            name = decode_name(tail[:name_len], flags)
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
            raise R3DError(f"{self.path} is closed")
        if offset < 0:
            raise R3DError(f"{self.path}: damaged archive (a member lies at byte {offset})")
        size = max(0, min(size, self._size - offset))
        try:
            if self._seek_lock is None:
                return os.pread(self._file.fileno(), size, offset)
            with self._seek_lock:
                self._file.seek(offset)
                return self._file.read(size)
        except (OSError, ValueError) as exc:
            raise R3DError(f"cannot read {self.path}: {exc}") from None

    def local_extra(self, member: Member) -> bytes:
        """The extra field of ``member``'s local header (where our writer keeps frame timestamps)."""
        self._data_offset(member)
        return member.local_extra

    def _data_offset(self, member: Member) -> int:
        if member.data_offset is None:
            header = self.pread(member.header_offset, LOCAL_HEADER.size)
            if len(header) < LOCAL_HEADER.size or header[:4] != LOCAL_SIG:
                raise R3DError(f"{self.path}: member {member.name!r} has no local header "
                               f"at byte {member.header_offset} (damaged archive)")
            name_len, extra_len = struct.unpack_from("<HH", header, 26)
            start = member.header_offset + LOCAL_HEADER.size
            member.local_extra = self.pread(start + name_len, extra_len)
            member.data_offset = start + name_len + extra_len
        return member.data_offset

    def read(self, name: str) -> bytes:
        """The uncompressed bytes of member ``name``, CRC-checked.

        Raises R3DError for a missing, truncated, encrypted, corrupt or unsupported member.
        """
        member = self.members.get(name)
        if member is None:
            raise R3DError(f"{self.path}: missing member {name!r}")
        if member.flags & FLAG_ENCRYPTED:
            raise R3DError(f"{self.path}: member {name!r} is encrypted")
        offset = self._data_offset(member)
        if offset + member.compress_size > self._size:
            raise R3DError(f"{self.path}: truncated archive (member {name!r} runs past the end of the file)")
        raw = self.pread(offset, member.compress_size)
        if member.method == STORED:
            data = raw
        elif member.method == DEFLATED:
            try:
                inflater = zlib.decompressobj(-15)
                data = inflater.decompress(raw, member.file_size + 1)
            except zlib.error as exc:
                raise R3DError(f"{self.path}: member {name!r} is corrupt ({exc})") from None
        else:
            raise R3DError(f"{self.path}: member {name!r} uses unsupported compression {member.method}")
        if len(data) != member.file_size:
            raise R3DError(f"{self.path}: member {name!r} is corrupt "
                           f"({len(data)} bytes, the archive lists {member.file_size})")
        if zlib.crc32(data) != member.crc:
            raise R3DError(f"{self.path}: member {name!r} is corrupt (CRC mismatch)")
        return data

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> ZipArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
