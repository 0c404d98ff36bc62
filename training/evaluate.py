"""Held-out synthetic evaluation of exported weights, through ONNX Runtime.

Protocol (paper Sec. IV, network only, no refinement):

* sequences: :class:`models.synthetic.motion.Performance` seeds from ``evaluation.seeds``
  (1000 and up; training never draws them), rendered as full 640x480 TrueDepth-like frames by
  :class:`models.synthetic.compositor.FaceCompositor` with the default sensor noise, each
  sequence with its own backdrop, appearance and lighting, ``frames_per_seed`` frames
  ``frame_stride`` frames apart at 30 fps;
* crops: :func:`models.crop.prepare_inputs` around the ground-truth face centre and roll,
  with localizer-like jitter of the centre, size and angle;
* networks: the exported ``.onnx`` files run by the app's own :class:`runtime.branches.Branch`
  (sidecar recipes, the app's session options, the CPU with ``threads`` threads); meshes: the
  app's :class:`runtime.branches.Decoder` (the face model's linear face plus the exported
  corrective; the narrow face is scored), posed with the predicted rotation and translation
  in the camera;
* error: per-vertex Euclidean distance to the ground-truth narrow-face vertices, in mm, pooled
  over all frames: mean and median. Depth and RGB-D: in the camera frame. RGB: after a
  similarity (Umeyama) alignment to the ground truth, as the paper does for RGB input;
* speed: median milliseconds per frame of each branch's ``session.run`` (batch 1);
* breakdown, to tell pose from shape: the median rotation error (degrees, geodesic) and
  face-centre error (mm, in the camera frame; for RGB, whose scale is ambiguous, before
  alignment) of the predicted pose, and the mean vertex error of the predicted shape placed
  under the true pose (mm);
* reference rows: the mean face (zero identity and expression) under the true pose, and
  similarity-aligned: what a network that knows nothing about the shape would score.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.camera import truedepth_intrinsics
from models.conventions import face_centre_in_head
from models.crop import angle_from_up, crop_from_point, prepare_inputs
from models.face_model import REGION_SIZES, load_face_model
from models.mode import Mode
from models.render.sh_lighting import random_sh
from models.synthetic.compositor import Appearance, FaceCompositor
from models.synthetic.motion import Performance
from models.synthetic.scene import make_backdrop
from models.synthetic.smooth_noise import channel_rng
from runtime.branches import Branch, Decoder
from runtime.onnx_session import SessionConfig
from runtime.sidecar import Sidecar
from training.config import EvalConfig
from training.export import random_inputs
from training.geometry import umeyama
from training.network.model import BRANCHES
from training.onnx_io import time_session

__all__ = ["BranchResult", "evaluate_assets", "format_results"]

log = logging.getLogger(__name__)

NARROW = REGION_SIZES["narrow_face"]
FPS = 30.0


@dataclass
class BranchResult:
    branch: str
    mean_mm: float
    median_mm: float
    frames: int
    ms_per_frame: float
    aligned: bool
    rotation_error_deg: float = float("nan")
    centre_error_mm: float = float("nan")
    shape_error_mm: float = float("nan")

    def to_dict(self) -> dict[str, Any]:
        out = {"mean_vertex_error_mm": round(self.mean_mm, 3), "median_vertex_error_mm": round(self.median_mm, 3),
               "frames": self.frames, "ms_per_frame": round(self.ms_per_frame, 3),
               "similarity_aligned": self.aligned}
        if not math.isnan(self.shape_error_mm):
            out |= {"median_rotation_error_deg": round(self.rotation_error_deg, 3),
                    "median_centre_error_mm": round(self.centre_error_mm, 3),
                    "shape_error_true_pose_mm": round(self.shape_error_mm, 3)}
        return out


def evaluate_assets(assets: Path, config: EvalConfig | None = None, write: bool = False) -> dict[str, BranchResult]:
    """Evaluate every branch found in ``assets`` (see the module doc); optionally write the
    figures into the sidecars' ``evaluation`` entries."""
    config = config or EvalConfig()
    present = [b for b in BRANCHES if (assets / f"{b}.json").exists()]
    if not present:
        raise FileNotFoundError(f"no branch sidecars (rgb.json, depth.json, rgbd.json) in {assets}")
    model = load_face_model()
    session = SessionConfig(threads=config.threads, use_gpu=False)
    branches = {b: Branch(assets, Mode(b), model, session) for b in present}
    decoder = Decoder(assets, model, session) if (assets / "decoder.json").exists() else None
    camera = truedepth_intrinsics()
    compositor = FaceCompositor(model, camera)
    centre_head = face_centre_in_head(model)
    errors: dict[str, list[np.ndarray]] = {b: [] for b in branches}
    breakdown: dict[str, dict[str, list[float]]] = {b: {"rotation": [], "centre": [], "shape": []} for b in branches}
    # Reference: the mean face (no identity, no expression) under the true pose, and aligned.
    mean_face = model.vertices(region="narrow_face").astype(np.float64)
    reference: dict[str, list[np.ndarray]] = {"mean face, true pose": [], "mean face, aligned": []}
    for seed in config.seeds:
        performance = Performance(model.expression_names, seed=seed)
        rng = channel_rng(seed, 30)
        appearance = Appearance.sample(compositor.albedo_model, make_backdrop(camera, rng), rng)
        sh = random_sh(rng)
        jitter = np.random.default_rng([seed, 99])
        for k in range(config.frames_per_seed):
            index = k * config.frame_stride
            state = performance.state_at(index / FPS)
            image = compositor.render(state, appearance, sh, channel_rng(seed, 50, index))
            truth = image.ground_truth
            centre = truth.rotation @ centre_head + truth.translation
            up = camera.project(centre + truth.rotation[:, 1] * 0.05) - camera.project(centre)
            angle = angle_from_up(up, camera) + math.radians(jitter.normal(0, config.roll_jitter_deg))
            gt = truth.vertices[:NARROW].astype(np.float64)
            posed_mean = mean_face @ truth.rotation.T + truth.translation
            reference["mean face, true pose"].append(np.linalg.norm(posed_mean - gt, axis=1) * 1000.0)
            s, r, t = umeyama(mean_face, gt)
            reference["mean face, aligned"].append(np.linalg.norm(s * mean_face @ r.T + t - gt, axis=1) * 1000.0)
            for branch, runner in branches.items():
                recipe = runner.recipe
                extent = recipe.metric_extent_m * math.exp(jitter.normal(0, config.crop_scale_jitter))
                crop = crop_from_point(camera, centre, extent, angle)
                shift = jitter.normal(0, config.crop_centre_jitter * crop.size, 2)
                crop = type(crop)(crop.centre_x + shift[0], crop.centre_y + shift[1], crop.size, crop.angle)
                output = runner.run_inputs(prepare_inputs(recipe, camera, crop, rgb=image.rgb, depth=image.depth))
                head = _narrow_face(output.identity, output.expression, model, decoder)
                rotation, translation = output.rotation, output.translation
                vertices = head @ rotation.T + translation
                parts = breakdown[branch]
                parts["rotation"].append(_rotation_angle_deg(rotation @ truth.rotation.T))
                parts["centre"].append(float(np.linalg.norm(rotation @ centre_head + translation - centre)) * 1000.0)
                under_true_pose = head @ truth.rotation.T + truth.translation
                parts["shape"].append(float(np.linalg.norm(under_true_pose - gt, axis=1).mean()) * 1000.0)
                if branch == "rgb":
                    s, r, t = umeyama(vertices, gt)
                    vertices = s * vertices @ r.T + t
                errors[branch].append(np.linalg.norm(vertices - gt, axis=1) * 1000.0)
    results = {}
    for branch, runner in branches.items():
        feeds = {name: value for name, value in random_inputs(runner.recipe.size).items()
                 if name in runner.input_names}
        timing = time_session(runner.session, feeds, runs=config.timing_runs)
        pooled = np.concatenate(errors[branch])
        parts = breakdown[branch]
        results[branch] = BranchResult(branch, float(pooled.mean()), float(np.median(pooled)),
                                       len(errors[branch]), timing["median_ms"], branch == "rgb",
                                       float(np.median(parts["rotation"])), float(np.median(parts["centre"])),
                                       float(np.mean(parts["shape"])))
    for name, values in reference.items():
        pooled = np.concatenate(values)
        results[name] = BranchResult(name, float(pooled.mean()), float(np.median(pooled)), len(values), float("nan"),
                                     name.endswith("aligned"))
    if write:
        protocol = {"seeds": list(config.seeds), "frames_per_seed": config.frames_per_seed,
                    "frame_stride": config.frame_stride, "threads": config.threads,
                    "region": "narrow_face", "source": "models.synthetic FaceCompositor 640x480, held-out seeds"}
        baseline = {name: results[name].to_dict() for name in reference}
        for branch in branches:
            path = assets / f"{branch}.json"
            Sidecar.read(path).with_evaluation(
                {**results[branch].to_dict(), "protocol": protocol, "reference": baseline}).write(path)
    return results


def _rotation_angle_deg(rotation: np.ndarray) -> float:
    """The angle (degrees) of a 3x3 rotation matrix."""
    return math.degrees(math.acos(float(np.clip((np.trace(rotation) - 1.0) / 2.0, -1.0, 1.0))))


def _narrow_face(identity: np.ndarray, expression: np.ndarray, model: Any, decoder: Decoder | None) -> np.ndarray:
    """(V, 3) float64 head-frame narrow-face vertices (metres): the app's decoder where the
    assets have one, else the linear face model."""
    if decoder is not None:
        return decoder.vertices(identity, expression)[:NARROW].astype(np.float64)
    return model.vertices(identity, expression, region="narrow_face").astype(np.float64)


def format_results(results: dict[str, BranchResult]) -> str:
    """A Markdown table; the reference rows (the mean face under the true pose, and aligned)
    show what knowing nothing about the shape scores."""
    lines = ["| branch | mean mm | median mm | frames | ms/frame | alignment | rotation deg | centre mm "
             "| shape mm (true pose) |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]

    def cell(value: float, digits: int = 2) -> str:
        return "-" if math.isnan(value) else f"{value:.{digits}f}"

    for r in results.values():
        lines.append(f"| {r.branch} | {r.mean_mm:.2f} | {r.median_mm:.2f} | {r.frames} | {cell(r.ms_per_frame)} | "
                     f"{'similarity' if r.aligned else 'none (camera frame)'} | {cell(r.rotation_error_deg)} | "
                     f"{cell(r.centre_error_mm)} | {cell(r.shape_error_mm)} |")
    return "\n".join(lines)
