"""Colour-space conversions between the renderer's linear RGB and 8-bit sRGB images."""

from __future__ import annotations

import numpy as np

__all__ = ["linear_to_srgb", "srgb_to_linear", "to_srgb_uint8"]


def linear_to_srgb(rgb_linear: np.ndarray) -> np.ndarray:
    """The sRGB transfer curve (IEC 61966-2-1) of linear values; same shape, float32 in [0, 1].

    Input is clipped to [0, 1] first.
    """
    x = np.clip(np.asarray(rgb_linear, dtype=np.float32), 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1.0 / 2.4) - 0.055).astype(np.float32)


def srgb_to_linear(rgb_srgb: np.ndarray) -> np.ndarray:
    """Inverse of :func:`linear_to_srgb` for sRGB-encoded values in [0, 1]; float32."""
    x = np.clip(np.asarray(rgb_srgb, dtype=np.float32), 0.0, 1.0)
    return np.where(x <= 0.04045, x / 12.92, np.power((x + 0.055) / 1.055, 2.4)).astype(np.float32)


def to_srgb_uint8(rgb_linear: np.ndarray) -> np.ndarray:
    """(H, W, 3) linear RGB in [0, 1] -> (H, W, 3) uint8 sRGB, RGB channel order.

    Values outside [0, 1] are clipped. For ``cv2.imwrite`` reverse the channels
    (``image[..., ::-1]``).
    """
    rgb_linear = np.asarray(rgb_linear)
    if rgb_linear.ndim != 3 or rgb_linear.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {rgb_linear.shape}")
    return np.rint(linear_to_srgb(rgb_linear) * 255.0).astype(np.uint8)
