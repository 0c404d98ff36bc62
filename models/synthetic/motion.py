"""Deterministic facial performances: who the face is and how it moves over time.

A :class:`Performance` is a pure function of (seed, time): the same seed gives the same
sequence, any frame can be computed on its own (random access for scrubbing and for
parallel data generation), and there is no end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.geometry import head_pose_to_camera
from models.synthetic.smooth_noise import SmoothSignal, channel_rng, pulse

# Limits of the head motion (degrees) and of the face distance (camera to nose tip, metres).
MAX_YAW_DEG = 40.0
MAX_PITCH_DEG = 25.0
MAX_ROLL_DEG = 15.0
FACE_DISTANCE_M = (0.30, 0.60)
# Head-frame z of the nose tip: the head origin sits this far behind it.
NOSE_TIP_Z_M = 0.13

BLINK_SLOT_S = 3.0  # at most one blink per slot
SMILE_SLOT_S = 5.0


@dataclass(frozen=True)
class FaceState:
    """Everything that defines the face at one instant.

    identity: (100,) float32; expression: (53,) float32 in [0, 1] (face-model order);
    rotation: (3, 3) float64 camera from head; translation: (3,) float64 metres, camera frame.
    """

    identity: np.ndarray
    expression: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray


class Performance:
    """An actor's identity and a never-ending, smooth performance, fixed by ``seed``.

    Expressions: blinks (both eyes, 3 s slots), talking-like jaw motion, smiles that come
    and go, brow raises and frowns, and small random activity on the remaining channels.
    Head: yaw within +-40 degrees, pitch +-25, roll +-15; face distance 0.3-0.6 m; the face
    stays inside the camera's field of view.
    """

    def __init__(self, expression_names: tuple[str, ...], seed: int = 0, num_identity: int = 100,
                 identity_scale: float = 0.8):
        self.seed = seed
        self.names = expression_names
        self._index = {name: i for i, name in enumerate(expression_names)}
        rng = channel_rng(seed, 0)
        self.identity = (rng.standard_normal(num_identity) * identity_scale).astype(np.float32)
        self._channel = [SmoothSignal(channel_rng(seed, 1, i), 0.05, 0.4) for i in range(len(expression_names))]
        self._activity = channel_rng(seed, 2).uniform(0.0, 0.25, len(expression_names))
        self._jaw = SmoothSignal(channel_rng(seed, 3), 0.3, 1.5, components=6)
        self._talking = SmoothSignal(channel_rng(seed, 4), 0.03, 0.12)
        self._brows = SmoothSignal(channel_rng(seed, 5), 0.05, 0.3)
        self._yaw = SmoothSignal(channel_rng(seed, 6), 0.02, 0.15)
        self._pitch = SmoothSignal(channel_rng(seed, 7), 0.03, 0.2)
        self._roll = SmoothSignal(channel_rng(seed, 8), 0.02, 0.15)
        self._distance = SmoothSignal(channel_rng(seed, 9), 0.01, 0.06)
        self._lateral = (SmoothSignal(channel_rng(seed, 10), 0.02, 0.1), SmoothSignal(channel_rng(seed, 11), 0.02, 0.1))

    def _set(self, weights: np.ndarray, name: str, value: float) -> None:
        if name in self._index:
            weights[self._index[name]] = value

    def _blink(self, t: float) -> float:
        slot = int(np.floor(t / BLINK_SLOT_S))
        value = 0.0
        for k in range(max(slot - 1, 0), slot + 1):
            rng = channel_rng(self.seed, 20, k)
            start = k * BLINK_SLOT_S + rng.uniform(0, BLINK_SLOT_S - 0.4)
            value = max(value, pulse(t, start, 0.08, 0.05, 0.15))
        return value

    def _smile(self, t: float) -> float:
        slot = int(np.floor(t / SMILE_SLOT_S))
        value = 0.0
        for k in range(max(slot - 1, 0), slot + 1):
            rng = channel_rng(self.seed, 21, k)
            if rng.uniform() < 0.5:
                start = k * SMILE_SLOT_S + rng.uniform(0, SMILE_SLOT_S)
                strength = rng.uniform(0.4, 0.9)
                value = max(value, strength * pulse(t, start, 0.6, rng.uniform(0.5, 2.5), 0.8))
        return value

    def expression_at(self, t: float) -> np.ndarray:
        """(53,) float32 expression weights in [0, 1] at time ``t`` seconds."""
        weights = np.array([a * max(0.0, s(t)) for a, s in zip(self._activity, self._channel, strict=True)])
        blink = self._blink(t)
        self._set(weights, "eyeBlink_L", blink)
        self._set(weights, "eyeBlink_R", blink)
        talking = max(0.0, self._talking(t) + 0.3)
        self._set(weights, "jawOpen", min(0.7, talking * 0.9 * max(0.0, self._jaw(t) + 0.2)))
        smile = self._smile(t)
        for side in ("_L", "_R"):
            self._set(weights, "mouthSmile" + side, smile)
            self._set(weights, "cheekSquint" + side, 0.4 * smile)
        brows = self._brows(t)
        for side in ("_L", "_R"):
            self._set(weights, "browInnerUp" + side, max(0.0, brows) * 0.8)
            self._set(weights, "browOuterUp" + side, max(0.0, brows) * 0.6)
            self._set(weights, "browDown" + side, max(0.0, -brows) * 0.7)
        return np.clip(weights, 0.0, 1.0).astype(np.float32)

    def pose_at(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """(rotation (3, 3), translation (3,) metres) at time ``t``: camera from head."""
        yaw = np.radians(MAX_YAW_DEG) * self._yaw(t)
        pitch = np.radians(MAX_PITCH_DEG) * self._pitch(t)
        roll = np.radians(MAX_ROLL_DEG) * self._roll(t)
        near, far = FACE_DISTANCE_M
        face_distance = near + (far - near) * 0.5 * (1.0 + self._distance(t))
        z = face_distance + NOSE_TIP_Z_M
        # Lateral drift in proportion to the distance, so the face stays in view.
        x = 0.06 * face_distance / near * self._lateral[0](t)
        y = 0.04 * face_distance / near * self._lateral[1](t)
        return head_pose_to_camera(yaw, pitch, roll), np.array([x, y, z])

    def state_at(self, t: float) -> FaceState:
        rotation, translation = self.pose_at(t)
        return FaceState(self.identity, self.expression_at(t), rotation, translation)
