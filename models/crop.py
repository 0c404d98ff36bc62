"""Face crops: the one preprocessing shared by training and inference.

A :class:`FaceCrop` says where a face lies in a source image: a centre pixel, a side length in
source pixels and an in-plane rotation angle (faces come at any roll; TrueDepth frames even
arrive rotated by 90 degrees). :func:`crop_camera` turns it into a :class:`CropCamera`: the
pinhole camera of the ``S`` x ``S`` crop image, which is the source camera turned about its
optical axis by ``angle`` and re-centred on the face, so that 3D points, head poses and SH
lighting convert exactly between the source camera frame and the crop camera frame, and the
crop image is a :func:`cv2.warpAffine` of the source image (colour: bilinear; depth and XYZ:
nearest, so depths are never mixed across an edge).

:class:`CropRecipe` holds everything else a network input depends on (crop size, RGB mean and
standard deviation, the XYZ anchor rule and metric scale, the translation mapping). It
serialises to a dict for the JSON sidecars that ship with the ONNX weights, and
:func:`prepare_inputs` applies it to a frame; training builds its samples with the same
functions, so training and inference cannot drift.

Frames and conventions (see :mod:`models`): OpenCV camera frames (x right, y down, z forward,
metres); pixel centres at integer coordinates. The crop camera frame is the source camera
frame rotated about z: ``p_src = R_z(angle) @ p_crop`` with
``R_z(a) = [[cos a, -sin a, 0], [sin a, cos a, 0], [0, 0, 1]]``. The crop's +x axis therefore
runs along ``(cos a, sin a)`` in the source image (pixels, y down): a positive angle turns the
crop window clockwise on screen, and the image content appears turned counter-clockwise by
``a`` inside the crop. :func:`angle_from_up` gives the angle that shows a face upright.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from models.camera import Intrinsics
from models.geometry import depth_to_xyz
from models.render.sh_lighting import NUM_SH_COEFFS, sh_basis

__all__ = [
    "CROP_RECIPE_VERSION",
    "CropCamera",
    "CropInputs",
    "CropRecipe",
    "FaceCrop",
    "angle_from_up",
    "crop_camera",
    "crop_camera_vector",
    "crop_from_box",
    "crop_from_depth",
    "crop_from_point",
    "prepare_inputs",
    "rotate_sh",
    "rotation_z",
    "warp_depth",
    "warp_rgb",
    "warp_xyz",
]

CROP_RECIPE_VERSION = 1


def rotation_z(angle: float) -> np.ndarray:
    """(3, 3) float64 rotation by ``angle`` radians about the optical (z) axis."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def angle_from_up(up_xy: np.ndarray, intrinsics: Intrinsics | None = None) -> float:
    """The crop angle (radians) that shows a face upright.

    Args:
        up_xy: (2,) the face's up direction in the source image, in pixels (x right, y down),
            e.g. from the chin toward the forehead; any length > 0.
        intrinsics: the source camera; when given, the direction is measured in normalised
            image coordinates (pixels divided by fx, fy), exact for non-square pixels.

    Returns:
        ``angle`` such that ``up_xy`` points straight up (toward -y) in the crop.
    """
    up = np.asarray(up_xy, dtype=np.float64).reshape(2)
    if intrinsics is not None:
        up = up / np.array([intrinsics.fx, intrinsics.fy])
    if not np.linalg.norm(up) > 0:
        raise ValueError("the up direction must be a non-zero vector")
    return float(math.atan2(up[0], -up[1]))


@dataclass(frozen=True)
class FaceCrop:
    """Where a square face crop lies in a source image.

    Attributes:
        centre_x, centre_y: the crop centre in source pixels.
        size: side length in source pixels (at the source's focal length
            ``sqrt(fx * fy)``; exact for square pixels).
        angle: in-plane rotation in radians (see the module doc for the sign).
    """

    centre_x: float
    centre_y: float
    size: float
    angle: float = 0.0

    def __post_init__(self) -> None:
        if not self.size > 0:
            raise ValueError(f"the crop size must be positive, got {self.size}")

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaceCrop:
        return cls(float(data["centre_x"]), float(data["centre_y"]), float(data["size"]),
                   float(data.get("angle", 0.0)))


@dataclass(frozen=True, eq=False)
class CropCamera:
    """The pinhole camera of a crop image, and its relation to the source camera.

    Attributes:
        intrinsics: square-pixel intrinsics of the ``S`` x ``S`` crop.
        rotation: (3, 3) float64 ``R_z(angle)``: ``p_src = rotation @ p_crop``.
        affine: (2, 3) float64 map from crop pixels to source pixels,
            ``uv_src = affine[:, :2] @ uv_crop + affine[:, 2]`` (what ``cv2.warpAffine`` is
            given with ``WARP_INVERSE_MAP``).
        source: the source image's intrinsics.
    """

    intrinsics: Intrinsics
    rotation: np.ndarray
    affine: np.ndarray
    source: Intrinsics

    @property
    def size(self) -> int:
        return self.intrinsics.width

    # -- points and poses ---------------------------------------------------------------------

    def points_to_crop(self, points_src: np.ndarray) -> np.ndarray:
        """Source-camera-frame points (..., 3) -> crop camera frame (same shape, float64)."""
        return np.asarray(points_src, dtype=np.float64) @ self.rotation

    def points_to_source(self, points_crop: np.ndarray) -> np.ndarray:
        """Crop-camera-frame points (..., 3) -> source camera frame (same shape, float64)."""
        return np.asarray(points_crop, dtype=np.float64) @ self.rotation.T

    def pose_to_crop(self, rotation: np.ndarray, translation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A head pose (camera-from-head, metres) in the source frame -> the crop frame."""
        r = self.rotation.T
        return r @ np.asarray(rotation, dtype=np.float64), r @ np.asarray(translation, dtype=np.float64)

    def pose_to_source(self, rotation: np.ndarray, translation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A head pose in the crop frame -> the source frame."""
        return self.rotation @ np.asarray(rotation, dtype=np.float64), self.rotation @ np.asarray(
            translation, dtype=np.float64)

    def sh_to_crop(self, sh_src: np.ndarray) -> np.ndarray:
        """(9, 3) SH lighting in the source camera frame -> the crop camera frame."""
        return rotate_sh(sh_src, self.rotation.T)

    def sh_to_source(self, sh_crop: np.ndarray) -> np.ndarray:
        """(9, 3) SH lighting in the crop camera frame -> the source camera frame."""
        return rotate_sh(sh_crop, self.rotation)

    # -- pixels -------------------------------------------------------------------------------

    def crop_to_source_pixels(self, uv_crop: np.ndarray) -> np.ndarray:
        """Crop pixels (..., 2) -> source pixels (..., 2), float64."""
        uv = np.asarray(uv_crop, dtype=np.float64)
        return uv @ self.affine[:, :2].T + self.affine[:, 2]

    def source_to_crop_pixels(self, uv_src: np.ndarray) -> np.ndarray:
        """Source pixels (..., 2) -> crop pixels (..., 2), float64."""
        uv = np.asarray(uv_src, dtype=np.float64)
        inverse = np.linalg.inv(self.affine[:, :2])
        return (uv - self.affine[:, 2]) @ inverse.T

    def centre_ray(self) -> np.ndarray:
        """(3,) the crop-frame ray ``(x/z, y/z, 1)`` through the crop's centre pixel."""
        k = self.intrinsics
        centre = (self.size - 1) / 2.0
        return np.array([(centre - k.cx) / k.fx, (centre - k.cy) / k.fy, 1.0])

    def to_dict(self) -> dict[str, Any]:
        return {"intrinsics": self.intrinsics.to_dict(), "rotation": self.rotation.tolist(),
                "affine": self.affine.tolist(), "source": self.source.to_dict()}


def crop_camera(source: Intrinsics, crop: FaceCrop, out_size: int) -> CropCamera:
    """The camera of ``crop`` sampled on an ``out_size`` x ``out_size`` grid.

    The crop camera has square pixels with focal length ``sqrt(fx * fy) * out_size / size``; its
    centre pixel ``((S - 1) / 2, (S - 1) / 2)`` sees the same ray as the source pixel
    ``(centre_x, centre_y)``. The map between crop and source pixels is affine and exact for any
    ``fx``, ``fy``: a crop pixel's ray, turned into the source frame and projected, lands where
    the affine map puts it.
    """
    if out_size <= 0:
        raise ValueError(f"the crop must have a positive size, got {out_size}")
    focal = math.sqrt(source.fx * source.fy) * out_size / crop.size
    rot3 = rotation_z(crop.angle)
    rot2 = rot3[:2, :2]
    # Normalised ray of the crop centre, source frame, then crop frame.
    ray_src = np.array([(crop.centre_x - source.cx) / source.fx, (crop.centre_y - source.cy) / source.fy])
    ray_crop = rot2.T @ ray_src
    centre = (out_size - 1) / 2.0
    principal = centre - focal * ray_crop
    intrinsics = Intrinsics(fx=focal, fy=focal, cx=float(principal[0]), cy=float(principal[1]),
                            width=out_size, height=out_size)
    # uv_src = D R2 (uv_crop - c') / f' + c_src, D = diag(fx, fy).
    linear = np.diag([source.fx, source.fy]) @ rot2 / focal
    offset = np.array([source.cx, source.cy]) - linear @ principal
    affine = np.concatenate([linear, offset[:, None]], axis=1)
    return CropCamera(intrinsics=intrinsics, rotation=rot3, affine=affine, source=source)


def crop_from_point(source: Intrinsics, centre_cam: np.ndarray, extent_m: float, angle: float = 0.0) -> FaceCrop:
    """A crop centred on a 3D point that spans ``extent_m`` metres at that point's depth.

    Args:
        source: the source camera.
        centre_cam: (3,) a point in the source camera frame (metres, z > 0), e.g. the face's
            centre from a depth map or from ground truth.
        extent_m: the metric side length the crop should cover at the point's depth.
        angle: the crop's in-plane rotation (radians).
    """
    p = np.asarray(centre_cam, dtype=np.float64).reshape(3)
    if not p[2] > 0:
        raise ValueError(f"the crop centre must lie in front of the camera, got z={p[2]}")
    uv = source.project(p)
    size = math.sqrt(source.fx * source.fy) * extent_m / p[2]
    return FaceCrop(float(uv[0]), float(uv[1]), float(size), float(angle))


def crop_from_depth(
    depth: np.ndarray,
    source: Intrinsics,
    centre_px: tuple[float, float],
    extent_m: float,
    angle: float = 0.0,
    window_px: int = 15,
) -> FaceCrop | None:
    """A crop around a face seen in a depth map: ``centre_px`` lifted to 3D, then
    :func:`crop_from_point`.

    Args:
        depth: (H, W) depth in metres on the ``source`` grid (0, NaN or inf invalid).
        centre_px: the face centre in source pixels (e.g. from a detector or the last frame).
        extent_m: the metric side the crop should span.
        angle: the crop's in-plane rotation (radians).
        window_px: side of the square around ``centre_px`` whose median valid depth is used.

    Returns:
        The crop, or None when the window holds no valid depth.
    """
    u, v = float(centre_px[0]), float(centre_px[1])
    half = max(0, window_px // 2)
    x0, x1 = max(0, round(u) - half), min(source.width, round(u) + half + 1)
    y0, y1 = max(0, round(v) - half), min(source.height, round(v) + half + 1)
    patch = np.asarray(depth)[y0:y1, x0:x1]
    z = patch[np.isfinite(patch) & (patch > 0)]
    if z.size == 0:
        return None
    zc = float(np.median(z))
    centre = np.array([(u - source.cx) / source.fx * zc, (v - source.cy) / source.fy * zc, zc])
    return crop_from_point(source, centre, extent_m, angle)


def crop_from_box(x0: float, y0: float, x1: float, y1: float, scale: float = 1.0, angle: float = 0.0) -> FaceCrop:
    """A square crop around a 2D box (source pixels): its centre, ``scale`` times its longer side."""
    if not (x1 > x0 and y1 > y0):
        raise ValueError(f"the box must have a positive size, got ({x0}, {y0}, {x1}, {y1})")
    return FaceCrop((x0 + x1) / 2.0, (y0 + y1) / 2.0, scale * max(x1 - x0, y1 - y0), angle)


def _warp(image: np.ndarray, camera: CropCamera, interpolation: int,
          origin: tuple[int, int] | None = None) -> np.ndarray:
    """Sample ``image`` into the crop; ``origin``: the source pixel of the image's top-left
    corner when the image is a window of the source (then any size is accepted); None: the
    image is the whole source."""
    size = camera.size
    affine = camera.affine
    if origin is None:
        if image.shape[:2] != (camera.source.height, camera.source.width):
            raise ValueError(f"the image is {image.shape[1]}x{image.shape[0]} but the crop's source camera is "
                             f"{camera.source.width}x{camera.source.height}")
    else:
        affine = affine.copy()
        affine[:, 2] -= origin
    return cv2.warpAffine(image, affine, (size, size), flags=interpolation | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def warp_rgb(rgb: np.ndarray, camera: CropCamera) -> np.ndarray:
    """(H, W, 3) uint8 source colour -> (S, S, 3) uint8 crop, bilinear, black outside the image."""
    return _warp(np.ascontiguousarray(rgb), camera, cv2.INTER_LINEAR)


def warp_depth(depth: np.ndarray, camera: CropCamera) -> np.ndarray:
    """(H, W) float32 source depth (metres, 0 invalid) -> (S, S) crop depth, nearest, 0 outside.

    Depth along the optical axis is the same in both frames (the crop turns about z).
    """
    z = np.where(np.isfinite(depth) & (depth > 0), depth, 0).astype(np.float32)
    return _warp(z, camera, cv2.INTER_NEAREST)


def _source_window(camera: CropCamera, margin: int = 2) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)``: the source pixels (end exclusive, clipped to the image) that the
    crop's pixels can sample, with ``margin`` pixels to spare."""
    s = camera.size
    corners = camera.crop_to_source_pixels(np.array([[-0.5, -0.5], [s - 0.5, -0.5], [-0.5, s - 0.5],
                                                     [s - 0.5, s - 0.5]]))
    lo = np.floor(corners.min(axis=0)).astype(int) - margin
    hi = np.ceil(corners.max(axis=0)).astype(int) + margin + 1
    width, height = camera.source.width, camera.source.height
    return (int(np.clip(lo[0], 0, width)), int(np.clip(lo[1], 0, height)),
            int(np.clip(hi[0], 0, width)), int(np.clip(hi[1], 0, height)))


def warp_xyz(depth: np.ndarray, camera: CropCamera) -> tuple[np.ndarray, np.ndarray]:
    """The crop's XYZ map in the crop camera frame, from a source depth map.

    Each crop pixel takes the nearest source pixel's back-projected 3D point (so the points are
    exactly the measured ones, turned into the crop frame; no point is ever interpolated).

    Returns:
        ``(xyz, valid)``: (S, S, 3) float32 metres in the crop camera frame, 0 where invalid;
        (S, S) bool.
    """
    # Only the source pixels the crop can reach are back-projected; nearest sampling of the
    # window from its origin picks exactly the pixels it would pick in the whole image.
    window = _source_window(camera)
    xyz_src, valid_src = depth_to_xyz(depth, camera.source, window=window)
    if xyz_src.size == 0:  # the crop lies wholly outside the image
        return np.zeros((camera.size, camera.size, 3), np.float32), np.zeros((camera.size, camera.size), bool)
    origin = window[:2]
    xyz = _warp(xyz_src, camera, cv2.INTER_NEAREST, origin)
    valid = _warp(valid_src.view(np.uint8), camera, cv2.INTER_NEAREST, origin).astype(bool)
    xyz = (xyz.reshape(-1, 3) @ camera.rotation.astype(np.float32)).reshape(xyz.shape)
    xyz[~valid] = 0.0
    return xyz.astype(np.float32, copy=False), valid


def _fibonacci_sphere(count: int) -> np.ndarray:
    i = np.arange(count) + 0.5
    z = 1.0 - 2.0 * i / count
    r = np.sqrt(1.0 - z * z)
    phi = math.pi * (3.0 - math.sqrt(5.0)) * i
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


_SH_DIRECTIONS = _fibonacci_sphere(64)


def rotate_sh(sh: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Express (9, 3) SH lighting given in frame A in frame B, where ``p_B = rotation @ p_A``.

    Three SH bands are closed under rotation, so the least-squares fit on 64 directions is exact
    up to float32 rounding (~1e-6).
    """
    sh = np.asarray(sh, dtype=np.float64)
    if sh.shape != (NUM_SH_COEFFS, 3):
        raise ValueError(f"sh must have shape (9, 3), got {sh.shape}")
    dirs_b = _SH_DIRECTIONS
    dirs_a = dirs_b @ np.asarray(rotation, dtype=np.float64)  # R^T n_B, as rows
    basis_b = sh_basis(dirs_b).astype(np.float64)
    basis_a = sh_basis(dirs_a).astype(np.float64)
    solution, *_ = np.linalg.lstsq(basis_b, basis_a @ sh, rcond=None)
    return solution.astype(np.float32)


@dataclass(frozen=True)
class CropRecipe:
    """How a crop becomes network input, and how the network's translation maps back.

    Attributes:
        size: S, the crop's side in pixels.
        rgb_mean, rgb_std: per-channel statistics of RGB in [0, 1]:
            ``rgb_in = (rgb_uint8 / 255 - mean) / std``, channels first, RGB order.
        metric_scale_m: XYZ and translation unit: ``xyz_in = (xyz_crop - anchor) / metric_scale_m``.
        metric_extent_m: the metric side a crop is made to span around a face (used by
            training to place crops, and for the RGB anchor's nominal depth).
        anchor_window: the XYZ anchor's depth is the median z of the valid points in the
            central ``anchor_window * S`` square of the crop.
        min_anchor_points: fewer valid points there: the anchor falls back to the nominal depth.
    """

    size: int = 128
    rgb_mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    rgb_std: tuple[float, float, float] = (0.25, 0.25, 0.25)
    metric_scale_m: float = 0.1
    metric_extent_m: float = 0.26
    anchor_window: float = 0.5
    min_anchor_points: int = 16

    def __post_init__(self) -> None:
        if self.size < 8:
            raise ValueError(f"the crop size must be at least 8, got {self.size}")
        if not (self.metric_scale_m > 0 and self.metric_extent_m > 0 and 0 < self.anchor_window <= 1):
            raise ValueError("metric_scale_m and metric_extent_m must be > 0, anchor_window in (0, 1]")

    # -- anchors ------------------------------------------------------------------------------

    def nominal_depth(self, camera: CropCamera) -> float:
        """Depth (metres) at which the crop spans ``metric_extent_m``: ``f_crop * extent / S``."""
        return camera.intrinsics.fx * self.metric_extent_m / self.size

    def rgb_anchor(self, camera: CropCamera) -> np.ndarray:
        """(3,) crop-frame anchor of colour-only input: the centre ray at the nominal depth."""
        return camera.centre_ray() * self.nominal_depth(camera)

    def xyz_anchor(self, xyz: np.ndarray, valid: np.ndarray, camera: CropCamera) -> np.ndarray:
        """(3,) crop-frame anchor of depth input: the centre ray at the face's median depth.

        The depth is the median z of the valid points in the central window (see the class
        doc); with too few points there, the nominal depth (as for colour input).
        """
        s = self.size
        half = max(1, round(self.anchor_window * s / 2))
        lo, hi = s // 2 - half, s // 2 + half
        z = xyz[lo:hi, lo:hi, 2][valid[lo:hi, lo:hi]]
        depth = float(np.median(z)) if z.size >= self.min_anchor_points else self.nominal_depth(camera)
        return camera.centre_ray() * depth

    # -- normalisation ------------------------------------------------------------------------

    def normalize_rgb(self, rgb_crop: np.ndarray) -> np.ndarray:
        """(S, S, 3) uint8 crop -> (3, S, S) float32 network input."""
        x = rgb_crop.astype(np.float32) * np.float32(1 / 255)
        x -= np.asarray(self.rgb_mean, np.float32)
        x /= np.asarray(self.rgb_std, np.float32)
        return np.ascontiguousarray(x.transpose(2, 0, 1))

    def normalize_xyz(self, xyz: np.ndarray, valid: np.ndarray, anchor: np.ndarray) -> np.ndarray:
        """(S, S, 3) crop-frame XYZ + (S, S) validity -> (4, S, S) float32 network input.

        Channels 0-2: ``(xyz - anchor) / metric_scale_m`` (0 where invalid); channel 3: 1 where
        valid, else 0.
        """
        out = np.zeros((4, *valid.shape), np.float32)
        rel = (xyz - np.asarray(anchor, np.float32)) * np.float32(1 / self.metric_scale_m)
        out[:3] = np.where(valid[..., None], rel, 0).transpose(2, 0, 1)
        out[3] = valid
        return out

    def denormalize_xyz(self, xyz_in: np.ndarray, anchor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inverse of :meth:`normalize_xyz`: (4, S, S) -> ((S, S, 3) crop-frame XYZ, (S, S) valid)."""
        valid = xyz_in[3] > 0.5
        xyz = xyz_in[:3].transpose(1, 2, 0) * np.float32(self.metric_scale_m) + np.asarray(anchor, np.float32)
        return np.where(valid[..., None], xyz, 0).astype(np.float32), valid

    def translation_from_network(self, t_norm: np.ndarray, anchor: np.ndarray) -> np.ndarray:
        """Network translation (..., 3) -> crop-frame translation in metres: ``anchor + scale * t``."""
        return np.asarray(anchor) + self.metric_scale_m * np.asarray(t_norm, dtype=np.float64)

    def translation_to_network(self, t_crop: np.ndarray, anchor: np.ndarray) -> np.ndarray:
        """Crop-frame translation (..., 3) in metres -> the network's normalised translation."""
        return (np.asarray(t_crop, dtype=np.float64) - np.asarray(anchor)) / self.metric_scale_m

    # -- serialisation ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Everything needed to re-apply the recipe, with the formulas spelled out."""
        data: dict[str, Any] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}
        data["version"] = CROP_RECIPE_VERSION
        data["formulas"] = {
            "crop_camera": "models.crop.crop_camera: square pixels, f = sqrt(fx*fy)*S/size, p_src = Rz(angle) p_crop",
            "rgb": "warpAffine INTER_LINEAR, border 0; (rgb/255 - rgb_mean)/rgb_std, CHW",
            "xyz": "source depth -> XYZ, warpAffine INTER_NEAREST, turned into the crop frame; "
                   "(xyz - anchor)/metric_scale_m, 0 where invalid; 4th channel validity",
            "xyz_anchor": "centre_ray * median z of valid points in the central anchor_window*S square "
                          "(nominal depth if fewer than min_anchor_points)",
            "rgb_anchor": "centre_ray * nominal depth, nominal depth = f_crop*metric_extent_m/S",
            "translation": "t_crop = anchor + metric_scale_m * t_norm (depth/rgbd: xyz anchor; rgb: rgb anchor)",
        }
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CropRecipe:
        version = data.get("version", CROP_RECIPE_VERSION)
        if version != CROP_RECIPE_VERSION:
            raise ValueError(f"crop recipe version {version} is not supported (expected {CROP_RECIPE_VERSION})")
        return cls(
            size=int(data["size"]),
            rgb_mean=tuple(float(v) for v in data["rgb_mean"]),
            rgb_std=tuple(float(v) for v in data["rgb_std"]),
            metric_scale_m=float(data["metric_scale_m"]),
            metric_extent_m=float(data["metric_extent_m"]),
            anchor_window=float(data["anchor_window"]),
            min_anchor_points=int(data.get("min_anchor_points", 16)),
        )


@dataclass(frozen=True, eq=False)
class CropInputs:
    """Network inputs of one crop, and what is needed to read the outputs back.

    Attributes:
        camera: the crop's camera.
        rgb: (3, S, S) float32 normalised colour, or None without colour.
        xyz: (4, S, S) float32 normalised XYZ + validity, or None without depth.
        rgb_crop: (S, S, 3) uint8 crop, or None.
        xyz_crop: (S, S, 3) float32 crop-frame XYZ in metres (0 invalid), or None.
        valid: (S, S) bool valid depth, or None.
        rgb_anchor, xyz_anchor: (3,) crop-frame anchors in metres (xyz_anchor None without depth).
    """

    camera: CropCamera
    rgb: np.ndarray | None
    xyz: np.ndarray | None
    rgb_crop: np.ndarray | None
    xyz_crop: np.ndarray | None
    valid: np.ndarray | None
    rgb_anchor: np.ndarray
    xyz_anchor: np.ndarray | None

    @property
    def crop_camera(self) -> np.ndarray | None:
        """(7,) float32 network input of branches that read their XYZ back at their own
        estimate (:func:`crop_camera_vector`); None without depth."""
        if self.xyz_anchor is None:
            return None
        k = self.camera.intrinsics
        return crop_camera_vector(np.array([k.fx, k.fy, k.cx, k.cy]), self.xyz_anchor)

    def anchor(self, branch: str) -> np.ndarray:
        """The anchor the ``branch`` (``rgb``, ``depth`` or ``rgbd``) translation is relative to."""
        if branch == "rgb":
            return self.rgb_anchor
        if self.xyz_anchor is None:
            raise ValueError(f"the {branch} branch needs depth input")
        return self.xyz_anchor


def crop_camera_vector(intrinsics: np.ndarray, xyz_anchor: np.ndarray) -> np.ndarray:
    """(..., 7) float32 ``crop_camera`` input: the crop's ``fx, fy, cx, cy`` (crop pixels, (..., 4))
    then the XYZ anchor (metres, crop frame, (..., 3))."""
    return np.concatenate([np.asarray(intrinsics, np.float32), np.asarray(xyz_anchor, np.float32)], axis=-1)


def prepare_inputs(
    recipe: CropRecipe,
    intrinsics: Intrinsics,
    crop: FaceCrop,
    rgb: np.ndarray | None = None,
    depth: np.ndarray | None = None,
) -> CropInputs:
    """Crop and normalise a frame's colour and/or depth (both on the ``intrinsics`` grid)."""
    if rgb is None and depth is None:
        raise ValueError("prepare_inputs needs colour, depth or both")
    camera = crop_camera(intrinsics, crop, recipe.size)
    rgb_crop = rgb_in = xyz = valid = xyz_in = xyz_anchor = None
    if rgb is not None:
        rgb_crop = warp_rgb(rgb, camera)
        rgb_in = recipe.normalize_rgb(rgb_crop)
    if depth is not None:
        xyz, valid = warp_xyz(depth, camera)
        xyz_anchor = recipe.xyz_anchor(xyz, valid, camera)
        xyz_in = recipe.normalize_xyz(xyz, valid, xyz_anchor)
    return CropInputs(camera=camera, rgb=rgb_in, xyz=xyz_in, rgb_crop=rgb_crop, xyz_crop=xyz, valid=valid,
                      rgb_anchor=recipe.rgb_anchor(camera), xyz_anchor=xyz_anchor)
