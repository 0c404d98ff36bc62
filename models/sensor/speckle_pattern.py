"""The pseudo-random dot pattern of a structured-light projector."""

from __future__ import annotations

import cv2
import numpy as np


def make_dot_pattern(
    height: int,
    width: int,
    density: float,
    dot_sigma_px: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """A field of Gaussian dots at uniformly random sub-pixel positions.

    Args:
        height, width: size of the pattern in projector pixels.
        density: mean number of dots per pixel (e.g. 0.1 is one dot per 10 pixels).
        dot_sigma_px: standard deviation of each dot's Gaussian profile in pixels.
        rng: source of the dot positions (seed it for a fixed projector).

    Returns:
        (height, width) float32 radiance in [0, 1]: an isolated dot peaks at 1, overlapping
        dots saturate at 1, and the space between dots is 0.
    """
    if height <= 0 or width <= 0:
        raise ValueError(f"pattern size must be positive, got {width}x{height}")
    if density <= 0 or dot_sigma_px <= 0:
        raise ValueError(f"density and dot_sigma_px must be positive, got {density}, {dot_sigma_px}")
    count = int(round(density * height * width))
    x = rng.random(count) * (width - 1)
    y = rng.random(count) * (height - 1)
    # Bilinear splatting of unit impulses at the sub-pixel positions.
    x0 = np.floor(x).astype(np.int64)
    y0 = np.floor(y).astype(np.int64)
    fx, fy = x - x0, y - y0
    x1 = np.minimum(x0 + 1, width - 1)
    y1 = np.minimum(y0 + 1, height - 1)
    size = height * width
    impulses = (
        np.bincount(y0 * width + x0, (1 - fx) * (1 - fy), minlength=size)
        + np.bincount(y0 * width + x1, fx * (1 - fy), minlength=size)
        + np.bincount(y1 * width + x0, (1 - fx) * fy, minlength=size)
        + np.bincount(y1 * width + x1, fx * fy, minlength=size)
    ).reshape(height, width).astype(np.float32)
    ksize = 2 * int(np.ceil(3 * dot_sigma_px)) + 1
    pattern = cv2.GaussianBlur(impulses, (ksize, ksize), dot_sigma_px, borderType=cv2.BORDER_CONSTANT)
    # Normalise so that one dot centred on a pixel peaks at 1.
    single = np.zeros((ksize, ksize), np.float32)
    single[ksize // 2, ksize // 2] = 1.0
    peak = float(cv2.GaussianBlur(single, (ksize, ksize), dot_sigma_px).max())
    pattern *= np.float32(1.0 / peak)
    np.clip(pattern, 0.0, 1.0, out=pattern)
    return pattern
