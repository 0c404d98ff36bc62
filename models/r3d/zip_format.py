"""The ZIP records a ``.r3d`` file is made of, shared by the reader and the writer.

Layouts follow PKWARE's APPNOTE (local file header, central directory header, end of central
directory, and their ZIP64 variants); all integers are little-endian.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = [
    "CENTRAL_HEADER", "CENTRAL_SIG", "DATA_DESCRIPTOR_SIG", "DEFLATED", "EOCD", "EOCD_SIG", "EXTRA_HEADER",
    "FLAG_DATA_DESCRIPTOR", "FLAG_ENCRYPTED", "FLAG_UTF8", "LOCAL_HEADER", "LOCAL_SIG", "STORED", "U16_MAX",
    "U32_MAX", "ZIP64_EOCD", "ZIP64_EOCD_SIG", "ZIP64_EXTRA_ID", "ZIP64_LOCATOR", "ZIP64_LOCATOR_SIG", "Member",
    "decode_name", "iter_extra_fields",
]

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


def decode_name(raw: bytes, flags: int) -> str:
    """A member name: UTF-8 when the header's flag says so, else code page 437."""
    return raw.decode("utf-8" if flags & FLAG_UTF8 else "cp437", errors="replace")
