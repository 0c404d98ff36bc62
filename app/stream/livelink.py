"""The Live Link Face packet (what Unreal's Live Link reads from Apple's Live Link Face app).

One UDP datagram per frame, all numbers big-endian (docs/FORMATS.md):

    uint8   version (6)
    int32   36, then the 36-byte device id (an upper-case UUID)
    int32   len(subject), then the subject's UTF-8 bytes
    int32   frame number, float32 sub-frame, int32 rate numerator, int32 rate denominator
    uint8   61, then 61 float32 values

The 61 values are the 52 ARKit curves in Live Link's WIRE order, then HeadYaw, HeadPitch,
HeadRoll, LeftEyeYaw, LeftEyePitch, LeftEyeRoll, RightEyeYaw, RightEyePitch, RightEyeRoll
(radians). The wire order differs from the CSV's column order (JawLeft/JawRight,
MouthLeft/MouthRight): values are placed by NAME from :data:`models.arkit_values.VALUE_NAMES`.
"""

from __future__ import annotations

import socket
import struct
import uuid
from fractions import Fraction

import numpy as np

from app.stream.errors import StreamError
from models.arkit_values import VALUE_COUNT, VALUE_NAMES

VERSION = 6
DEVICE_ID_LENGTH = 36
# Unreal turns the subject into an FName, whose text is at most 1023 characters (NAME_SIZE
# 1024 with the terminator); we bound the UTF-8 bytes, which is stricter.
MAX_SUBJECT_BYTES = 1023
SECONDS_PER_DAY = 86400

# Live Link's order of the 61 values on the wire (Unreal's EARFaceBlendShape, the iPhone app).
WIRE_NAMES: tuple[str, ...] = (
    "EyeBlinkLeft", "EyeLookDownLeft", "EyeLookInLeft", "EyeLookOutLeft", "EyeLookUpLeft",
    "EyeSquintLeft", "EyeWideLeft", "EyeBlinkRight", "EyeLookDownRight", "EyeLookInRight",
    "EyeLookOutRight", "EyeLookUpRight", "EyeSquintRight", "EyeWideRight", "JawForward",
    "JawLeft", "JawRight", "JawOpen", "MouthClose", "MouthFunnel", "MouthPucker", "MouthLeft",
    "MouthRight", "MouthSmileLeft", "MouthSmileRight", "MouthFrownLeft", "MouthFrownRight",
    "MouthDimpleLeft", "MouthDimpleRight", "MouthStretchLeft", "MouthStretchRight",
    "MouthRollLower", "MouthRollUpper", "MouthShrugLower", "MouthShrugUpper", "MouthPressLeft",
    "MouthPressRight", "MouthLowerDownLeft", "MouthLowerDownRight", "MouthUpperUpLeft",
    "MouthUpperUpRight", "BrowDownLeft", "BrowDownRight", "BrowInnerUp", "BrowOuterUpLeft",
    "BrowOuterUpRight", "CheekPuff", "CheekSquintLeft", "CheekSquintRight", "NoseSneerLeft",
    "NoseSneerRight", "TongueOut",
    "HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
    "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
)
assert sorted(WIRE_NAMES) == sorted(VALUE_NAMES) and len(WIRE_NAMES) == VALUE_COUNT
# wire[i] = values[WIRE_INDEX[i]]
WIRE_INDEX = np.array([VALUE_NAMES.index(name) for name in WIRE_NAMES], dtype=np.intp)

_FRAME = struct.Struct(">ifiiB")


def check_subject(subject: str) -> bytes:
    """The subject's UTF-8 bytes; :class:`StreamError` when empty or too long for Live Link."""
    data = subject.encode("utf-8")
    if not data.strip():
        raise StreamError("--stream-subject: the subject name is empty")
    if len(data) > MAX_SUBJECT_BYTES:
        raise StreamError(f"--stream-subject: the subject name is {len(data)} bytes long; "
                          f"Live Link takes at most {MAX_SUBJECT_BYTES}")
    return data


def frame_rate(fps: float) -> tuple[int, int]:
    """(numerator, denominator) of a frame rate: 30 -> (30, 1), 29.97002997 -> (30000, 1001)."""
    if not fps > 0:
        return 30, 1
    rate = Fraction(fps).limit_denominator(1001)
    return rate.numerator, rate.denominator


def frame_time(timestamp: float, fps: float) -> tuple[int, float]:
    """(frame number, sub-frame in [0, 1)) of a capture timestamp (s) at ``fps``.

    As the CSV export's timecode: thousandths of a frame, rounded, so a row and a datagram of
    the same frame carry the same frame time; wrapped at 24 h like a time-of-day timecode.
    """
    seconds = max(0.0, timestamp) % SECONDS_PER_DAY
    frames, thousandths = divmod(round(seconds * fps * 1000), 1000)
    return int(frames), thousandths / 1000.0


def default_device_id() -> str:
    """A 36-character upper-case UUID, stable for this machine (Live Link lists sources by it)."""
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"facefromx.{socket.gethostname()}")).upper()


class LiveLinkEncoder:
    """Builds the datagram of a frame for one subject (the header is packed once)."""

    kind = "livelink"

    def __init__(self, subject: str, device_id: str | None = None):
        name = check_subject(subject)
        device = (device_id or default_device_id()).encode("ascii")
        if len(device) != DEVICE_ID_LENGTH:
            raise StreamError(f"the Live Link device id must be {DEVICE_ID_LENGTH} characters, got {len(device)}")
        self.subject = subject
        self._header = (struct.pack(">Bi", VERSION, len(device)) + device
                        + struct.pack(">i", len(name)) + name)

    def encode(self, values: np.ndarray, timestamp: float, fps: float) -> bytes:
        """The datagram of one frame.

        Args:
            values: (61,) :func:`models.arkit_values.arkit_values` (curves in CSV order, angles).
            timestamp: the capture time of the frame (s); fps: the source's frame rate.
        """
        number, sub = frame_time(timestamp, fps)
        numerator, denominator = frame_rate(fps)
        wire = np.asarray(values, dtype=np.float64)[WIRE_INDEX].astype(">f4")
        return self._header + _FRAME.pack(number, sub, numerator, denominator, VALUE_COUNT) + wire.tobytes()
