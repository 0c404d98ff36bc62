"""LZFSE decoding of Record3D depth and confidence blobs, into a buffer of the expected size.

``pyliblzfse`` (``import liblzfse``) only offers ``decompress(bytes) -> bytes``, which has to
guess the output size. The extension module also exports the C library's own
``lzfse_decode_buffer``; when it is there (checked once, with a round trip) we call it through
``ctypes`` with an output buffer sized from the metadata. That is about twice as fast on depth
maps, releases the GIL, and bounds memory however the blob decodes. Otherwise the package's
``decompress`` is used. Either way the result is the same bytes.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import threading

import liblzfse
import numpy as np

log = logging.getLogger(__name__)

# Larger outputs than this are not decoded in full just to report their size.
_MAX_PROBE_BYTES = 1 << 28


class LzfseError(ValueError):
    """The blob is not valid LZFSE."""


@functools.cache
def _native_decoder():
    """(lzfse_decode_buffer, scratch size) from the extension module, or None."""
    try:
        lib = ctypes.CDLL(liblzfse.__file__)
        decode = lib.lzfse_decode_buffer
        scratch_size = lib.lzfse_decode_scratch_size
    except (OSError, AttributeError, TypeError) as exc:
        log.debug("lzfse: no native decoder in %s (%s); using liblzfse.decompress",
                  getattr(liblzfse, "__file__", "?"), exc)
        return None
    decode.restype = ctypes.c_size_t
    decode.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    scratch_size.restype = ctypes.c_size_t
    scratch_size.argtypes = []
    native = (decode, int(scratch_size()))
    sample = bytes(range(256)) * 64
    try:
        if _decode_native(native, liblzfse.compress(sample), len(sample) + 1).tobytes() != sample:
            raise LzfseError("round trip mismatch")
    except (LzfseError, liblzfse.error) as exc:
        log.debug("lzfse: native decoder failed its self-test (%s); using liblzfse.decompress", exc)
        return None
    return native


_scratch = threading.local()


def _decode_native(native, blob: bytes, capacity: int) -> np.ndarray:
    decode, scratch_size = native
    buffer = getattr(_scratch, "buffer", None)
    if buffer is None:
        buffer = _scratch.buffer = np.empty(max(scratch_size, 1), np.uint8)
    out = np.empty(capacity, np.uint8)
    written = decode(out.ctypes.data, capacity, blob, len(blob), buffer.ctypes.data)
    if written == 0 and capacity > 0:
        raise LzfseError("not a valid LZFSE stream")
    return out[:written]


def decode(blob: bytes, expected_size: int) -> np.ndarray:
    """Decode ``blob``; returns a writable uint8 array.

    Its length is the decoded size when that is at most ``expected_size``; a longer stream
    gives an array of its true length when that is below 256 MiB, else ``expected_size + 1``
    bytes (enough for the caller to see the mismatch). Raises :class:`LzfseError` for a blob
    that is not LZFSE.
    """
    if not blob:
        raise LzfseError("empty LZFSE stream")
    native = _native_decoder()
    if native is not None:
        out = _decode_native(native, blob, expected_size + 1)
        if len(out) <= expected_size:
            return out
        probe = _decode_native(native, blob, max(4 * expected_size, _MAX_PROBE_BYTES) + 1)
        return probe if len(probe) <= max(4 * expected_size, _MAX_PROBE_BYTES) else out
    try:
        data = liblzfse.decompress(blob)
    except liblzfse.error as exc:
        raise LzfseError(f"not a valid LZFSE stream ({exc})") from None
    return np.frombuffer(bytearray(data), np.uint8)


def encode(data: bytes) -> bytes:
    """LZFSE-compress ``data`` (the package's encoder)."""
    return liblzfse.compress(data)
