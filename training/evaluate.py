"""Held-out synthetic evaluation of exported weights, through ONNX Runtime.

Protocol (paper Sec. IV, network only, no refinement):

* sequences: :class:`models.synthetic.motion.Performance` seeds from ``evaluation.seeds``
  (1000 and up; training never draws them), rendered as full 640x480 TrueDepth-like frames by
  :class:`models.synthetic.compositor.FaceCompositor` with the default sensor noise, each
  sequence with its own backdrop, appearance and lighting, ``frames_per_seed`` frames
  ``frame_stride`` frames apart at 30 fps;
* crops: :func:`models.crop.prepare_inputs` around the ground-truth face centre and roll,
  with localizer-like jitter of the centre, size and angle;
* networks: the exported ``.onnx`` files (sidecar recipes), ONNX Runtime on the CPU with
  ``threads`` threads; meshes: the face model's linear narrow face plus the exported
  corrective, posed with the predicted rotation and translation mapped back to the camera;
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

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.camera import truedepth_intrinsics
from models.crop import CropRecipe, angle_from_up, crop_from_point, prepare_inputs
from models.face_model import REGION_SIZES, load_face_model
from models.render.sh_lighting import random_sh
from models.synthetic.compositor import Appearance, FaceCompositor
from models.synthetic.motion import Performance
from models.synthetic.scene import make_backdrop
from models.synthetic.smooth_noise import channel_rng
from training.config import EvalConfig
from training.data.synthetic import face_centre_in_head
from training.export import random_inputs, update_sidecar
from training.geometry import umeyama
from training.network.layout import OutputLayout
from training.network.model import BRANCHES
from training.onnx_io import ort_session, time_session

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
    sidecars = {b: json.loads((assets / f"{b}.json").read_text()) for b in BRANCHES if (assets / f"{b}.json").exists()}
    if not sidecars:
        raise FileNotFoundError(f"no branch sidecars (rgb.json, depth.json, rgbd.json) in {assets}")
    sessions = {b: ort_session(assets / s["onnx"], threads=config.threads) for b, s in sidecars.items()}
    recipes = {b: CropRecipe.from_dict(s["normalization"]) for b, s in sidecars.items()}
    layouts = {b: OutputLayout.from_sidecar(s) for b, s in sidecars.items()}
    decoder = ort_session(assets / "decoder.onnx", threads=config.threads) if (assets / "decoder.json").exists() \
        else None
    model = load_face_model()
    camera = truedepth_intrinsics()
    compositor = FaceCompositor(model, camera)
    centre_head = face_centre_in_head(model)
    errors: dict[str, list[np.ndarray]] = {b: [] for b in sidecars}
    breakdown: dict[str, dict[str, list[float]]] = {b: {"rotation": [], "centre": [], "shape": []} for b in sidecars}
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
            for branch, sidecar in sidecars.items():
                recipe = recipes[branch]
                extent = recipe.metric_extent_m * math.exp(jitter.normal(0, config.crop_scale_jitter))
                crop = crop_from_point(camera, centre, extent, angle)
                shift = jitter.normal(0, config.crop_centre_jitter * crop.size, 2)
                crop = type(crop)(crop.centre_x + shift[0], crop.centre_y + shift[1], crop.size, crop.angle)
                inputs = prepare_inputs(recipe, camera, crop, rgb=image.rgb, depth=image.depth)
                feeds = {spec["name"]: getattr(inputs, spec["name"])[None] for spec in sidecar["inputs"]}
                params = sessions[branch].run(None, feeds)[0][0]
                head, rotation, translation = _predicted_head_and_pose(params, layouts[branch], inputs, recipe, branch,
                                                                       model, decoder)
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
    for branch, sidecar in sidecars.items():
        size = sidecar["normalization"]["size"]
        feeds = {name: value for name, value in random_inputs(size).items()
                 if name in {spec["name"] for spec in sidecar["inputs"]}}
        timing = time_session(sessions[branch], feeds, runs=config.timing_runs)
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
        for branch in sidecars:
            update_sidecar(assets / f"{branch}.json", "evaluation",
                           {**results[branch].to_dict(), "protocol": protocol, "reference": baseline})
    return results


def _rotation_angle_deg(rotation: np.ndarray) -> float:
    """The angle (degrees) of a 3x3 rotation matrix."""
    return math.degrees(math.acos(float(np.clip((np.trace(rotation) - 1.0) / 2.0, -1.0, 1.0))))


def _predicted_head_and_pose(params: np.ndarray, layout: OutputLayout, inputs: Any, recipe: CropRecipe,
                             branch: str, model: Any, decoder: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From one parameter vector: the (V, 3) float64 head-frame narrow-face vertices (metres)
    and the camera-from-head pose in the source camera frame ((3, 3) rotation, (3,) metres)."""
    s = layout.slices()
    identity = params[s["identity"]].astype(np.float32)
    expression = params[s["expression"]].astype(np.float32)
    rotation = params[s["rotation"]].reshape(3, 3).astype(np.float64)
    translation = recipe.translation_from_network(params[s["translation"]], inputs.anchor(branch))
    head = model.vertices(identity, expression, region="narrow_face").astype(np.float64)
    if decoder is not None:
        corrective = decoder.run(None, {"identity": identity[None], "expression": expression[None]})[0][0]
        head += corrective[:NARROW]
    rotation_src, translation_src = inputs.camera.pose_to_source(rotation, translation)
    return head, np.asarray(rotation_src, np.float64), np.asarray(translation_src, np.float64)


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
