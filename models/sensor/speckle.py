"""Simulated active-stereo capture: render a speckle IR image, recover depth by block matching.

The paper's "simulated capture" turns clean scan depth into realistic sensor depth by
imaging the scene under a projected dot pattern and running the sensor's own kind of
matcher on the result, so holes, edge fattening and quantisation come out of the physics
instead of a hand-written noise model (for the cheap per-frame model see
:mod:`models.sensor.truedepth_noise`).

Geometry (all in the IR camera's OpenCV frame: x right, y down, z forward, metres):

* The IR camera has the given pinhole intrinsics ``K`` and sits at the origin.
* The projector sits at ``(b, 0, 0)`` (``b = baseline_m``, on the camera's x axis) with the
  same orientation and the same ``K``, so the pair is already rectified: a camera pixel
  ``(u, v)`` seeing depth ``z`` receives the pattern's pixel ``(u - d, v)`` with disparity
  ``d = fx * b / z`` (pixels). Rows correspond; disparity is horizontal and positive.
* The pattern lives on a canvas ``pad`` columns wider than the image on the left, so every
  disparity in the matcher's range lands on it; canvas column = ``u - d + pad``.
* A camera pixel is in the projector's shadow when some pixel to its right in the same row
  maps to a pattern column at or left of its own (the rays cross, so the nearer surface
  blocks the projector's light). No dots reach it.
* Radiance: ``ambient + power * pattern * (reference_distance / r)^2 * cos``, with ``r`` the
  distance from the projector and ``cos`` the incidence cosine (approximated by the angle
  to the camera's view ray, :func:`models.sensor.surface_angle.view_cosine`), plus Gaussian
  read noise and signal-dependent shot noise, quantised to 8 bits.
* Pixels with no valid depth see a fronto-parallel wall at ``background_depth_m`` or, when
  that is None, nothing (ambient light only).

Recovery: OpenCV's ``StereoBM`` matches the IR image (left view, padded on the left by the
canvas margin) against the noise-free reference pattern (right view) and returns disparity
in 1/16 pixel (its own parabolic sub-pixel fit); depth is ``fx * b / d``; pixels the matcher
rejects (texture, uniqueness, speckle filter, left-right check) are 0.

Measured with the defaults at 640x480 (60 degree FOV): median absolute depth error 0.37 mm
on a plane at 0.4 m, 0.45 mm on a sphere at 0.36-0.45 m, 0.8 mm at 0.6 m and 3.6 mm at 1 m
(a disparity error of ~0.05-0.1 px, plus the 1/16 px disparity grid: z^2 / (16 f b));
97-98 % of the object's pixels matched, edges fattened by a few pixels, a shadow band
beside foreground edges. One capture costs about 35 ms on two cores (render ~12-17 ms,
StereoBM ~20 ms).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from models.camera import Intrinsics
from models.sensor.fast_random import fast_standard_normal
from models.sensor.speckle_pattern import make_dot_pattern
from models.sensor.surface_angle import view_cosine

logger = logging.getLogger(__name__)

_DISP_SCALE = 16  # StereoBM's fixed-point disparity scale


@dataclass(frozen=True)
class SpeckleConfig:
    """Parameters of :class:`SpeckleSimulator`.

    Attributes:
        baseline_m: projector offset along the camera's +x axis in metres.
        dot_density: mean number of pattern dots per pixel.
        dot_sigma_px: Gaussian standard deviation of a dot in pixels (camera-grid pixels at the
            same focal length).
        pattern_seed: seed of the dot positions (the projector's fixed pattern).
        min_disparity: smallest disparity searched, in pixels.
        num_disparities: number of disparities searched (a positive multiple of 16). The
            recoverable depth range is ``fx * b / (min + num - 1) .. fx * b / min``; with the
            defaults and fx = 554 px (640 px wide, 60 degrees) that is 0.22 m to 2.8 m.
        block_size: matching window side in pixels (odd, 5..255).
        uniqueness_ratio: StereoBM's margin (percent) by which the best match must win.
        texture_threshold: StereoBM's minimum window texture; weaker windows are rejected.
        speckle_window_size: largest disparity blob (pixels) removed as a speckle; 0 disables.
        speckle_range_px: disparity variation allowed inside one blob, in pixels.
        max_lr_diff_px: left-right consistency tolerance in pixels; negative disables.
        ambient: ambient IR level in 8-bit counts.
        power: IR counts of a full dot on a surface facing the camera at ``reference_distance_m``.
        reference_distance_m: distance from the projector at which ``power`` applies.
        read_noise: standard deviation of the additive sensor noise in counts.
        shot_noise_gain: shot-noise variance per count of signal.
        background_depth_m: depth of a wall seen where the input depth is invalid, or None for
            nothing (no return, ambient only).
    """

    baseline_m: float = 0.04
    dot_density: float = 0.12
    dot_sigma_px: float = 0.8
    pattern_seed: int = 0
    min_disparity: int = 8
    num_disparities: int = 96
    block_size: int = 11
    uniqueness_ratio: int = 10
    texture_threshold: int = 10
    speckle_window_size: int = 100
    speckle_range_px: float = 2.0
    max_lr_diff_px: int = 1
    ambient: float = 20.0
    power: float = 180.0
    reference_distance_m: float = 0.5
    read_noise: float = 2.0
    shot_noise_gain: float = 0.5
    background_depth_m: float | None = None

    def __post_init__(self) -> None:
        if self.baseline_m <= 0:
            raise ValueError(f"baseline_m must be positive, got {self.baseline_m}")
        if self.min_disparity < 1:
            raise ValueError(f"min_disparity must be >= 1 (depth is f b / d), got {self.min_disparity}")
        if self.num_disparities <= 0 or self.num_disparities % 16:
            raise ValueError(f"num_disparities must be a positive multiple of 16, got {self.num_disparities}")
        if self.block_size % 2 == 0 or not 5 <= self.block_size <= 255:
            raise ValueError(f"block_size must be odd and in 5..255, got {self.block_size}")
        if self.dot_density <= 0 or self.dot_sigma_px <= 0:
            raise ValueError("dot_density and dot_sigma_px must be positive")
        if self.reference_distance_m <= 0 or self.power < 0 or self.ambient < 0:
            raise ValueError("need reference_distance_m > 0, power >= 0, ambient >= 0")
        if self.read_noise < 0 or self.shot_noise_gain < 0:
            raise ValueError("noise levels must be >= 0")
        if self.background_depth_m is not None and self.background_depth_m <= 0:
            raise ValueError(f"background_depth_m must be positive or None, got {self.background_depth_m}")


class SpeckleSimulator:
    """A rectified projector + IR camera pair with a fixed dot pattern (see the module doc).

    Args:
        intrinsics: the IR camera (and projector) pinhole model; depth maps passed to the
            methods must be on this grid.
        config: pattern, matcher and radiometry parameters.
    """

    def __init__(self, intrinsics: Intrinsics, config: SpeckleConfig = SpeckleConfig()) -> None:
        self.intrinsics = intrinsics
        self.config = config
        self._fb = float(intrinsics.fx * config.baseline_m)
        max_disparity = config.min_disparity + config.num_disparities
        self._pad = max_disparity + config.block_size  # canvas columns left of the image
        height, width = intrinsics.height, intrinsics.width
        pattern_rng = np.random.default_rng(config.pattern_seed)
        self._pattern = make_dot_pattern(height, width + self._pad, config.dot_density,
                                         config.dot_sigma_px, pattern_rng)
        reference = config.ambient + config.power * self._pattern
        self._reference = np.clip(np.rint(reference), 0, 255).astype(np.uint8)
        self._matcher = self._make_matcher()
        u = np.arange(width, dtype=np.float32)
        self._ray_x = ((u - np.float32(intrinsics.cx)) / np.float32(intrinsics.fx))[None, :]
        v = np.arange(height, dtype=np.float32)
        self._ray_y = ((v - np.float32(intrinsics.cy)) / np.float32(intrinsics.fy))[:, None]
        self._map_y = np.repeat(v[:, None], width, axis=1)
        self._canvas_u = (u + np.float32(self._pad))[None, :]

    def _make_matcher(self) -> cv2.StereoBM:
        c = self.config
        matcher = cv2.StereoBM_create(numDisparities=c.num_disparities, blockSize=c.block_size)
        matcher.setMinDisparity(c.min_disparity)
        matcher.setPreFilterType(cv2.StereoBM_PREFILTER_NORMALIZED_RESPONSE)
        matcher.setPreFilterSize(9)
        matcher.setPreFilterCap(31)
        matcher.setTextureThreshold(c.texture_threshold)
        matcher.setUniquenessRatio(c.uniqueness_ratio)
        matcher.setSpeckleWindowSize(c.speckle_window_size)
        matcher.setSpeckleRange(int(round(c.speckle_range_px * _DISP_SCALE)))
        matcher.setDisp12MaxDiff(c.max_lr_diff_px)
        return matcher

    @property
    def reference_pattern(self) -> np.ndarray:
        """(H, W + pad) uint8 noise-free pattern image on the projector canvas (read-only view)."""
        view = self._reference.view()
        view.flags.writeable = False
        return view

    @property
    def depth_range(self) -> tuple[float, float]:
        """(nearest, farthest) depth in metres the matcher's disparity range can return."""
        c = self.config
        return self._fb / (c.min_disparity + c.num_disparities - 1), self._fb / c.min_disparity

    def _check(self, depth: np.ndarray) -> np.ndarray:
        depth = np.asarray(depth)
        expected = (self.intrinsics.height, self.intrinsics.width)
        if depth.shape != expected:
            raise ValueError(f"depth has shape {depth.shape}, expected {expected} (the simulator's grid)")
        return depth

    def ir_image(self, depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The IR image the camera sees with the pattern projected on the scene.

        Args:
            depth: (H, W) clean depth in metres along the optical axis; 0, negative, NaN or
                inf is invalid (sees the background wall or nothing).
            rng: source of the sensor noise.

        Returns:
            (H, W) uint8 IR intensities.
        """
        depth = self._check(depth)
        c = self.config
        with np.errstate(invalid="ignore"):
            valid = np.isfinite(depth) & (depth > 0)
        background = np.float32(c.background_depth_m or 0.0)
        z = np.where(valid, depth.astype(np.float32, copy=False), background)
        lit = z > 0

        with np.errstate(divide="ignore", over="ignore"):
            disparity = np.float32(self._fb) / z  # inf where nothing is hit
        canvas_u = self._canvas_u - disparity  # -inf where nothing is hit
        # Projector shadow: some pixel to the right maps to a pattern column at or left of ours.
        surface_u = np.where(lit, canvas_u, np.float32(np.inf))
        right_min = np.minimum.accumulate(surface_u[:, ::-1], axis=1)[:, ::-1]
        shadow = np.zeros_like(lit)
        shadow[:, :-1] = canvas_u[:, :-1] > right_min[:, 1:] + np.float32(1e-3)
        lit &= ~shadow
        lit &= canvas_u > -1  # nearer than the canvas reaches (or z ~ 0): no pattern there

        map_x = np.where(lit, canvas_u, np.float32(-1e4))
        dots = cv2.remap(self._pattern, map_x, self._map_y, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)

        # Irradiance falloff from the projector (inverse square) and incidence angle.
        x = z * self._ray_x - np.float32(c.baseline_m)
        y = z * self._ray_y
        r_sq = x * x + y * y + z * z
        np.maximum(r_sq, np.float32(1e-12), out=r_sq)
        gain = np.float32(c.power * c.reference_distance_m**2) / r_sq
        gain *= view_cosine(z, self.intrinsics)
        signal = dots * gain

        intensity = signal + np.float32(c.ambient)
        sigma = np.sqrt(np.float32(c.read_noise**2) + np.float32(c.shot_noise_gain) * intensity)
        intensity += sigma * fast_standard_normal(rng, intensity.shape)
        np.clip(np.rint(intensity), 0, 255, out=intensity)
        return intensity.astype(np.uint8)

    def disparity(self, ir: np.ndarray) -> np.ndarray:
        """Block-matched disparity of an IR image against the reference pattern.

        Args:
            ir: (H, W) uint8 image from :meth:`ir_image` (or a real sensor with this geometry).

        Returns:
            (H, W) float32 disparity in pixels (1/16 px resolution), 0 where no match.
        """
        ir = self._check(ir)
        left = cv2.copyMakeBorder(np.ascontiguousarray(ir, dtype=np.uint8), 0, 0, self._pad, 0,
                                  cv2.BORDER_CONSTANT, value=0)
        raw = self._matcher.compute(left, self._reference)[:, self._pad:]
        matched = raw >= self.config.min_disparity * _DISP_SCALE
        return np.where(matched, raw.astype(np.float32) * np.float32(1.0 / _DISP_SCALE), np.float32(0.0))

    def capture(self, depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Simulated sensor depth for a clean depth map: render the IR image, then match it.

        Args:
            depth: (H, W) clean depth in metres (0, NaN or non-positive = invalid).
            rng: source of the sensor noise.

        Returns:
            (H, W) float32 depth in metres, 0 where the matcher found no reliable match.
            Finite and non-negative everywhere.
        """
        disparity = self.disparity(self.ir_image(depth, rng))
        with np.errstate(divide="ignore", over="ignore"):
            out = np.where(disparity > 0, np.float32(self._fb) / disparity, np.float32(0.0))
        logger.debug("speckle capture: %d matched pixels", int(np.count_nonzero(out)))
        return out.astype(np.float32, copy=False)
