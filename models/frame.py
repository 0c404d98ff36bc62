"""The one frame type every source yields."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.camera import Intrinsics


@dataclass(frozen=True)
class GroundTruth:
    """What a synthetic frame was rendered from, for evaluation.

    Attributes:
        rotation: (3, 3) float64, camera from head.
        translation: (3,) float64 metres, camera frame.
        identity: (100,) float32 identity coefficients (unit variance).
        expression: (53,) float32 expression weights in [0, 1], face-model order.
        vertices: (V, 3) float32 metres, camera frame: the posed face-region mesh
            (``FaceModel.face`` region, face-model vertex order).
        landmarks_2d: (68, 2) float32 pixels in the frame's image, Multi-PIE order.
    """

    rotation: np.ndarray
    translation: np.ndarray
    identity: np.ndarray
    expression: np.ndarray
    vertices: np.ndarray
    landmarks_2d: np.ndarray


@dataclass(frozen=True, eq=False)
class Frame:
    """One captured (or rendered) moment.

    Attributes:
        index: frame number within its source, from 0.
        timestamp: seconds since the start of the source.
        intrinsics: camera of the image grid. When both rgb and depth are present they share
            this grid (sources align them).
        rgb: (H, W, 3) uint8 colour in RGB order, or None for depth-only sources.
        depth: (H, W) float32 depth in metres along the optical axis, 0 or NaN where invalid,
            or None for colour-only sources.
        ground_truth: what a synthetic frame was rendered from; None for real data.
    """

    index: int
    timestamp: float
    intrinsics: Intrinsics
    rgb: np.ndarray | None = None
    depth: np.ndarray | None = None
    ground_truth: GroundTruth | None = None

    def __post_init__(self) -> None:
        if self.rgb is None and self.depth is None:
            raise ValueError("a frame needs colour, depth or both")
        size = (self.intrinsics.height, self.intrinsics.width)
        if self.rgb is not None:
            if self.rgb.dtype != np.uint8 or self.rgb.shape != (*size, 3):
                raise ValueError(
                    f"rgb must be {size[1]}x{size[0]}x3 uint8, got {self.rgb.shape} {self.rgb.dtype}"
                )
        if self.depth is not None:
            if self.depth.dtype != np.float32 or self.depth.shape != size:
                raise ValueError(
                    f"depth must be {size[1]}x{size[0]} float32, "
                    f"got {self.depth.shape} {self.depth.dtype}"
                )

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.intrinsics.width, self.intrinsics.height
