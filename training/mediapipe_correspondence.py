"""Where MediaPipe's 468 face-mesh points lie on the ICT-FaceKit surface, measured on our renders.

    python -m training.mediapipe_correspondence [--seeds 2000-2011] [--frames 12] [--out assets/mediapipe_to_ict.npz]

For synthetic actors whose geometry is known, each frame is rendered (colour by the synthetic
source, triangle ids and barycentrics by the GL renderer on the same posed mesh), MediaPipe's
landmark model runs on a MediaPipe-style crop (the face box 1.5x, upright; a second pass on
the crop its own points give), and each point's pixel is looked up in the render: the face
triangle there and the barycentrics give the surface point, read on the model's neutral
template (a fixed embedding of the surface). Per point, the median of those template points
over all frames is snapped to the nearest face triangle. Points that land on the face surface
in fewer than 3 frames (eyelid margins over the eyeball) use every hit on the model; a point
never on the model fails the build.

The asset (``.npz``): ``triangles`` (468, 3) int32 vertex indices, ``barycentrics`` (468, 3)
float32, ``spread_mm`` (468,) float32 the median distance (mm, on the template) of a point's
hits from its median (large on the face's silhouette, where the point slides with the view),
``hits`` (468,) int32 frames that saw it on the face. Imports ``models`` and ``runtime`` only.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from models.camera import Intrinsics, truedepth_intrinsics
from models.crop import FaceCrop, crop_camera, warp_rgb
from models.face_model import REGION_SIZES, FaceModel, load_face_model
from models.frame import Frame
from models.render.renderer import MeshRenderer
from models.render.sh_lighting import random_sh
from models.synthetic.compositor import Appearance, FaceCompositor
from models.synthetic.motion import Performance
from models.synthetic.scene import make_backdrop
from models.synthetic.smooth_noise import channel_rng
from runtime.mediapipe import FaceLandmarker
from runtime.mediapipe.landmarks import landmark_box

log = logging.getLogger(__name__)

DEFAULT_ASSET = Path(__file__).resolve().parent.parent / "assets" / "mediapipe_to_ict.npz"
NUM_POINTS = 468
# The 68 landmarks' eye corners (Multi-PIE 36 and 45), for the first crop's roll.
EYE_CORNERS_68 = (36, 45)
CROP_SCALE = 1.5
CROP_SIZE = 192
FPS = 30.0
MIN_FACE_HITS = 3


@dataclass(frozen=True, eq=False)
class Observation:
    """MediaPipe's points on one rendered frame and what the render shows under them.

    points_px: (468, 2) float64 image pixels; template: (468, 3) float64 head-frame metres on
    the neutral template of the surface under each point; on_mesh: (468,) bool the pixel shows
    the model (skin, eyeball, mouth interior); on_face: (468,) bool it shows a face-region
    triangle; score: the landmark model's face score.
    """

    points_px: np.ndarray
    template: np.ndarray
    on_mesh: np.ndarray
    on_face: np.ndarray
    score: float


def upright_crop(points_px: np.ndarray, corners: tuple[int, int], scale: float = CROP_SCALE) -> FaceCrop:
    """A square crop ``scale`` x the points' box, turned so the two ``corners`` points are level
    (:func:`runtime.mediapipe.landmarks.landmark_box`)."""
    centre, side, angle = landmark_box(points_px, scale, corners)
    return FaceCrop(float(centre[0]), float(centre[1]), side, angle)


def run_landmarks(landmarker, rgb: np.ndarray, intrinsics: Intrinsics, crop: FaceCrop) -> tuple[np.ndarray, float]:
    """MediaPipe's (468, 2) image-pixel points and face score on ``crop`` of ``rgb``."""
    camera = crop_camera(intrinsics, crop, CROP_SIZE)
    result = landmarker.run(warp_rgb(rgb, camera))
    return camera.crop_to_source_pixels(result.points[:, :2].astype(np.float64)), result.score


class SurfaceLookup:
    """Renders the posed model's visible region and reads the surface under image points."""

    def __init__(self, model: FaceModel, intrinsics: Intrinsics):
        self.model = model
        self.intrinsics = intrinsics
        self.renderer = MeshRenderer(intrinsics.width, intrinsics.height)
        self.triangles = model.region("visible").triangles
        self.num_face = REGION_SIZES["face"]
        self._colors = np.full((REGION_SIZES["visible"], 3), 0.5, np.float32)

    def __call__(self, frame: Frame, points_px: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(K, 3) template points, (K,) bool on the mesh and (K,) bool on the face region, of
        ``points_px`` in ``frame`` (its truth known)."""
        truth = frame.ground_truth
        head = self.model.vertices(truth.identity, truth.expression, region="visible")
        posed = (head.astype(np.float64) @ truth.rotation.T + truth.translation).astype(np.float32)
        render = self.renderer.render(posed, self.triangles, self.intrinsics, self._colors,
                                      outputs=("triangle_id", "barycentrics"))
        h, w = render.triangle_id.shape
        cols = np.clip(np.rint(points_px[:, 0]).astype(int), 0, w - 1)
        rows = np.clip(np.rint(points_px[:, 1]).astype(int), 0, h - 1)
        ids = render.triangle_id[rows, cols]
        corners = self.triangles[np.maximum(ids, 0)]
        on_face = (ids >= 0) & np.all(corners < self.num_face, axis=1)
        bary = render.barycentrics[rows, cols].astype(np.float64)
        template = np.einsum("kc,kcd->kd", bary, self.model.template[corners].astype(np.float64))
        return template, ids >= 0, on_face

    def release(self) -> None:
        self.renderer.release()


def observe(frames: Iterable[Frame], model: FaceModel, landmarker, min_score: float = 0.5) -> Iterator[Observation]:
    """One :class:`Observation` per frame whose face the landmark model accepts."""
    lookup: SurfaceLookup | None = None
    try:
        for frame in frames:
            if lookup is None:
                lookup = SurfaceLookup(model, frame.intrinsics)
            crop = upright_crop(frame.ground_truth.landmarks_2d, EYE_CORNERS_68)
            points, score = run_landmarks(landmarker, frame.rgb, frame.intrinsics, crop)
            points, score = run_landmarks(landmarker, frame.rgb, frame.intrinsics,
                                          upright_crop(points, (33, 263)))
            if score < min_score:
                log.info("frame %d: face score %.2f, skipped", frame.index, score)
                continue
            template, on_mesh, on_face = lookup(frame, points)
            yield Observation(points, template, on_mesh, on_face, score)
    finally:
        if lookup is not None:
            lookup.release()


def closest_surface_points(model: FaceModel, points: np.ndarray, candidates: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Snap (K, 3) head-frame points to the template's face triangles: (K, 3) int32 triangles,
    (K, 3) float32 barycentrics (clamped into the triangle) of the nearest surface point."""
    triangles = model.region("face").triangles
    template = model.template.astype(np.float64)
    tree = cKDTree(template[: REGION_SIZES["face"]])
    incident: dict[int, list[int]] = {}
    for t, tri in enumerate(triangles):
        for v in tri:
            incident.setdefault(int(v), []).append(t)
    out_tri = np.zeros((len(points), 3), np.int32)
    out_bary = np.zeros((len(points), 3), np.float32)
    _, near = tree.query(points, k=candidates)
    for k, p in enumerate(points):
        cands = sorted({t for v in near[k] for t in incident.get(int(v), [])})
        best = (np.inf, None, None)
        for t in cands:
            bary = _triangle_barycentrics(p, template[triangles[t]])
            q = bary @ template[triangles[t]]
            dist = float(np.linalg.norm(q - p))
            if dist < best[0]:
                best = (dist, t, bary)
        out_tri[k] = triangles[best[1]]
        out_bary[k] = best[2]
    return out_tri, out_bary


def _triangle_barycentrics(p: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Barycentrics of the point of triangle ``corners`` (3, 3) nearest ``p`` (approximately:
    the plane projection, clamped to the triangle and renormalised)."""
    a, b, c = corners
    v0, v1, v2 = b - a, c - a, p - a
    d00, d01, d11 = v0 @ v0, v0 @ v1, v1 @ v1
    d20, d21 = v2 @ v0, v2 @ v1
    denom = d00 * d11 - d01 * d01
    if abs(denom) < 1e-18:
        return np.array([1.0, 0.0, 0.0])
    v = (d11 * d20 - d01 * d21) / denom
    w = (d00 * d21 - d01 * d20) / denom
    bary = np.clip(np.array([1.0 - v - w, v, w]), 0.0, None)
    return bary / bary.sum()


def solve(model: FaceModel, observations: list[Observation]) -> dict[str, np.ndarray]:
    """The asset's arrays from the observations (see the module docstring)."""
    if not observations:
        raise RuntimeError("no frame gave MediaPipe points to build from")
    template = np.stack([o.template for o in observations])  # (F, 468, 3)
    on_face = np.stack([o.on_face for o in observations])  # (F, 468)
    on_mesh = np.stack([o.on_mesh for o in observations])
    hits = on_face.sum(axis=0)
    if np.any(on_mesh.sum(axis=0) == 0):
        raise RuntimeError(f"points never seen on the model: {np.flatnonzero(on_mesh.sum(axis=0) == 0).tolist()}")
    median = np.zeros((NUM_POINTS, 3))
    spread = np.zeros(NUM_POINTS)
    for k in range(NUM_POINTS):
        # eyelid-margin points may mostly land on the eyeball: then every hit counts
        seen = template[on_face[:, k] if hits[k] >= MIN_FACE_HITS else on_mesh[:, k], k]
        median[k] = np.median(seen, axis=0)
        spread[k] = np.median(np.linalg.norm(seen - median[k], axis=1)) * 1000.0
    triangles, barycentrics = closest_surface_points(model, median)
    return {"triangles": triangles, "barycentrics": barycentrics, "spread_mm": spread.astype(np.float32),
            "hits": hits.astype(np.int32)}


def synthetic_frames(seeds: Iterable[int], frames_per_seed: int, step: int = 17,
                     intrinsics: Intrinsics | None = None) -> Iterator[Frame]:
    """Frames ``0, step, 2 step, ...`` (at 30 fps) of each seed's synthetic actor, noise-free
    colour, rendered as the synthetic source renders them."""
    model = load_face_model()
    camera = intrinsics or truedepth_intrinsics()
    compositor = FaceCompositor(model, camera, noise=None)
    try:
        for seed in seeds:
            performance = Performance(model.expression_names, seed=seed)
            rng = channel_rng(seed, 30)
            appearance = Appearance.sample(compositor.albedo_model, make_backdrop(camera, rng), rng)
            sh = random_sh(rng)
            for k in range(frames_per_seed):
                index = k * step
                image = compositor.render(performance.state_at(index / FPS), appearance, sh,
                                          channel_rng(seed, 50, index))
                yield Frame(index=index, timestamp=index / FPS, intrinsics=camera, rgb=image.rgb,
                            depth=image.depth, ground_truth=image.ground_truth)
    finally:
        compositor.renderer.release()


def _seed_range(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.mediapipe_correspondence", description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="2000-2011", help="synthetic actors to build from (a range, e.g. 2000-2011)")
    parser.add_argument("--frames", type=int, default=12, help="frames per actor")
    parser.add_argument("--out", type=Path, default=DEFAULT_ASSET)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    model = load_face_model()
    observations = list(observe(synthetic_frames(_seed_range(args.seeds), args.frames), model, FaceLandmarker()))
    arrays = solve(model, observations)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    sys.stdout.write(f"{len(observations)} frames; spread median {np.median(arrays['spread_mm']):.2f} mm, "
                     f"90th percentile {np.percentile(arrays['spread_mm'], 90):.2f} mm; written {args.out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
