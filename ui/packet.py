"""What the GUI draws for one processed frame, prepared on the pipeline thread (no Qt).

The GUI thread only hands these arrays to VisPy and pyqtgraph; everything that costs time
(normals, colour-mapped depth, the point cloud, ARKit curves) is computed here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from models.face_model import FaceModel
from models.face_model.arkit import ARKIT_NAMES
from models.face_result import FaceResult
from models.frame import Frame
from ui.scene_data import EyeballGeometry, EyeMeshes, MeshArrays, head_from_view, mesh_arrays, point_cloud

# The curves the blendshape plot shows by default (ARKit names).
DEFAULT_CURVES: tuple[str, ...] = ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "mouthSmileLeft",
                                   "mouthSmileRight", "browInnerUp")
MAX_PREVIEW_WIDTH = 400  # preview images are subsampled to at most this width (pixels)


@dataclass(frozen=True, eq=False)
class DisplayPacket:
    """One frame's worth of display data.

    Attributes:
        index, timestamp: the source frame's number and time (s); mode: ``rgb``/``depth``/``rgbd``.
        found: whether the pipeline found a face in this frame (else ``mesh`` is the held face).
        image_size: (width, height) of the source image in pixels.
        rgb: (h, w, 3) uint8 source colour for the preview (subsampled to at most 400 pixels
            wide; it covers the whole source image), or None.
        depth_rgb: (h, w, 3) uint8 colour-mapped depth (black where invalid), or None; it
            covers the source image too.
        landmarks_2d: (68, 2) float32 pixels of the source image, or None.
        crop_outline: (5, 2) float32 closed polygon (pixels) around the face, or None.
        mesh: scene-frame mesh (:class:`ui.scene_data.MeshArrays`), or None.
        eyes: the eyeballs turned with the gaze (:class:`ui.scene_data.EyeMeshes`), or None.
        head_from_view: (4, 4) float64 scene -> head frame (head-stabilised view), or None.
        points: (M, 3) float32 scene-frame input point cloud, or None.
        curves: ARKit name -> weight for the plotted blendshapes (empty without a face).
        pipeline_ms: the pipeline's own latency for this frame; stage_ms: per stage.
        captured_at: ``time.perf_counter()`` when the source delivered the frame.
    """

    index: int
    timestamp: float
    mode: str
    found: bool
    image_size: tuple[int, int]
    rgb: np.ndarray | None = None
    depth_rgb: np.ndarray | None = None
    landmarks_2d: np.ndarray | None = None
    crop_outline: np.ndarray | None = None
    mesh: MeshArrays | None = None
    eyes: EyeMeshes | None = None
    head_from_view: np.ndarray | None = None
    points: np.ndarray | None = None
    curves: dict[str, float] = field(default_factory=dict)
    pipeline_ms: float = 0.0
    stage_ms: dict[str, float] = field(default_factory=dict)
    captured_at: float = 0.0


def crop_outline(result: FaceResult) -> np.ndarray | None:
    """(5, 2) closed outline of the face crop in source pixels, or None without a face.

    Uses the pipeline's crop (a :class:`models.crop.FaceCrop`, square and rotated) when the
    result carries one, else the square around the projected landmarks.
    """
    crop = result.crop
    if crop is not None:
        centre = np.array([crop.centre_x, crop.centre_y])
        half = 0.5 * crop.size
        ex = np.array([np.cos(crop.angle), np.sin(crop.angle)]) * half
        ey = np.array([-np.sin(crop.angle), np.cos(crop.angle)]) * half
    elif result.landmarks_2d is not None:
        low, high = result.landmarks_2d.min(axis=0), result.landmarks_2d.max(axis=0)
        centre = 0.5 * (low + high)
        half = 0.6 * float(np.max(high - low))
        ex, ey = np.array([half, 0.0]), np.array([0.0, half])
    else:
        return None
    corners = [centre - ex - ey, centre + ex - ey, centre + ex + ey, centre - ex + ey, centre - ex - ey]
    return np.asarray(corners, dtype=np.float32)


def preview_step(width: int) -> int:
    """The subsampling step that brings an image ``width`` pixels wide to the preview size."""
    return max(1, int(np.ceil(width / MAX_PREVIEW_WIDTH)))


def colour_depth(depth: np.ndarray, lut: np.ndarray, near: float, far: float) -> np.ndarray:
    """(h, w, 3) uint8: depth (metres) through ``lut`` (256, 3) uint8 over [near, far].

    Invalid depth (0, NaN) is black. Wide images are subsampled to the preview size.
    """
    step = preview_step(depth.shape[1])
    depth = depth[::step, ::step]
    valid = np.isfinite(depth) & (depth > 0)
    scaled = (np.where(valid, depth, far) - near) * (255.0 / max(far - near, 1e-6))
    index = np.clip(scaled, 0, 255).astype(np.uint8)
    image = lut[index]
    image[~valid] = 0
    return image


def depth_range(depth: np.ndarray, result: FaceResult | None) -> tuple[float, float]:
    """Colour-map limits in metres: around the face when there is one, else the scene's range."""
    if result is not None and result.translation is not None:
        z = float(result.translation[2])
        return z - 0.12, z + 0.3
    valid = depth[np.isfinite(depth) & (depth > 0)]
    if valid.size == 0:
        return 0.0, 1.0
    low, high = np.percentile(valid[:: max(1, valid.size // 5000)], [2, 98])
    return float(low), float(max(high, low + 0.05))


class PacketBuilder:
    """Builds :class:`DisplayPacket` objects; :meth:`build` runs on the pipeline thread.

    Args:
        model: the face model (topology of the face region, ARKit mapping).
        lut: (256, 3) uint8 colour map of the depth preview.
        curves: ARKit names of the blendshape curves to compute.

    The options (:attr:`point_cloud`, :attr:`curves`) may be changed from any thread.
    """

    def __init__(self, model: FaceModel, lut: np.ndarray, curves: tuple[str, ...] = DEFAULT_CURVES):
        self.model = model
        self.lut = np.asarray(lut, dtype=np.uint8)[:, :3]
        self._faces: dict[str, np.ndarray] = {}
        self.eyeballs = EyeballGeometry(model)
        self._lock = threading.Lock()
        self.point_cloud = False
        self._curve_names: tuple[str, ...] = ()
        self._curve_rows = np.zeros((0, model.num_expression), dtype=np.float32)
        self.curves = curves

    @property
    def curves(self) -> tuple[str, ...]:
        return self._curve_names

    @curves.setter
    def curves(self, names: tuple[str, ...]) -> None:
        rows = [ARKIT_NAMES.index(name) for name in names]
        with self._lock:
            self._curve_names = tuple(names)
            self._curve_rows = self.model.arkit_matrix[rows]

    def faces_for(self, region: str) -> np.ndarray:
        """The triangles of the face model's ``region`` (int32, cached)."""
        if region not in self._faces:
            self._faces[region] = np.ascontiguousarray(self.model.region(region).triangles, dtype=np.int32)
        return self._faces[region]

    def build(self, frame: Frame, result: FaceResult, captured_at: float) -> DisplayPacket:
        with self._lock:
            names, rows = self._curve_names, self._curve_rows
        mesh = pose = points = eyes = None
        curves: dict[str, float] = {}
        if result.has_face:
            mesh = mesh_arrays(result.vertices, self.faces_for(result.region))
            eyes = self.eyeballs.meshes(result)
            if result.rotation is not None and result.translation is not None:
                pose = head_from_view(result.rotation, result.translation)
            if result.expression is not None and len(names):
                values = rows @ np.asarray(result.expression, dtype=np.float32)
                curves = dict(zip(names, values.tolist(), strict=True))
        depth_rgb = None
        if frame.depth is not None:
            near, far = depth_range(frame.depth, result if result.has_face else None)
            depth_rgb = colour_depth(frame.depth, self.lut, near, far)
            if self.point_cloud:
                centre = None
                if result.has_face and result.translation is not None:
                    centre = result.vertices.mean(axis=0)
                points = point_cloud(frame.depth, frame.intrinsics, near=centre)
        return DisplayPacket(
            index=result.index, timestamp=result.timestamp, mode=result.mode, found=result.found,
            image_size=frame.size, depth_rgb=depth_rgb,
            rgb=None if frame.rgb is None else frame.rgb[:: preview_step(frame.size[0]), :: preview_step(frame.size[0])],
            landmarks_2d=result.landmarks_2d, crop_outline=crop_outline(result) if result.has_face else None,
            mesh=mesh, eyes=eyes, head_from_view=pose, points=points, curves=curves,
            pipeline_ms=result.latency_ms, stage_ms=dict(result.stage_ms), captured_at=captured_at,
        )
