"""The embedded default source: a deterministic synthetic TrueDepth-like RGB-D stream.

``synthetic`` or ``synthetic:seed=N`` (more options: ``frames=N``, ``fps=F``,
``width=W``, ``height=H``, ``noise=0|1``, ``loop=N``). Every frame carries its ground truth.

As a ``--source`` (and in the window) it plays a rendered loop: the sequence's first
``loop`` frames (300, 10 s), rendered once in a child process into the cache and then played
forwards and backwards (:mod:`models.synthetic.loop` says why: rendering a frame costs 25-55
ms of CPU, which at 30 fps took most of a core from the pipeline and, in the same process,
made inference and refinement three times slower; playing one back costs 3-5 ms). ``loop=0``
renders every frame live instead (an endless, never-repeating performance, at the
renderer's speed). Constructed directly, :class:`SyntheticSource` renders live unless given
``loop``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from capture.base import CaptureError, FrameSource, Mode
from capture.spec import parse_options
from models.errors import RenderError
from models.frame import Frame
from models.synthetic.actor import ActorSpec, SyntheticActor
from models.synthetic.loop import DEFAULT_LOOP_FRAMES, RenderedLoop

log = logging.getLogger(__name__)


class SyntheticSource(FrameSource):
    """A seeded synthetic actor filmed by a TrueDepth-like RGB-D camera at ``fps``.

    Frames are a pure function of (seed, index), so any frame can be asked for directly
    (:meth:`frame_at`). ``num_frames`` None means endless. ``loop``: play the first ``loop``
    frames forwards and backwards from a rendered loop (see the module doc); None or 0
    renders every frame live; ``loop_folder``: where the loop is cached (default: the user
    cache, :func:`models.synthetic.loop.loop_folder`).
    """

    name = "synthetic"

    def __init__(self, seed: int = 0, width: int = 640, height: int = 480, fps: float = 30.0,
                 num_frames: int | None = None, noise: bool = True, loop: int | None = None,
                 loop_folder: Path | None = None):
        if width < 64 or height < 64 or fps <= 0:
            raise CaptureError(f"synthetic source needs at least 64x64 pixels and fps > 0, got "
                               f"{width}x{height} at {fps}")
        if loop is not None and loop < 0:
            raise CaptureError(f"synthetic option loop must be 0 (live) or a number of frames, got {loop}")
        self.seed = seed
        self.spec = ActorSpec(seed=seed, width=width, height=height, fps=fps, noise=noise)
        self.intrinsics = self.spec.intrinsics
        self._num_frames = num_frames
        self._actor = SyntheticActor(self.spec)
        self._loop = RenderedLoop(self.spec, loop, loop_folder) if loop else None
        self._open = False

    @property
    def modes(self) -> frozenset[Mode]:
        return frozenset(Mode)

    @property
    def fps(self) -> float:
        return self.spec.fps

    @property
    def num_frames(self) -> int | None:
        return self._num_frames

    @property
    def loop(self) -> RenderedLoop | None:
        """The rendered loop played back, None when frames are rendered live."""
        return self._loop

    def open(self) -> None:
        if self._open:
            return
        if self._loop is not None:
            self._loop.open()
        else:
            self._actor.open()
        self._open = True

    def close(self) -> None:
        if self._loop is not None:
            self._loop.close()
        self._actor.close()
        self._open = False

    def lighting_at(self, t: float) -> np.ndarray:
        """(9, 3) SH lighting at time ``t``: the sequence's light, its direction drifting."""
        return self._actor.lighting_at(t)

    def frame_at(self, index: int) -> Frame:
        """Frame ``index`` (from 0) of the sequence."""
        if not self._open:
            raise CaptureError("the synthetic source is not open")
        if self._loop is None:
            return self._actor.frame_at(index)
        try:
            return self._loop.frame_at(index)
        except RenderError as exc:
            raise CaptureError(str(exc)) from None

    def frames(self) -> Iterator[Frame]:
        if not self._open:
            self.open()
        index = 0
        while self._num_frames is None or index < self._num_frames:
            yield self.frame_at(index)
            index += 1


def parse_synthetic(spec: str) -> SyntheticSource | None:
    """``synthetic[:seed=N,frames=N,fps=F,width=W,height=H,noise=0|1,loop=N]``, else None."""
    name, _, rest = spec.partition(":")
    if name != "synthetic":
        return None
    options = parse_options(rest, spec)
    known = {"seed": int, "frames": int, "fps": float, "width": int, "height": int, "noise": int, "loop": int}
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
        loop=values.get("loop", DEFAULT_LOOP_FRAMES),
    )
