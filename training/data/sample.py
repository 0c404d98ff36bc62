"""One training example and a collated batch: what every data source produces.

Every source (synthetic, and the real-data loaders: RGB image folders with landmarks, RGB-D
sequences, 3D scans rendered through the speckle simulation) yields :class:`Sample` objects:
a face crop made with :mod:`models.crop` plus whatever supervision that source has. Fields a
source does not have stay ``None``; :func:`collate` stacks a list of samples into a
:class:`Batch` of tensors with a per-sample presence mask for every optional field, so one
batch may mix sources.

Frames and units: everything 3D is in the **crop camera frame** (OpenCV axes, metres);
2D is in crop pixels (pixel centres at integers); rotations map head to crop camera.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from models.crop import crop_camera_vector

__all__ = ["OPTIONAL_FIELDS", "SOURCE_KINDS", "Batch", "Sample", "collate"]

SOURCE_KINDS = ("synthetic", "rgb", "rgbd", "scan")


@dataclass
class Sample:
    """One face crop and its supervision (numpy arrays; see the module doc for frames).

    Always present:
        kind: one of ``SOURCE_KINDS``.
        intrinsics: (4,) float32 crop camera ``fx, fy, cx, cy`` in crop pixels.
        rgb_anchor: (3,) float32 translation anchor of the colour input (metres, crop frame).

    Inputs (at least one):
        rgb: (3, S, S) float32 normalised colour (``CropRecipe.normalize_rgb``).
        rgb_crop: (S, S, 3) uint8 sRGB crop, for the colour term (Eq. 6).
        xyz: (4, S, S) float32 normalised XYZ + validity (``CropRecipe.normalize_xyz``).
        xyz_anchor: (3,) float32 translation anchor of the XYZ input.

    Supervision (any subset):
        landmarks_2d: (68, 2) float32 crop pixels (Eq. 7), Multi-PIE order.
        landmarks_3d: (68, 3) float32 metres (Eq. 8).
        scan_points: (P, 3) float32 clean surface points in metres (Eq. 10); P fixed per source.
        identity: (100,), expression: (53,) in [0, 1], rotation: (3, 3) crop camera from head,
        translation: (3,) metres, albedo: (K,), lighting: (9, 3) SH in the crop frame,
        vertices: (6706, 3) float32 metres, the posed narrow-face mesh (synthetic only).
    """

    kind: str
    intrinsics: np.ndarray
    rgb_anchor: np.ndarray
    rgb: np.ndarray | None = None
    rgb_crop: np.ndarray | None = None
    xyz: np.ndarray | None = None
    xyz_anchor: np.ndarray | None = None
    landmarks_2d: np.ndarray | None = None
    landmarks_3d: np.ndarray | None = None
    scan_points: np.ndarray | None = None
    identity: np.ndarray | None = None
    expression: np.ndarray | None = None
    rotation: np.ndarray | None = None
    translation: np.ndarray | None = None
    albedo: np.ndarray | None = None
    lighting: np.ndarray | None = None
    vertices: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise ValueError(f"unknown sample kind {self.kind!r}; known: {SOURCE_KINDS}")
        if self.rgb is None and self.xyz is None:
            raise ValueError("a sample needs colour or XYZ input")
        if (self.xyz is None) != (self.xyz_anchor is None):
            raise ValueError("xyz and xyz_anchor come together")

    @property
    def crop_camera(self) -> np.ndarray | None:
        """(7,) crop intrinsics + XYZ anchor (:func:`models.crop.crop_camera_vector`); None without XYZ."""
        return None if self.xyz_anchor is None else crop_camera_vector(self.intrinsics, self.xyz_anchor)


OPTIONAL_FIELDS = tuple(f.name for f in dataclasses.fields(Sample) if f.name not in ("kind", "intrinsics",
                                                                                     "rgb_anchor"))


@dataclass
class Batch:
    """Collated samples: every present field stacked to (B, ...) tensors.

    ``fields[name]`` is the stacked tensor (zeros for samples that lack it) and
    ``present[name]`` a (B,) bool tensor; a field no sample has is absent from both.
    ``kinds`` lists the samples' source kinds.
    """

    kinds: list[str]
    intrinsics: torch.Tensor
    rgb_anchor: torch.Tensor
    fields: dict[str, torch.Tensor]
    present: dict[str, torch.Tensor]

    def __len__(self) -> int:
        return len(self.kinds)

    def get(self, name: str) -> torch.Tensor | None:
        return self.fields.get(name)

    def has(self, name: str) -> torch.Tensor:
        """(B,) bool: which samples carry ``name`` (all False when none does)."""
        if name in self.present:
            return self.present[name]
        return torch.zeros(len(self), dtype=torch.bool)

    def crop_camera(self) -> torch.Tensor:
        """(B, 7) crop intrinsics + XYZ anchor (:func:`models.crop.crop_camera_vector`; zeros
        for samples without XYZ)."""
        anchor = self.fields.get("xyz_anchor")
        if anchor is None:
            anchor = self.intrinsics.new_zeros((len(self), 3))
        return torch.cat([self.intrinsics, anchor.to(self.intrinsics.dtype)], dim=1)

    def to(self, device: torch.device | str) -> Batch:
        return Batch(
            self.kinds, self.intrinsics.to(device), self.rgb_anchor.to(device),
            {k: v.to(device, non_blocking=True) for k, v in self.fields.items()},
            {k: v.to(device) for k, v in self.present.items()},
        )

    def pin_memory(self) -> Batch:
        return Batch(self.kinds, self.intrinsics.pin_memory(), self.rgb_anchor.pin_memory(),
                     {k: v.pin_memory() for k, v in self.fields.items()}, self.present)


def collate(samples: list[Sample]) -> Batch:
    """Stack samples into a :class:`Batch` (the DataLoader's ``collate_fn``)."""
    if not samples:
        raise ValueError("cannot collate an empty list of samples")
    fields: dict[str, torch.Tensor] = {}
    present: dict[str, torch.Tensor] = {}
    for name in OPTIONAL_FIELDS:
        values = [getattr(s, name) for s in samples]
        mask = [v is not None for v in values]
        if not any(mask):
            continue
        reference = next(v for v in values if v is not None)
        for v in values:
            if v is not None and v.shape != reference.shape:
                raise ValueError(f"field {name!r} has shapes {reference.shape} and {v.shape} in one batch")
        stacked = np.stack([v if v is not None else np.zeros_like(reference) for v in values])
        fields[name] = torch.from_numpy(stacked)
        present[name] = torch.tensor(mask)
    return Batch(
        kinds=[s.kind for s in samples],
        intrinsics=torch.from_numpy(np.stack([s.intrinsics for s in samples]).astype(np.float32)),
        rgb_anchor=torch.from_numpy(np.stack([s.rgb_anchor for s in samples]).astype(np.float32)),
        fields=fields,
        present=present,
    )
