"""A seeded synthetic actor filmed by a TrueDepth-like RGB-D camera: frame ``index`` of the
embedded source, rendered on demand (the GL renderer lives on the thread that renders).

:class:`capture.synthetic.SyntheticSource` serves these frames, either rendered live or
played back from a rendered loop (:mod:`models.synthetic.loop`, which renders them in a child
process through this same class).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.camera import Intrinsics, truedepth_intrinsics
from models.face_model import load_face_model
from models.frame import Frame
from models.render.sh_lighting import random_sh
from models.sensor import TrueDepthNoiseConfig
from models.synthetic.compositor import Appearance, FaceCompositor
from models.synthetic.motion import Performance
from models.synthetic.scene import make_backdrop
from models.synthetic.smooth_noise import SmoothSignal, channel_rng


@dataclass(frozen=True)
class ActorSpec:
    """What fixes every pixel of the sequence: seed, image size, frame rate (Hz), sensor noise."""

    seed: int = 0
    width: int = 640
    height: int = 480
    fps: float = 30.0
    noise: bool = True

    @property
    def intrinsics(self) -> Intrinsics:
        return truedepth_intrinsics(self.width, self.height)


class SyntheticActor:
    """Renders frame ``index`` of the sequence ``spec`` (a pure function of spec and index)."""

    def __init__(self, spec: ActorSpec):
        self.spec = spec
        self.intrinsics = spec.intrinsics
        self._compositor: FaceCompositor | None = None
        self._light_drift = [SmoothSignal(channel_rng(spec.seed, 40, k), 0.02, 0.1) for k in range(3)]

    @property
    def is_open(self) -> bool:
        return self._compositor is not None

    def open(self) -> None:
        """Load the face model and create the renderer (on the thread that will render)."""
        if self._compositor is not None:
            return
        model = load_face_model()
        seed = self.spec.seed
        self._compositor = FaceCompositor(model, self.intrinsics, TrueDepthNoiseConfig() if self.spec.noise else None)
        self._performance = Performance(model.expression_names, seed=seed)
        rng = channel_rng(seed, 30)
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
        """Frame ``index`` (from 0): RGB, depth and ground truth; the actor must be open."""
        t = index / self.spec.fps
        state = self._performance.state_at(t)
        image = self._compositor.render(state, self._appearance, self.lighting_at(t),
                                        channel_rng(self.spec.seed, 50, index))
        return Frame(index=index, timestamp=t, intrinsics=self.intrinsics, rgb=image.rgb,
                     depth=image.depth, ground_truth=image.ground_truth)
