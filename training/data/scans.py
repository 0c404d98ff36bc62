"""3D face scans rendered to RGB-D through the speckle simulation: the paper's Eq. 10 data.

The source's path is an OBJ/PLY scan or a folder searched recursively for them (readers in
:mod:`training.data.scan_io`). Beside a scan an optional 3D landmark file with the same stem
(``head.txt`` or ``head.npy``: 68 x 3 in the scan's units, Multi-PIE order).

Scans are expected in a head frame like the face model's: **y up, z out of the face** (toward a
viewer in front), any origin. Units: the source's ``units`` (``m``, ``cm``, ``mm``), or ``auto``:
a bounding-box diagonal under 3 is metres, under 100 centimetres, else millimetres (face scans).
The face centre is the 3D landmarks' centroid; without landmarks it is placed from the nose tip,
taken as the scan's front-most vertex (largest z), by the mean face's nose-to-centre offset
(:class:`training.data.face_crops.FaceShape`), so a scan without landmarks should hold a head or
a face, not a whole bust.

Each sample (as the paper's Fig. 4 (b)): a random viewpoint drawn like the synthetic heads'
(:func:`training.data.viewpoint.random_view`: pose, distance, crop angle, one of the run's camera
presets), rendered with :class:`models.render.MeshRenderer` (the scan's vertex colours, or a
plain skin albedo, under random SH lighting) over a random backdrop, its depth passed through
:class:`models.sensor.SpeckleSimulator` (project a dot pattern, block-match it), then cropped
around the face centre with the run's jitter. Supervision: ``scan_points``, ``data.scan_points``
clean surface points sampled uniformly by area within ``metric_extent_m / 2`` of the face centre
(Eq. 10 for the depth and RGB-D branches), and the 3D landmarks (Eq. 8) when given. The colour
term (Eq. 6) applies only to scans with vertex colours.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.camera import Intrinsics
from models.crop import CropRecipe, crop_from_point
from models.render import MeshRenderer, random_sh, srgb_to_linear, to_srgb_uint8
from models.sensor import SpeckleSimulator
from training.config import DataConfig
from training.data.backdrops import random_backdrop
from training.data.errors import DataError
from training.data.face_crops import FaceShape
from training.data.landmark_files import find_landmarks, read_landmarks
from training.data.real_sample import crop_sample
from training.data.sample import Sample
from training.data.scan_io import SCAN_SUFFIXES, read_scan
from training.data.viewpoint import jitter_crop, random_view

__all__ = ["UNITS", "FaceScan", "ScanSource", "scan_scale"]

log = logging.getLogger(__name__)

UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001}
SKIN_SRGB = (0.78, 0.60, 0.52)  # the albedo of scans without colours (sRGB), varied per sample
_CACHED_SCANS = 8


def scan_scale(vertices: np.ndarray, units: str) -> float:
    """Metres per file unit for ``units`` (``m``, ``cm``, ``mm`` or ``auto``, see the module doc)."""
    if units in UNITS:
        return UNITS[units]
    if units != "auto":
        raise DataError(f"scan units must be one of {sorted(UNITS)} or 'auto', got {units!r}")
    diagonal = float(np.linalg.norm(np.ptp(vertices, axis=0)))
    return 1.0 if diagonal < 3.0 else 0.01 if diagonal < 100.0 else 0.001


@dataclass(frozen=True, eq=False)
class FaceScan:
    """A scan ready to render, in metres, head frame.

    vertices: (V, 3) float32; triangles: (T, 3) int32; albedo: (V, 3) float32 linear RGB, or None;
    landmarks: (68, 3) float64 or None; centre: (3,) float64 face centre; near: (N,) int64 the
    triangles within reach of the centre and cumulative: (N,) their normalised cumulative areas
    (the surface sampler).
    """

    vertices: np.ndarray
    triangles: np.ndarray
    albedo: np.ndarray | None
    landmarks: np.ndarray | None
    centre: np.ndarray
    near: np.ndarray
    cumulative: np.ndarray

    @classmethod
    def load(cls, path: Path, landmarks_path: Path | None, units: str, shape: FaceShape, radius_m: float) -> FaceScan:
        mesh = read_scan(path)
        scale = scan_scale(mesh.vertices, units)
        vertices = mesh.vertices * scale
        landmarks = None if landmarks_path is None else read_landmarks(landmarks_path, 3).astype(np.float64) * scale
        if landmarks is not None:
            centre = landmarks.mean(axis=0)
        else:
            centre = vertices[int(np.argmax(vertices[:, 2]))] + np.asarray(shape.nose_to_centre_m)
        corners = vertices[mesh.triangles]  # (T, 3, 3)
        areas = 0.5 * np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1)
        near = np.flatnonzero((np.linalg.norm(corners.mean(axis=1) - centre, axis=1) < radius_m) & (areas > 0))
        if near.size == 0:
            raise DataError(f"{path}: no surface within {radius_m:.2f} m of the face centre (wrong units or frame?)")
        cumulative = np.cumsum(areas[near])
        albedo = None if mesh.colours is None else srgb_to_linear(mesh.colours)
        return cls(vertices.astype(np.float32), mesh.triangles.astype(np.int32), albedo, landmarks, centre, near,
                   cumulative / cumulative[-1])

    def surface_points(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """(count, 3) float64 points uniform by area on the surface near the face centre."""
        triangles = self.triangles[self.near[np.searchsorted(self.cumulative, rng.uniform(size=count))]]
        a, b, c = (self.vertices[triangles[:, k]].astype(np.float64) for k in range(3))
        r1, r2 = np.sqrt(rng.uniform(size=(count, 1))), rng.uniform(size=(count, 1))
        return (1 - r1) * a + r1 * (1 - r2) * b + r1 * r2 * c


class ScanSource:
    """Samples of kind ``scan``: scans rendered to speckle-simulated RGB-D (see the module doc).

    Builds GL renderers and speckle simulators on first use: use it in the process (data-loader
    worker) that draws the samples (it pickles without them).

    Raises:
        DataError: the path holds no scan, or ``units`` is unknown.
    """

    kind = "scan"

    def __init__(self, path: str | Path, data: DataConfig, recipe: CropRecipe, shape: FaceShape, units: str = "auto"):
        root = Path(path)
        if root.is_file():
            scans = [root]
        elif root.is_dir():
            scans = sorted(p for p in root.rglob("*") if p.suffix.lower() in SCAN_SUFFIXES and p.is_file())
        else:
            raise DataError(f"scan source: no such file or folder: {root}")
        if not scans:
            raise DataError(f"scan source: no .obj or .ply scans in {root}")
        if units != "auto" and units not in UNITS:
            raise DataError(f"scan source {root}: units must be one of {sorted(UNITS)} or 'auto', got {units!r}")
        self.scans = scans
        self.landmarks = [find_landmarks(p, 3) for p in scans]
        self.data, self.recipe, self.shape, self.units = data, recipe, shape, units
        self.cameras = [Intrinsics.from_fov(c.width, c.height, c.hfov_deg) for c in data.cameras]
        weights = np.array([c.weight for c in data.cameras], np.float64)
        self.camera_probs = weights / weights.sum()
        self._loaded: OrderedDict[int, FaceScan] = OrderedDict()
        self._renderers: dict[int, MeshRenderer] = {}
        self._speckle: dict[int, SpeckleSimulator] = {}
        log.info("scan source %s: %d scans, %d with 3D landmarks", root, len(scans),
                 sum(p is not None for p in self.landmarks))

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_loaded"], state["_renderers"], state["_speckle"] = OrderedDict(), {}, {}
        return state

    def __len__(self) -> int:
        return len(self.scans)

    def scan(self, index: int) -> FaceScan:
        """Scan ``index`` in metres (the last few stay loaded)."""
        scan = self._loaded.pop(index, None)
        if scan is None:
            scan = FaceScan.load(self.scans[index], self.landmarks[index], self.units, self.shape,
                                 0.5 * self.recipe.metric_extent_m)
        self._loaded[index] = scan
        while len(self._loaded) > _CACHED_SCANS:
            self._loaded.popitem(last=False)
        return scan

    def _devices(self, camera_index: int) -> tuple[MeshRenderer, SpeckleSimulator]:
        if camera_index not in self._renderers:
            camera = self.cameras[camera_index]
            self._renderers[camera_index] = MeshRenderer(camera.width, camera.height)
            self._speckle[camera_index] = SpeckleSimulator(camera)
        return self._renderers[camera_index], self._speckle[camera_index]

    def render(self, scan: FaceScan, camera_index: int, rotation: np.ndarray, translation: np.ndarray,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The scan posed by (rotation, translation) over a random backdrop: (H, W, 3) uint8 sRGB,
        (H, W) float32 clean depth in metres, (H, W) float32 speckle-simulated depth."""
        camera = self.cameras[camera_index]
        renderer, speckle = self._devices(camera_index)
        albedo = scan.albedo
        if albedo is None:
            tint = srgb_to_linear(np.asarray(SKIN_SRGB, np.float32)) * rng.uniform(0.95, 1.05, 3) * rng.uniform(0.7, 1.2)
            albedo = np.broadcast_to(tint.astype(np.float32), scan.vertices.shape)
        sh = random_sh(rng) * np.float32(rng.uniform(*self.data.light_scale))
        posed = scan.vertices @ rotation.T.astype(np.float32) + translation.astype(np.float32)
        result = renderer.render(posed, scan.triangles, camera, albedo, sh=sh, outputs=("rgb", "depth"))
        backdrop = random_backdrop(camera, rng)
        rgb = np.where(result.mask[..., None], to_srgb_uint8(result.rgb), backdrop.image)
        clean = np.where(result.mask, result.depth, backdrop.depth).astype(np.float32)
        return rgb, clean, speckle.capture(clean, rng)

    def sample(self, index: int, rng: np.random.Generator) -> Sample:
        """Scan ``index`` seen from a random viewpoint (see the module doc)."""
        scan = self.scan(index)
        camera_index = int(rng.choice(len(self.cameras), p=self.camera_probs))
        camera = self.cameras[camera_index]
        view = random_view(self.data, rng, camera, scan.centre)
        rgb, _, depth = self.render(scan, camera_index, view.rotation, view.translation, rng)
        crop = jitter_crop(crop_from_point(camera, view.centre, self.recipe.metric_extent_m, view.angle), self.data, rng)
        points = scan.surface_points(self.data.scan_points, rng) @ view.rotation.T + view.translation
        landmarks = None if scan.landmarks is None else scan.landmarks @ view.rotation.T + view.translation
        return crop_sample(self.kind, self.recipe, camera, crop, rgb=rgb, depth=depth, landmarks_3d=landmarks,
                           scan_points=points, colour_term=scan.albedo is not None)

    def close(self) -> None:
        """Release the GL renderers."""
        for renderer in self._renderers.values():
            renderer.release()
        self._renderers.clear()
        self._speckle.clear()
