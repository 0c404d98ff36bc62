"""The VMC protocol frame: one OSC bundle per frame (docs/FORMATS.md), as VSeeFace, VNyan,
Warudo and the Blender VMC add-ons receive it.

The bundle holds, in order:

- ``/VMC/Ext/Blend/Val`` (name, value) for the 52 ARKit curves, named as in the CSV
  (``EyeBlinkLeft``, ..., the "perfect sync" names), then ``/VMC/Ext/Blend/Apply``;
- ``/VMC/Ext/Bone/Pos`` (bone, px, py, pz, qx, qy, qz, qw) for ``Head``, and for ``LeftEye``
  and ``RightEye`` when the frame has gaze;
- ``/VMC/Ext/Root/Pos`` ("root", 0, 0, 0, 0, 0, 0, 1): the avatar stays where it stands;
- ``/VMC/Ext/OK`` (1 loaded, 3 calibrated, 0 normal calibration, 1 tracking);
- ``/VMC/Ext/T`` (the capture time in seconds).

Frames (Unity's, left-handed: y up, z forward). Rotations are the bones' rotations relative to
a face looking straight into the camera, in the avatar's frame (x to the avatar's right, y up,
z out of the face): ARKit's face frame (x to the subject's left) mirrored in x, so a quaternion
(x, y, z, w) there is (x, -y, -z, w) here. The head rotation is built from the streamed
HeadYaw/Pitch/Roll and each eye's from its yaw and pitch (so VMC carries the CSV's numbers).
Positions (metres) are in a Unity frame at the capture camera, looking at the avatar:
(x, y, z)_unity = -(x, y, z)_opencv; the eyes are the centres of the eye landmarks.
Receivers that retarget rotations only (VSeeFace, Warudo) ignore bone positions.

The messages are laid out once by python-osc's builders; per frame the 52 blend values are
written into that template's float32 slots and the bones packed after their prefixes, which
keeps a bundle at tens of microseconds (python-osc's builders take about a millisecond for
the same bytes; a test checks the two are equal byte for byte).
"""

from __future__ import annotations

import math
import struct

import numpy as np
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from models.arkit_values import CURVE_COUNT, CURVE_NAMES
from models.face_result import FaceResult

BLEND_VAL = "/VMC/Ext/Blend/Val"
BLEND_APPLY = "/VMC/Ext/Blend/Apply"
BONE_POS = "/VMC/Ext/Bone/Pos"
ROOT_POS = "/VMC/Ext/Root/Pos"
OK = "/VMC/Ext/OK"
TIME = "/VMC/Ext/T"
OK_ARGS = (1, 3, 0, 1)  # loaded, calibration state (3: done), calibration mode (0: normal), tracking

# Gaze rows and eyes are left then right (the subject's); in the Multi-PIE 68 landmarks the
# right eye is 36-41 and the left eye 42-47.
EYE_BONES = ("LeftEye", "RightEye")
EYE_LANDMARKS = slice(36, 48)
HEAD_ANGLES = slice(CURVE_COUNT, CURVE_COUNT + 3)
EYE_ANGLES = (slice(CURVE_COUNT + 3, CURVE_COUNT + 5), slice(CURVE_COUNT + 6, CURVE_COUNT + 8))


def _message(address: str, *args: object) -> bytes:
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build().dgram


def _prefix(address: str, name: str, floats: int) -> bytes:
    """The bytes of ``address (name, 0.0 x floats)`` without the floats (python-osc's layout)."""
    return _message(address, name, *([0.0] * floats))[:-4 * floats]


def _element(message: bytes) -> bytes:
    """A bundle element: int32 size, then the message."""
    return struct.pack(">i", len(message)) + message


def _bundle_header() -> bytes:
    """``#bundle`` (NUL-padded) and the time tag "immediately" (the first 16 bytes of any bundle)."""
    builder = OscBundleBuilder(IMMEDIATELY)
    builder.add_content(OscMessageBuilder(BLEND_APPLY).build())
    return builder.build().dgram[:16]


_BUNDLE_HEADER = _bundle_header()
# The bundle up to Apply with every blend value 0, and the 4-byte slots of the 52 values in it
# (OSC keeps every field 4-byte aligned, so the slots index it as big-endian float32).
_BLEND_ELEMENTS = [_element(_message(BLEND_VAL, name, 0.0)) for name in CURVE_NAMES]
_BLEND_SLOTS = (np.cumsum([len(e) for e in _BLEND_ELEMENTS]) + len(_BUNDLE_HEADER)) // 4 - 1
_BONE_PREFIXES = {bone: _prefix(BONE_POS, bone, 7) for bone in ("Head", *EYE_BONES)}
_APPLY = _element(_message(BLEND_APPLY))
_BLENDS_TEMPLATE = _BUNDLE_HEADER + b"".join(_BLEND_ELEMENTS) + _APPLY
_ROOT = _element(_message(ROOT_POS, "root", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0))
_OK = _element(_message(OK, *OK_ARGS))
_TIME_PREFIX = _message(TIME, 0.0)[:-4]  # address and ",f"
_FLOAT = struct.Struct(">f")
_POSE = struct.Struct(">7f")


def unity_quaternion(yaw: float, pitch: float, roll: float) -> tuple[float, float, float, float]:
    """(x, y, z, w) in the avatar's left-handed frame of the head angles (radians, ARKit's signs).

    In ARKit's face frame the rotation is :func:`models.geometry.euler_to_matrix`'s
    R_y(yaw) R_x(pitch) R_z(roll), the quaternion q_y * q_x * q_z; mirroring x turns (x, y, z, w)
    into (x, -y, -z, w). Written out (a few microseconds; scipy's Rotation takes ~0.4 ms).
    """
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    # q_y * q_x = (cy sp, sy cp, -sy sp, cy cp); then * q_z.
    ax, ay, az, aw = cy * sp, sy * cp, -sy * sp, cy * cp
    x = ax * cr + ay * sr
    y = ay * cr - ax * sr
    z = az * cr + aw * sr
    w = aw * cr - az * sr
    return x, -y, -z, w


def unity_position(point_opencv: np.ndarray) -> np.ndarray:
    """(3,) metres in the camera-centred Unity frame of a point in the OpenCV camera frame."""
    return -np.asarray(point_opencv, np.float64)


def _bone(bone: str, position: np.ndarray, quaternion: tuple[float, ...]) -> bytes:
    message = _BONE_PREFIXES[bone] + _POSE.pack(*position.tolist(), *quaternion)
    return _element(message)


class VmcEncoder:
    """Builds the OSC bundle of a frame (see the module docstring)."""

    kind = "vmc"

    def encode(self, values: np.ndarray, timestamp: float, result: FaceResult) -> bytes:
        """The bundle of one frame.

        Args:
            values: (61,) :func:`models.arkit_values.arkit_values` of ``result``.
            timestamp: the capture time (s); result: the frame's result (pose, landmarks, gaze).
        """
        values = np.asarray(values, np.float64)
        blends = bytearray(_BLENDS_TEMPLATE)
        np.frombuffer(blends, ">f4")[_BLEND_SLOTS] = values[:CURVE_COUNT]
        parts = [blends]
        head_at = unity_position(result.translation) if result.translation is not None else np.zeros(3)
        parts.append(_bone("Head", head_at, unity_quaternion(*values[HEAD_ANGLES].tolist())))
        if result.gaze is not None:
            centres = ((unity_position(result.landmarks_3d[EYE_LANDMARKS].reshape(2, 6, 3).mean(axis=1)))[::-1]
                       if result.landmarks_3d is not None else (head_at, head_at))
            for bone, angles, at in zip(EYE_BONES, EYE_ANGLES, centres, strict=True):
                yaw, pitch = values[angles].tolist()
                parts.append(_bone(bone, at, unity_quaternion(yaw, pitch, 0.0)))
        parts.append(_ROOT)
        parts.append(_OK)
        parts.append(_element(_TIME_PREFIX + _FLOAT.pack(timestamp)))
        return b"".join(parts)
