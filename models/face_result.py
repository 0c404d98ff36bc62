"""The one result type every sink receives: the face found in one frame."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models.camera import Intrinsics
from models.crop import FaceCrop


@dataclass(frozen=True, eq=False)
class FaceResult:
    """What the pipeline made of one source frame.

    All 3D values are in the capture camera's OpenCV frame (x right, y down, z forward), in
    metres; exporters convert at the edge.

    Attributes:
        index, timestamp: the source frame's number and time (s).
        intrinsics: the camera of the source image (pixels of the source grid).
        found: False when no face was found; then the arrays hold the last good face (or are
            None before the first one) so that sinks can repeat it and stay frame-aligned.
        rotation: (3, 3) float64 camera from head; translation: (3,) float64 metres.
        identity: (100,) float32; expression: (53,) float32 in [0, 1] (face-model order).
        vertices: (N, 3) float32 posed vertices of the face model's ``region`` (9409 for
            ``face``), face-model vertex order.
        region: the face-model region ``vertices`` holds (``face``).
        crop: the crop the network saw this frame (source pixels, rotated square); None when
            no face was localized.
        landmarks_3d: (68, 3) float32; landmarks_2d: (68, 2) float32 pixels of the source
            image (Multi-PIE order).
        mode: the input mode that produced it (``rgb``, ``depth`` or ``rgbd``).
        stage_ms: milliseconds spent per pipeline stage on this frame.
        latency_ms: frame in to result out, in milliseconds.
        confidence: in [0, 1], the fraction of the face's visible surface the depth map
            confirms (depth modes); None where nothing measured it (RGB mode, not found).
        gaze: (2, 2) float32 radians, rows left then right eye (the subject's), columns yaw
            then pitch in the head frame with ARKit's signs (yaw > 0 toward the subject's
            left, pitch > 0 down); None where no eye was measured.
        blink: (2,) float32, left then right eye, 0 open to 1 closed; None where not measured.
        mesh_points_2d: (468, 2) float32 pixels of the source image: MediaPipe's face
            landmarks (canonical face mesh order) from the colour localizer; None without
            colour or when it found no face.
        mesh_score: the landmark model's face score in [0, 1] for those points, else None.
        iris_2d: (2, 5, 2) float32 source pixels, rows the subject's left then right eye, each
            the iris centre then four points on its edge; None where not measured.
        eye_contour_2d: (2, 71, 2) float32 source pixels, same rows: MediaPipe's eye contour
            and brow points (the first 16 the eyelid contour); None where not measured.
    """

    index: int
    timestamp: float
    intrinsics: Intrinsics
    found: bool
    rotation: np.ndarray | None = None
    translation: np.ndarray | None = None
    identity: np.ndarray | None = None
    expression: np.ndarray | None = None
    vertices: np.ndarray | None = None
    landmarks_3d: np.ndarray | None = None
    landmarks_2d: np.ndarray | None = None
    mode: str = ""
    stage_ms: dict[str, float] = field(default_factory=dict)
    latency_ms: float = 0.0
    confidence: float | None = None
    region: str = "face"
    crop: FaceCrop | None = None
    gaze: np.ndarray | None = None
    blink: np.ndarray | None = None
    mesh_points_2d: np.ndarray | None = None
    mesh_score: float | None = None
    iris_2d: np.ndarray | None = None
    eye_contour_2d: np.ndarray | None = None

    @property
    def has_face(self) -> bool:
        """True when there is a mesh to show or export (found now, or held from before)."""
        return self.vertices is not None
