"""What the exported branches have learned, on samples of the training distribution.

``evaluate`` scores meshes on held-out sequences (six identities); this asks two narrower
questions that tell where the error comes from and whether a run is learning the shape at all,
on ``samples`` fresh synthetic samples (every one a new identity) of a config's data stream:

* **face-centre offset** (mm, crop camera frame): the predicted face centre minus the true one,
  its mean vector and its mean along the viewing ray; a mean far from zero is a bias (the
  same for every face), not noise;
* **identity**: how much of the true identity coefficients' variance the branch's own output
  explains (R^2 per mode), and how much a ridge regression from the head's pooled input
  features could explain on held-out samples (a linear probe: near zero means the backbone
  carries no identity information, whatever the head does; branches with mesh-aligned steps
  get theirs from the XYZ input read at their estimate, after the pooled features, so their
  output can explain what the probe cannot). Reported for the ``modes`` first
  identity modes (the ones that move the face most) and as their mean.

Runs the ``.onnx`` files through ONNX Runtime; the pooled features are read by adding the
input of the head's first layer (a ``Gemm``) as a second graph output.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from models.conventions import face_centre_in_head
from models.face_model import load_face_model
from runtime.branches import decode_params
from runtime.onnx_session import SessionConfig, create_session
from runtime.sidecar import Sidecar
from training.config import DataConfig
from training.data.sources import build_dataset
from training.network.model import BRANCHES
from training.onnx_io import load_onnx

__all__ = ["BranchDiagnosis", "diagnose_assets", "format_diagnosis"]

log = logging.getLogger(__name__)

# A data stream neither training (seeds 0, 1, 2, ...) nor export or import use.
DIAGNOSIS_SEED = 2_718_281


@dataclass(frozen=True)
class BranchDiagnosis:
    """Figures of one branch over ``samples`` samples (see the module doc).

    centre_offset_mm: (3,) mean predicted-minus-true face centre, crop frame, mm;
    along_ray_mm: its mean along the viewing ray (+ = farther from the camera);
    along_ray_median_mm: the median of that component (the losses are l1-like: a median near
        zero with a mean away from it is a skewed error, not a shift);
    centre_error_mm: mean length of the offset;
    identity_r2: (modes,) R^2 of the branch's identity output per mode;
    probe_r2: (modes,) held-out R^2 of a ridge regression from the pooled features.
    """

    branch: str
    samples: int
    centre_offset_mm: np.ndarray
    along_ray_mm: float
    along_ray_median_mm: float
    centre_error_mm: float
    identity_r2: np.ndarray
    probe_r2: np.ndarray


def _with_features(path: Path) -> bytes:
    """The ONNX graph at ``path`` with the head's pooled input features as a second output."""
    model = load_onnx(path)
    heads = [n for n in model.graph.node if n.op_type == "Gemm" and "heads." in n.input[1]
             and n.input[1].endswith("mlp.0.weight")]
    if len(heads) != 1:
        raise ValueError(f"{path.name}: cannot find the head's first layer (a Gemm on *heads.*.mlp.0.weight)")
    features = onnx.helper.make_tensor_value_info(heads[0].input[0], onnx.TensorProto.FLOAT, None)
    model.graph.output.append(features)
    return model.SerializeToString()


def _r2(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(K,) coefficient of determination per column of (N, K) arrays."""
    return 1.0 - ((predicted - truth) ** 2).mean(0) / np.maximum(truth.var(0), 1e-12)


def _probe_r2(features: np.ndarray, targets: np.ndarray, ridge: float, train_fraction: float = 0.75) -> np.ndarray:
    """Held-out R^2 of a ridge regression of (N, K) targets on standardised (N, F) features."""
    n = int(train_fraction * len(features))
    mean, std = features[:n].mean(0), features[:n].std(0) + 1e-6
    x = (features - mean) / std
    y_mean = targets[:n].mean(0)
    weights = np.linalg.solve(x[:n].T @ x[:n] + ridge * np.eye(x.shape[1]), x[:n].T @ (targets[:n] - y_mean))
    return _r2(x[n:] @ weights + y_mean, targets[n:])


def diagnose_assets(assets: Path, data: DataConfig | None = None, samples: int = 320, modes: int = 10,
                    ridge: float = 100.0) -> dict[str, BranchDiagnosis]:
    """Diagnose every branch in ``assets`` on ``samples`` samples of ``data`` (default: the
    default synthetic stream), cropped with each sidecar's recipe."""
    sidecars = {b: Sidecar.read(assets / f"{b}.json") for b in BRANCHES if (assets / f"{b}.json").exists()}
    if not sidecars:
        raise FileNotFoundError(f"no branch sidecars (rgb.json, depth.json, rgbd.json) in {assets}")
    if len({s.recipe.size for s in sidecars.values()}) != 1:
        raise ValueError("the branches take different crop sizes")
    recipe = next(iter(sidecars.values())).recipe
    single_thread = SessionConfig(threads=1, use_gpu=False)
    sessions = {b: create_session(_with_features(s.onnx_path), single_thread) for b, s in sidecars.items()}
    centre_head = face_centre_in_head(load_face_model())
    stream = build_dataset(data or DataConfig(), recipe, seed=DIAGNOSIS_SEED)
    rows: dict[str, dict[str, list[np.ndarray]]] = {b: {"offset": [], "ray": [], "identity": [], "features": []}
                                                     for b in sidecars}
    truth_identity = []
    for sample in itertools.islice(iter(stream), samples):
        truth_identity.append(sample.identity)
        true_centre = sample.rotation @ centre_head + sample.translation
        for branch, session in sessions.items():
            sidecar = sidecars[branch]
            feeds = {name: getattr(sample, name)[None] for name in sidecar.input_names}
            params, features = session.run(None, feeds)
            estimate = decode_params(sidecar, params[0], sample)
            offset = (estimate.rotation @ centre_head + estimate.translation - true_centre) * 1000.0
            rows[branch]["offset"].append(offset)
            rows[branch]["ray"].append(float(offset @ (true_centre / np.linalg.norm(true_centre))))
            rows[branch]["identity"].append(estimate.identity)
            rows[branch]["features"].append(features[0])
    truth = np.asarray(truth_identity, np.float64)[:, :modes]
    out = {}
    for branch, r in rows.items():
        offsets = np.asarray(r["offset"])
        out[branch] = BranchDiagnosis(
            branch, len(offsets), offsets.mean(0), float(np.mean(r["ray"])), float(np.median(r["ray"])),
            float(np.linalg.norm(offsets, axis=1).mean()),
            _r2(np.asarray(r["identity"], np.float64)[:, :modes], truth),
            _probe_r2(np.asarray(r["features"], np.float64), truth, ridge))
    return out


def format_diagnosis(results: dict[str, BranchDiagnosis]) -> str:
    """A Markdown table of :func:`diagnose_assets`' figures."""
    lines = ["| branch | samples | centre offset mean (x, y, z) mm | along ray mean, median mm | centre error mm | "
             "identity R^2 (output), first modes: mean | identity R^2 (linear probe): mean |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in results.values():
        offset = ", ".join(f"{v:+.2f}" for v in r.centre_offset_mm)
        lines.append(f"| {r.branch} | {r.samples} | {offset} | {r.along_ray_mm:+.2f}, {r.along_ray_median_mm:+.2f} | {r.centre_error_mm:.2f} | "
                     f"{_modes(r.identity_r2)} | {_modes(r.probe_r2)} |")
    return "\n".join(lines)


def _modes(r2: np.ndarray) -> str:
    shown = " ".join(f"{v:+.2f}" for v in r2[:3])
    return f"{shown} ... : {r2.mean():+.2f}"
