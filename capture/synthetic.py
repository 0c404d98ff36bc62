"""The embedded default source: a deterministic synthetic TrueDepth-like RGB-D stream.

``synthetic`` or ``synthetic:seed=N`` (more options: ``frames=N``, ``fps=F``,
``width=W``, ``height=H``, ``noise=0|1``). Every frame carries its ground truth.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np

from capture.base import CaptureError, FrameSource, Mode
from capture.spec import parse_options
from models.camera import truedepth_intrinsics
from models.face_model import load_face_model
from models.frame import Frame
from models.render.sh_lighting import random_sh
from models.sensor import TrueDepthNoiseConfig
from models.synthetic.compositor import Appearance, FaceCompositor
from models.synthetic.motion import Performance
from models.synthetic.scene import make_backdrop
from models.synthetic.smooth_noise import SmoothSignal, channel_rng

log = logging.getLogger(__name__)

class SyntheticSource(FrameSource):
    """A seeded synthetic actor filmed by a TrueDepth-like RGB-D camera at ``fps``.

    Frames are a pure function of (seed, index), so any frame can be asked for directly
    (:meth:`frame_at`). ``num_frames`` None means endless.
    """

    name = "synthetic"

    def __init__(self, seed: int = 0, width: int = 640, height: int = 480, fps: float = 30.0,
                 num_frames: int | None = None, noise: bool = True):
        if width < 64 or height < 64 or fps <= 0:
            raise CaptureError(f"synthetic source needs at least 64x64 pixels and fps > 0, got "
                               f"{width}x{height} at {fps}")
        self.seed = seed
        self.intrinsics = truedepth_intrinsics(width, height)
        self._fps = fps
        self._num_frames = num_frames
        self._noise = TrueDepthNoiseConfig() if noise else None
        self._compositor: FaceCompositor | None = None
        self._performance: Performance | None = None
        self._appearance: Appearance | None = None
        self._base_sh: np.ndarray | None = None
        self._light_drift = [SmoothSignal(channel_rng(seed, 40, k), 0.02, 0.1) for k in range(3)]

    @property
    def modes(self) -> frozenset[Mode]:
        return frozenset(Mode)

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def num_frames(self) -> int | None:
        return self._num_frames

    def open(self) -> None:
        if self._compositor is not None:
            return
        model = load_face_model()
        self._compositor = FaceCompositor(model, self.intrinsics, self._noise)
        self._performance = Performance(model.expression_names, seed=self.seed)
        rng = channel_rng(self.seed, 30)
        backdrop = make_backdrop(self.intrinsics, rng)
        self._appearance = Appearance.sample(self._compositor.albedo_model, backdrop, rng)
        self._base_sh = random_sh(rng)

    def close(self) -> None:
        self._compositor = None

    def lighting_at(self, t: float) -> np.ndarray:
        """(9, 3) SH lighting at time ``t``: the sequence's light, its direction drifting."""
        sh = self._base_sh.copy()
        sh[1:4] += 0.25 * abs(sh[0, 0]) * np.array([[s(t)] for s in self._light_drift])
        return sh

    def frame_at(self, index: int) -> Frame:
        """Frame ``index`` (from 0) of the sequence."""
        if self._compositor is None:
            raise CaptureError("the synthetic source is not open")
        t = index / self._fps
        state = self._performance.state_at(t)
        image = self._compositor.render(state, self._appearance, self.lighting_at(t),
                                        channel_rng(self.seed, 50, index))
        return Frame(index=index, timestamp=t, intrinsics=self.intrinsics, rgb=image.rgb,
                     depth=image.depth, ground_truth=image.ground_truth)

    def frames(self) -> Iterator[Frame]:
        if self._compositor is None:
            self.open()
        index = 0
        while self._num_frames is None or index < self._num_frames:
            yield self.frame_at(index)
            index += 1


def parse_synthetic(spec: str) -> SyntheticSource | None:
    """``synthetic[:seed=N,frames=N,fps=F,width=W,height=H,noise=0|1]``, else None."""
    name, _, rest = spec.partition(":")
    if name != "synthetic":
        return None
    options = parse_options(rest, spec)
    known = {"seed": int, "frames": int, "fps": float, "width": int, "height": int, "noise": int}
    values = {}
    for key, text in options.items():
        if key not in known:
            raise CaptureError(f"unknown synthetic option {key!r}; known: {', '.join(known)}")
        try:
            values[key] = known[key](text)
        except ValueError:
            raise CaptureError(f"synthetic option {key}={text!r} is not a number") from None
    return SyntheticSource(
        seed=values.get("seed", 0), width=values.get("width", 640), height=values.get("height", 480),
        fps=values.get("fps", 30.0), num_frames=values.get("frames"), noise=bool(values.get("noise", 1)),
    )
