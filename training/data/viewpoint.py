"""Random viewpoints and crop jitter shared by the rendered sources (synthetic heads, scans).

A viewpoint is drawn in the *crop* frame (yaw, pitch and the residual roll the localizer leaves)
and turned into the source camera frame by a random crop angle, so that the crop shows the face
near upright whatever the camera's roll (ranges in :class:`training.config.DataConfig`). Crops
get localizer-like jitter of their centre and size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from models.camera import Intrinsics
from models.crop import FaceCrop, rotation_z
from models.geometry import head_pose_to_camera
from training.config import DataConfig

__all__ = ["View", "jitter_crop", "random_crop_angle", "random_view"]


@dataclass(frozen=True, eq=False)
class View:
    """A head pose in the source camera frame.

    rotation: (3, 3) float64 camera from head; translation: (3,) float64 metres;
    centre: (3,) float64 the face centre in the camera frame (metres); angle: the crop angle
    (radians) that shows the face upright.
    """

    rotation: np.ndarray
    translation: np.ndarray
    centre: np.ndarray
    angle: float


def random_crop_angle(config: DataConfig, rng: np.random.Generator) -> float:
    """Radians: 0 (``upright_prob``), +-pi/2 (``quarter_turn_prob``), else uniform in [-pi, pi)."""
    u = rng.uniform()
    if u < config.upright_prob:
        return 0.0
    if u < config.upright_prob + config.quarter_turn_prob:
        return float(rng.choice([-math.pi / 2, math.pi / 2]))
    return float(rng.uniform(-math.pi, math.pi))


def random_view(config: DataConfig, rng: np.random.Generator, camera: Intrinsics, centre_head: np.ndarray) -> View:
    """A random pose that puts the head-frame point ``centre_head`` (3,) (metres) at a
    log-uniform distance in ``distance_m``, projecting into the central ``centre_region`` of
    ``camera``'s image."""
    yaw = math.radians(rng.uniform(-config.yaw_deg, config.yaw_deg))
    pitch = math.radians(rng.uniform(-config.pitch_deg, config.pitch_deg))
    roll = math.radians(rng.uniform(-config.residual_roll_deg, config.residual_roll_deg))
    angle = random_crop_angle(config, rng)
    rotation = rotation_z(angle) @ head_pose_to_camera(yaw, pitch, roll)
    depth = math.exp(rng.uniform(math.log(config.distance_m[0]), math.log(config.distance_m[1])))
    u = camera.cx + rng.uniform(-0.5, 0.5) * config.centre_region * camera.width
    v = camera.cy + rng.uniform(-0.5, 0.5) * config.centre_region * camera.height
    centre = depth * np.array([(u - camera.cx) / camera.fx, (v - camera.cy) / camera.fy, 1.0])
    translation = centre - rotation @ np.asarray(centre_head, dtype=np.float64)
    return View(rotation, translation, centre, angle)


def jitter_crop(crop: FaceCrop, config: DataConfig, rng: np.random.Generator) -> FaceCrop:
    """``crop`` with a log-normal size (std ``crop_scale_jitter``) and a normal centre offset
    (std ``crop_centre_jitter`` times the new size, in source pixels)."""
    size = crop.size * math.exp(rng.normal(0.0, config.crop_scale_jitter))
    shift = rng.normal(0.0, config.crop_centre_jitter * size, 2)
    return replace(crop, centre_x=crop.centre_x + shift[0], centre_y=crop.centre_y + shift[1], size=size)
