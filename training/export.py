"""Export a trained run to ONNX with JSON sidecars, checked against PyTorch.

Writes into the output folder:

* ``rgb.onnx``, ``depth.onnx``, ``rgbd.onnx``: one graph per branch, inputs ``rgb``
  (B, 3, S, S) and/or ``xyz`` (B, 4, S, S), output ``params`` (B, P) laid out as
  :class:`training.network.layout.OutputLayout`;
* ``decoder.onnx``: the shape decoder's learned corrective, inputs ``identity`` (B, 100) and
  ``expression`` (B, 53), output ``corrective`` (B, 9409, 3) head-frame metres, to add to the
  face model's linear ``face``-region vertices;
* ``NAME.json`` beside each: input spec, the crop/normalisation recipe
  (``models.crop.CropRecipe.to_dict``), output layout, face-model id, training config hash and
  step, the ONNX-vs-PyTorch difference, and (after ``evaluate --write``) evaluation figures.

Before anything is written, the BatchNorm running statistics are re-averaged over
``export.calibration_batches`` fresh batches of the run's own data stream with the final weights
(:mod:`training.network.batchnorm`: the averages training keeps lag its weights); the sidecars
record how many.

Each graph is run through ONNX Runtime on two more samples of that stream (random inputs when
no recalibration ran; and on the first of them alone: the batch axis stays free) and compared with
PyTorch; the export fails when the largest absolute difference exceeds the tolerance (relative
to the largest output where that is above 1). Then (unless ``half_weights`` is off) its weights are stored
as float16 (:func:`training.onnx_io.store_weights_as_float16`: half the bytes in the
repository, float32 arithmetic at run time; registered buffers, i.e. constants such as the
mesh-aligned steps' face-model geometry, stay float32) and the graph is checked again, against
``STORAGE_TOLERANCE`` relative to the largest output; both differences go into the sidecar.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.face_model import load_face_model
from models.render.albedo import ALBEDO_COMPONENTS
from runtime.onnx_session import CPU_ONLY, create_session
from runtime.sidecar import FaceModelId, Sidecar, TensorSpec
from training.checkpoint import latest_checkpoint, load_checkpoint
from training.config import TrainConfig, config_hash, from_dict
from training.data.sample import Batch, collate
from training.data.sources import build_dataset
from training.decoder import FACE, CorrectiveModule
from training.network.aligned import typical_crop_camera
from training.network.batchnorm import recalibrate_batchnorm
from training.network.model import BRANCHES, BranchModule
from training.onnx_io import export_module, max_abs_difference, store_weights_as_float16
from training.system import TrainSystem, build_system, run_branches

__all__ = ["ExportError", "export_run", "load_run"]

log = logging.getLogger(__name__)

# Weights rounded to float16 move each output by at most this fraction of the largest output
# magnitude (measured on the lite branches and decoder: ~1e-3).
STORAGE_TOLERANCE = 1e-2
# The calibration batches come from the run's data stream under a seed training never uses.
CALIBRATION_SEED_OFFSET = 7_919


class ExportError(RuntimeError):
    """The exported graphs disagree with PyTorch, or the weights are too large."""


def load_run(run: Path, checkpoint: Path | None = None) -> tuple[TrainConfig, TrainSystem, dict[str, Any]]:
    """The configuration, the system with trained weights (eval mode) and the checkpoint."""
    path = checkpoint or latest_checkpoint(run)
    if path is None:
        raise FileNotFoundError(f"no checkpoint in {run}/checkpoints")
    state = load_checkpoint(path)
    config = from_dict(TrainConfig, state["config"])
    system = build_system(config, load_face_model())
    system.net.load_state_dict(state["net"])
    system.decoder.load_state_dict(state["decoder"])
    system.eval()
    state["path"] = str(path)
    return config, system, state


def calibrate_batchnorm(config: TrainConfig, system: TrainSystem, batches: int
                        ) -> tuple[dict[str, Any], Batch | None]:
    """Re-average the network's BatchNorm statistics over ``batches`` fresh batches of the run's
    data (see the module doc). Returns the figures for the sidecars' ``training.batchnorm``
    entry and one more batch of that data (None when ``batches`` is 0), for the parity check."""
    if batches <= 0:
        return {"recalibrated": False}, None
    seed = config.run.seed + CALIBRATION_SEED_OFFSET
    stream = iter(build_dataset(config.data, config.crop, seed=seed))
    size = config.data.batch_size
    data = (collate(list(itertools.islice(stream, size))) for _ in range(batches))
    seen = recalibrate_batchnorm(system.net, data, run_branches)  # leaves the network in eval mode
    log.info("BatchNorm statistics re-averaged over %d batches of %d samples", seen, size)
    return ({"recalibrated": True, "batches": seen, "batch_size": size, "seed": seed},
            collate(list(itertools.islice(stream, 2))))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check(name: str, path: Path, module: torch.nn.Module, inputs: dict[str, torch.Tensor], tolerance: float,
           half_weights: bool) -> dict[str, Any]:
    """ONNX Runtime against PyTorch (``tolerance`` absolute for outputs up to 1, relative to
    the largest output beyond), then, with ``half_weights``, the
    graph with float16-stored weights against PyTorch (``STORAGE_TOLERANCE`` relative); the
    figures for the sidecar's ``parity`` entry."""
    with torch.no_grad():
        expected = module(*inputs.values()).numpy()
    feeds = {k: v.numpy() for k, v in inputs.items()}
    actual = create_session(path, CPU_ONLY).run(None, feeds)[0]
    if actual.shape != expected.shape:
        raise ExportError(f"{name}: ONNX output shape {actual.shape} != PyTorch {expected.shape}")
    difference = max_abs_difference(actual, expected)
    scale = float(np.max(np.abs(expected))) or 1.0
    allowed = tolerance * max(1.0, scale)  # float32 rounding grows with the outputs' magnitude
    log.info("%s: max abs difference ONNX Runtime vs PyTorch = %.3g (allowed %.2g: tolerance %.1g x largest "
             "output %.3g, at least 1)", name, difference, allowed, tolerance, scale)
    if not difference <= allowed:
        raise ExportError(f"{name}: ONNX Runtime differs from PyTorch by {difference:.3g} > {allowed:.2g} "
                          f"(tolerance {tolerance:.1g} x largest output {scale:.3g})")
    if len(expected) > 1:  # the graph was traced on this batch: one item checks the batch axis is free
        single = create_session(path, CPU_ONLY).run(None, {k: v[:1] for k, v in feeds.items()})[0]
        if single.shape != expected[:1].shape or not max_abs_difference(single, expected[:1]) <= allowed:
            raise ExportError(f"{name}: the ONNX graph does not run on a batch of one like on a batch of "
                              f"{len(expected)} (a size fixed at export)")
    parity: dict[str, Any] = {"max_abs_difference": difference, "tolerance": tolerance, "largest_output": scale,
                              "weights": "float32"}
    if not half_weights:
        return parity
    # registered buffers are constants, not trained weights (the mesh-aligned steps' face-model
    # geometry): they stay float32, so that an import rebuilds the graph exactly
    buffers = {name for name, _ in module.named_buffers()}
    before, after = store_weights_as_float16(path, keep_float32=buffers)
    stored = max_abs_difference(create_session(path, CPU_ONLY).run(None, feeds)[0], expected)
    log.info("%s: weights stored as float16 (%.1f -> %.1f MB): max abs difference %.3g (%.2g of the largest "
             "output)", name, before / 1e6, after / 1e6, stored, stored / scale)
    if not stored <= STORAGE_TOLERANCE * scale:
        raise ExportError(f"{name}: float16-stored weights move the output by {stored:.3g}, more than "
                          f"{STORAGE_TOLERANCE:g} of its largest value {scale:.3g}")
    parity.update(weights="float16 (cast to float32 when loaded)", float16_max_abs_difference=stored,
                  float16_relative_tolerance=STORAGE_TOLERANCE)
    return parity


def export_run(run: Path, out: Path, checkpoint: Path | None = None, tolerance: float | None = None,
               seed: int = 0, half_weights: bool = True, calibration_batches: int | None = None
               ) -> dict[str, Path]:
    """Export the run's newest (or the given) checkpoint into ``out``; returns name -> ONNX path.
    ``half_weights``: store the weights as float16; ``calibration_batches``: BatchNorm
    recalibration batches (default: the run's ``export.calibration_batches``; see the module doc)."""
    config, system, state = load_run(run, checkpoint)
    tolerance = config.export.tolerance if tolerance is None else tolerance
    batches = config.export.calibration_batches if calibration_batches is None else calibration_batches
    batchnorm, example = calibrate_batchnorm(config, system, batches)
    out.mkdir(parents=True, exist_ok=True)
    size = config.crop.size
    generator = torch.Generator().manual_seed(seed)
    if example is not None and example.get("rgb") is not None and example.get("xyz") is not None:
        rgb, xyz = example.get("rgb"), example.get("xyz")  # parity on inputs like the real ones
        camera = example.crop_camera()
    else:
        rgb = torch.randn(2, 3, size, size, generator=generator)
        xyz = torch.randn(2, 4, size, size, generator=generator)
        xyz[:, 3] = (xyz[:, 3] > 0).float()
        camera = typical_crop_camera(size, 2)
    layout = system.objective.layout
    face_model = FaceModelId.of(load_face_model())
    training = {
        "config": config.name, "config_hash": state.get("config_hash", config_hash(config)),
        "step": int(state["step"]),
        "backbone": config.network.backbone, "width": config.network.width,
        "aligned_vertices": config.network.aligned_vertices,
        "aligned_iterations": config.network.aligned_iterations if config.network.aligned_vertices else 0,
        "checkpoint": Path(state["path"]).name,
        "batchnorm": batchnorm,
    }
    specs = {
        "rgb": TensorSpec("rgb", ("batch", 3, size, size), meaning="normalised colour crop (normalization.formulas.rgb)"),
        "xyz": TensorSpec("xyz", ("batch", 4, size, size),
                          meaning="normalised crop-frame XYZ and validity (normalization.formulas.xyz)"),
        "crop_camera": TensorSpec("crop_camera", ("batch", 7),
                                  meaning="crop intrinsics fx, fy, cx, cy (crop pixels) then the XYZ anchor "
                                          "(metres, crop frame): models.crop.crop_camera_vector"),
    }
    written: dict[str, Path] = {}
    for branch in BRANCHES:
        module = BranchModule(system.net, branch).eval()
        inputs = {name: {"rgb": rgb, "xyz": xyz, "crop_camera": camera}[name] for name in module.input_names()}
        path = export_module(module, list(inputs.values()), out / f"{branch}.onnx", list(inputs), ["params"],
                             config.export.opset)
        parity = _check(branch, path, module, inputs, tolerance, half_weights)
        Sidecar(
            kind="branch", branch=branch, onnx=path.name, sha256=_sha256(path), face_model=face_model,
            inputs=tuple(specs[name] for name in inputs),
            outputs=(TensorSpec("params", ("batch", layout.total())),), layout=layout,
            recipe=config.crop, translation_anchor="rgb_anchor" if branch == "rgb" else "xyz_anchor",
            training=training, parity=parity,
            extra={"albedo_model": {"name": "models.render.AlbedoModel", "components": list(ALBEDO_COMPONENTS)}},
        ).write(out / f"{branch}.json")
        written[branch] = path
    decoder = CorrectiveModule(system.decoder).eval()
    inputs = {"identity": torch.randn(2, layout.identity, generator=generator),
              "expression": torch.rand(2, layout.expression, generator=generator)}
    path = export_module(decoder, list(inputs.values()), out / "decoder.onnx", list(inputs), ["corrective"],
                         config.export.opset)
    parity = _check("decoder", path, decoder, inputs, tolerance, half_weights)
    Sidecar(
        kind="decoder", onnx=path.name, sha256=_sha256(path), face_model=face_model,
        inputs=(TensorSpec("identity", ("batch", layout.identity)), TensorSpec("expression", ("batch", layout.expression))),
        outputs=(TensorSpec("corrective", ("batch", FACE, 3),
                            meaning="head-frame offsets in metres of the face region's vertices"),),
        training=training, parity=parity,
        extra={"usage": "vertices_head = FaceModel.vertices(identity, expression, 'face') + corrective; "
                        "the first narrow_face vertices are the fitted region",
               "corrective_rank": system.decoder.rank},
    ).write(out / "decoder.json")
    written["decoder"] = path
    total_mb = sum(p.stat().st_size for p in written.values()) / 1e6
    log.info("exported %s to %s: %.1f MB of weights in all", ", ".join(written), out, total_mb)
    if total_mb > config.export.max_total_mb:
        raise ExportError(f"the exported weights take {total_mb:.1f} MB, more than the configured budget of "
                          f"{config.export.max_total_mb:.0f} MB")
    return written


def random_inputs(size: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Representative random network inputs of one frame (for timing)."""
    rng = np.random.default_rng(seed)
    return {"rgb": rng.standard_normal((1, 3, size, size)).astype(np.float32),
            "xyz": np.concatenate([rng.standard_normal((1, 3, size, size)),
                                   (rng.random((1, 1, size, size)) > 0.2)], axis=1).astype(np.float32),
            "crop_camera": typical_crop_camera(size, 1).numpy()}
