"""Training configuration: frozen dataclasses loaded from (and saved to) YAML.

Every section has defaults; a YAML file only names what differs. Unknown keys are errors (a
typo must not silently train with a default). :func:`config_hash` is a stable digest of the
resolved configuration, written into the run folder and into the exported sidecars. Files are
read and written by :mod:`models.config_files`, the app's configuration code too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.config_files import ConfigError, from_dict, read_config_file, to_dict, write_config_file
from models.crop import CropRecipe

__all__ = ["CONFIG_DIR", "CameraPreset", "ConfigError", "DataConfig", "EvalConfig", "ExportConfig", "LossConfig",
           "NetworkConfig", "OptimConfig", "RunConfig", "ScheduleConfig", "SourceConfig", "TrainConfig",
           "config_hash", "from_dict", "load_config", "resume_differences", "save_config", "to_dict"]

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


@dataclass(frozen=True)
class CameraPreset:
    """A source camera the synthetic data is rendered with.

    width, height: the frame in pixels; hfov_deg: horizontal field of view; weight: relative
    sampling frequency.
    """

    width: int = 640
    height: int = 480
    hfov_deg: float = 56.0
    weight: float = 1.0


@dataclass(frozen=True)
class SourceConfig:
    """One data source of a run (see :mod:`training.data.sources` and training/README.md).

    kind: ``synthetic`` (generated on the fly), ``rgb`` (a folder of images, with or without
    68-point landmark files), ``rgbd`` (a ``.r3d`` file, a PNG depth folder, or a folder holding
    several of either), ``scan`` (a folder of OBJ/PLY scans, or one file).
    path: the file or folder (relative paths from the working directory); empty for synthetic.
    weight: relative frequency of the source's samples in the stream.
    stride: rgbd: use every ``stride``-th frame of each sequence.
    angle_deg: rgbd frames without landmarks: the crop's in-plane angle (90 or -90 for phones held
        upright that deliver landscape frames, as Record3D's TrueDepth takes).
    hfov_deg: rgb images without an ``intrinsics.json``: the assumed horizontal field of view.
    units: scan: the file's length unit, ``m``, ``cm``, ``mm`` or ``auto`` (from the size).
    """

    kind: str = "synthetic"
    path: str = ""
    weight: float = 1.0
    stride: int = 1
    angle_deg: float = 0.0
    hfov_deg: float = 60.0
    units: str = "auto"

    def __post_init__(self) -> None:
        if self.kind not in ("synthetic", "rgb", "rgbd", "scan"):
            raise ValueError(f"source kind must be synthetic, rgb, rgbd or scan, got {self.kind!r}")
        if self.kind != "synthetic" and not self.path:
            raise ValueError(f"a {self.kind} source needs a path")
        if not (self.weight > 0 and self.stride >= 1 and 0 < self.hfov_deg < 180):
            raise ValueError("a source needs weight > 0, stride >= 1 and 0 < hfov_deg < 180")
        if self.units not in ("auto", "m", "cm", "mm"):
            raise ValueError(f"source units must be auto, m, cm or mm, got {self.units!r}")


@dataclass(frozen=True)
class DataConfig:
    """Where samples come from and how the synthetic ones are generated (see
    :mod:`training.data.synthetic`). Angles in degrees, lengths in metres, probabilities in [0, 1].

    ``sources`` lists the data sources mixed into the stream; empty (the default) means the
    synthetic source alone. Real sources reuse the pose, distance, crop-jitter and camera
    settings below where they render or crop (scans are rendered like synthetic heads)."""

    sources: tuple[SourceConfig, ...] = ()
    batch_size: int = 32
    num_workers: int = 1
    prefetch_factor: int = 4
    cameras: tuple[CameraPreset, ...] = (
        CameraPreset(640, 480, 56.0, 2.0),  # TrueDepth, landscape
        CameraPreset(480, 640, 43.6, 2.0),  # TrueDepth frames as they arrive (rotated 90 degrees)
        CameraPreset(640, 480, 69.0, 1.0),  # RealSense-like wide colour/depth
    )
    identity_scale: tuple[float, float] = (0.5, 1.2)  # identity = N(0, 1) * U(range)
    yaw_deg: float = 60.0
    pitch_deg: float = 35.0
    residual_roll_deg: float = 20.0  # roll left after the crop's own rotation
    upright_prob: float = 0.4  # crop angle 0 (plus residual roll)
    quarter_turn_prob: float = 0.2  # crop angle +-90 degrees
    distance_m: tuple[float, float] = (0.25, 0.8)  # camera to face centre (log-uniform)
    centre_region: float = 0.7  # the face centre projects into this central fraction of the frame
    light_scale: tuple[float, float] = (0.4, 1.6)
    occluder_prob: float = 0.35
    speckle_prob: float = 0.1  # projected-speckle simulation instead of the fast noise model
    clean_depth_prob: float = 0.03
    noise_scale: tuple[float, float] = (0.6, 1.8)  # axial noise relative to the sensor default
    crop_centre_jitter: float = 0.05  # std of the crop centre offset, fraction of the crop size
    crop_scale_jitter: float = 0.08  # std of log(crop size)
    blur_prob: float = 0.15
    performance_expression_prob: float = 0.3  # expression from a training Performance sequence
    train_seed_limit: int = 1000  # Performance seeds used for training are below this
    scan_points: int = 2048  # points of the clean-geometry cloud kept for Eq. 10 (speckle samples)
    captures_per_render: int = 1  # captures (noise, occluders, crop jitter) of each rendered scene
    shuffle_buffer: int = 1  # samples held back and drawn at random (mixes the captures of a scene)


@dataclass(frozen=True)
class NetworkConfig:
    """Three-branch network (:mod:`training.network`) and shape decoder (:mod:`training.decoder`)."""

    backbone: str = "resnet18"
    width: float = 1.0  # channel multiplier where the backbone supports one (mobilenets)
    head_hidden: int = 256
    corrective_rank: int = 32
    corrective_hidden: int = 128
    # BatchNorm in eval mode while the encoders train (running statistics, not the batch's):
    # for fine-tuning, so that training optimises what export ships (see training/README.md).
    frozen_batchnorm: bool = False
    # mesh-aligned feedback on the depth-input branches (training/network/aligned.py): narrow-face
    # vertices sampled (0: none), refinement steps, and the width of each step's MLP
    aligned_vertices: int = 0
    aligned_iterations: int = 2
    aligned_hidden: int = 512
    # parameter-name prefixes that train in the encoder phase (empty: the whole network); the
    # rest stays frozen in eval mode, e.g. ["aligned."] trains only the mesh-aligned steps
    trainable: tuple[str, ...] = ()


@dataclass(frozen=True)
class LossConfig:
    """Weights of the loss terms (0 switches a term off). Distances are in metres inside the
    terms and scaled to millimetres-ish magnitudes by the weights."""

    # direct supervision on synthetic data (dominant for the shipped weights)
    vertex: float = 1.0  # posed narrow-face vertices vs ground truth, l2,1 in cm
    shape: float = 0.5  # head-frame narrow-face shape vs ground truth, l2,1 in cm
    identity: float = 0.05
    expression: float = 1.0
    rotation: float = 1.0
    translation: float = 1.0
    albedo: float = 0.05
    lighting: float = 0.05
    # the paper's terms
    geometry: float = 0.3  # Eq. 5, cm
    colour: float = 0.3  # Eq. 6
    landmarks_2d: float = 0.2  # Eq. 7, in units of 1 % of the crop size
    landmarks_3d: float = 0.2  # Eq. 8, cm
    cross_rgb: float = 0.2  # Eq. 9, cm
    cross_scan: float = 0.3  # Eq. 10, cm
    # regularisers
    reg_identity: float = 1e-4
    reg_expression: float = 1e-4
    reg_albedo: float = 1e-4
    reg_corrective: float = 1.0  # mean squared corrective offset, cm^2
    # per-branch weights and the RGB-only terms' handicap
    branch_rgb: float = 1.0
    branch_depth: float = 1.0
    branch_rgbd: float = 1.0
    rgb_translation_z: float = 0.25  # RGB cannot see depth: its z error counts less
    # sampling, to keep the dense terms affordable
    geometry_vertices: int = 1024  # narrow-face vertices sampled per step for Eq. 5 and 10
    geometry_radius: int = 2  # projective closest-point search window half side (pixels)
    geometry_max_distance: float = 0.03  # correspondences farther than this (metres) are dropped
    colour_samples: int = 8  # batch items rasterised for Eq. 6 per step
    colour_every: int = 1  # compute Eq. 6 every N steps


@dataclass(frozen=True)
class ScheduleConfig:
    """The paper's alternating schedule: per round, encoder steps then decoder steps."""

    rounds: int = 3
    encoder_steps: int = 1000
    decoder_steps: int = 100

    @property
    def total_steps(self) -> int:
        return self.rounds * (self.encoder_steps + self.decoder_steps)


@dataclass(frozen=True)
class OptimConfig:
    """AdamW with linear warm-up and cosine decay over the whole run."""

    lr: float = 1e-3
    decoder_lr: float = 3e-4
    weight_decay: float = 1e-4
    warmup_steps: int = 200
    min_lr_ratio: float = 0.02
    grad_clip: float = 5.0


@dataclass(frozen=True)
class RunConfig:
    """Run bookkeeping."""

    seed: int = 0
    torch_threads: int = 2
    log_every: int = 20
    checkpoint_every: int = 200
    keep_checkpoints: int = 3
    progress: bool = True
    ddp_find_unused: bool = False  # True when batches mix sources (a branch may then not run)
    # a checkpoint whose network and decoder weights start this run (fine-tuning with a new
    # schedule); the optimizer and the step start afresh. Read only when the run starts.
    init_from: str | None = None


@dataclass(frozen=True)
class ExportConfig:
    opset: int = 17
    tolerance: float = 1e-4  # max abs difference ONNX Runtime vs PyTorch
    max_total_mb: float = 60.0  # the shipping budget for all exported weights together
    # BatchNorm running statistics re-averaged over this many fresh training batches with the
    # final weights (training/network/batchnorm.py); 0 keeps the statistics training kept
    calibration_batches: int = 64


@dataclass(frozen=True)
class EvalConfig:
    """Held-out synthetic evaluation (:mod:`training.evaluate`)."""

    seeds: tuple[int, ...] = (1000, 1001, 1002, 1003, 1004, 1005)
    frames_per_seed: int = 20
    frame_stride: int = 13
    crop_centre_jitter: float = 0.03
    crop_scale_jitter: float = 0.05
    roll_jitter_deg: float = 5.0
    threads: int = 2
    timing_runs: int = 50


@dataclass(frozen=True)
class TrainConfig:
    name: str = "run"
    data: DataConfig = field(default_factory=DataConfig)
    crop: CropRecipe = field(default_factory=CropRecipe)  # shared with inference (models/crop.py)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    evaluation: EvalConfig = field(default_factory=EvalConfig)


def load_config(path: str | Path) -> TrainConfig:
    """A :class:`TrainConfig` from a YAML file, or from a name in ``training/configs``."""
    path = Path(path)
    if not path.exists() and not path.suffix:
        path = CONFIG_DIR / f"{path}.yaml"
    return read_config_file(path, TrainConfig)


def save_config(config: TrainConfig, path: str | Path) -> None:
    write_config_file(config, path)


# Sections and keys that do not change what is trained: a run may resume with them changed.
RESUMABLE_KEYS = ("run.", "evaluation.", "export.", "data.num_workers", "data.prefetch_factor")


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def resume_differences(saved: dict[str, Any], config: TrainConfig) -> list[str]:
    """What keeps a run saved with config ``saved`` (a :func:`to_dict`) from resuming under
    ``config``: ``key: saved -> now`` for every training-relevant key that differs. Keys the
    saved config lacks (added to the code since) count as equal when they hold their default."""
    old, new = _flatten(saved), _flatten(to_dict(config))
    default = _flatten(to_dict(TrainConfig()))
    problems = []
    for key in sorted(set(old) | set(new)):
        if key.startswith(RESUMABLE_KEYS):
            continue
        if key not in old:
            if new[key] != default.get(key):
                problems.append(f"{key}: (absent) -> {new[key]!r}")
        elif key not in new or old[key] != new[key]:
            problems.append(f"{key}: {old[key]!r} -> {new.get(key)!r}")
    return problems


# Keys added after runs had started, left out of the hash while they hold their default, so
# those runs (and their exported sidecars) keep the hash they were started with.
HASH_OMITS_DEFAULT = ("data.sources", "run.init_from", "network.frozen_batchnorm", "network.aligned_vertices",
                      "network.aligned_iterations", "network.aligned_hidden", "network.trainable")


def config_hash(config: TrainConfig) -> str:
    """sha256 (hex, first 16 characters) of the resolved configuration's canonical JSON
    (keys of :data:`HASH_OMITS_DEFAULT` holding their default left out)."""
    data = to_dict(config)
    default = to_dict(TrainConfig())
    for key in HASH_OMITS_DEFAULT:
        section, name = key.split(".")
        if data[section][name] == default[section][name]:
            del data[section][name]
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
