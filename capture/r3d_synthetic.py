"""Deterministic synthetic RGB-D takes written as ``.r3d`` files, for tests and benchmarks.

A head-sized ellipsoid moving in front of a wall, seen by a TrueDepth-like camera: the colour
is textured (so JPEG sizes are realistic), the depth is float16-quantized like TrueDepth's
with millimetre noise and invalid (0 and NaN) pixels around the silhouette.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from capture.r3d_writer import R3DWriter
from models.camera import Intrinsics


def synthetic_intrinsics(width: int, height: int) -> Intrinsics:
    """A 600 px focal length at 640 pixels wide, centred."""
    focal = 600.0 * width / 640
    return Intrinsics(fx=focal, fy=focal, cx=(width - 1) / 2, cy=(height - 1) / 2, width=width, height=height)


def synthetic_rgbd(index: int, width: int, height: int,
                   depth_size: tuple[int, int] | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Frame ``index``: ((height, width, 3) uint8 RGB, (dh, dw) float32 metres with 0/NaN holes)."""
    rng = np.random.default_rng([seed, index])
    dw, dh = depth_size or (width, height)
    phase = 2 * np.pi * index / 90

    def head(w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        u = (x / w - 0.5 - 0.08 * np.sin(phase)) / 0.22
        v = (y / h - 0.5 - 0.04 * np.cos(phase)) / 0.32
        r2 = u * u + v * v
        return r2, y / h

    r2, fy = head(dw, dh)
    inside = r2 < 1
    depth = np.where(inside, 0.5 - 0.09 * np.sqrt(np.clip(1 - r2, 0, 1)), 1.2 - 0.1 * fy)
    depth = depth + rng.normal(0, 0.0005, depth.shape)
    depth = depth.astype(np.float16).astype(np.float32)
    edge = (r2 > 0.97) & (r2 < 1.05)
    depth[edge & (rng.random(depth.shape) < 0.7)] = 0.0
    depth[edge & (rng.random(depth.shape) < 0.05)] = np.nan

    r2c, fyc = head(width, height)
    shade = np.clip(1 - 0.5 * r2c, 0, 1)
    texture = rng.normal(0, 6, (height, width, 1))
    skin = np.array([205, 150, 125], np.float32) * shade[..., None]
    wall = np.stack([90 + 60 * fyc, 110 + 40 * fyc, 140 - 30 * fyc], axis=-1)
    rgb = np.where((r2c < 1)[..., None], skin, wall) + texture
    return np.clip(rgb, 0, 255).astype(np.uint8), depth


def write_synthetic_take(path: str | os.PathLike, num_frames: int, width: int = 640, height: int = 480,
                         fps: float = 30.0, depth_size: tuple[int, int] | None = None,
                         camera_type: int = 0, confidence: bool = False, seed: int = 0) -> Path:
    """Write ``num_frames`` synthetic frames with :class:`R3DWriter`; returns the path."""
    dw, dh = depth_size or (width, height)
    with R3DWriter(path, width, height, fps, synthetic_intrinsics(width, height), camera_type=camera_type,
                   depth_size=(dw, dh)) as writer:
        for index in range(num_frames):
            rgb, depth = synthetic_rgbd(index, width, height, (dw, dh), seed)
            conf = None
            if confidence:
                conf = np.where(np.isfinite(depth) & (depth > 0), 2, 0).astype(np.uint8)
            writer.write(rgb, depth, 1000.0 + index / fps, confidence=conf)
    return Path(path)
