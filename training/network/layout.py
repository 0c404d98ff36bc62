"""The layout of the network's parameter vector (what each slice of the output means)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["OutputLayout"]

# Order of the fields in both the raw head output and the exported parameter vector.
_FIELDS = ("identity", "expression", "rotation", "translation", "albedo", "lighting")


@dataclass(frozen=True)
class OutputLayout:
    """Sizes of the parameter groups.

    The exported vector ("params", (B, total)) holds, in order:

    * ``identity`` (100): identity coefficients, roughly N(0, 1);
    * ``expression`` (53): expression weights in [0, 1] (sigmoid), face-model order;
    * ``rotation`` (9): row-major 3x3 rotation, crop camera from head (from the 6D output);
    * ``translation`` (3): normalised translation (see ``models.crop.CropRecipe``);
    * ``albedo`` (K): coefficients of ``models.render.AlbedoModel``;
    * ``lighting`` (27): SH coefficients as a row-major (9, 3) array, crop camera frame.

    The raw head output is the same with 6 numbers for the rotation (two matrix columns).
    """

    identity: int = 100
    expression: int = 53
    albedo: int = 10

    def sizes(self, raw: bool = False) -> dict[str, int]:
        return {"identity": self.identity, "expression": self.expression, "rotation": 6 if raw else 9,
                "translation": 3, "albedo": self.albedo, "lighting": 27}

    def slices(self, raw: bool = False) -> dict[str, slice]:
        out, start = {}, 0
        for name, size in self.sizes(raw).items():
            out[name] = slice(start, start + size)
            start += size
        return out

    def total(self, raw: bool = False) -> int:
        return sum(self.sizes(raw).values())

    def split(self, params: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, total) exported parameters -> named tensors; rotation (B, 3, 3), lighting (B, 9, 3)."""
        parts = {name: params[:, s] for name, s in self.slices().items()}
        parts["rotation"] = parts["rotation"].reshape(-1, 3, 3)
        parts["lighting"] = parts["lighting"].reshape(-1, 9, 3)
        return parts

    def to_dict(self) -> dict[str, dict[str, int | str]]:
        notes = {
            "identity": "identity coefficients (face-model identity basis, roughly N(0, 1))",
            "expression": "expression weights in [0, 1], face-model expression order (ARKit-style names)",
            "rotation": "row-major 3x3, crop camera from head: p_crop = R p_head + t",
            "translation": "normalised: t_crop = anchor + metric_scale_m * value (see normalization)",
            "albedo": "coefficients of models.render.AlbedoModel",
            "lighting": "row-major (9, 3) SH coefficients in the crop camera frame (models.render.sh_lighting)",
        }
        return {name: {"start": s.start, "stop": s.stop, "meaning": notes[name]} for name, s in self.slices().items()}

    @classmethod
    def from_sidecar(cls, sidecar: dict) -> OutputLayout:
        """The layout a branch sidecar's ``outputs[0].layout`` (see :meth:`to_dict`) describes."""
        layout = sidecar["outputs"][0]["layout"]
        size = {name: spec["stop"] - spec["start"] for name, spec in layout.items()}
        return cls(identity=size["identity"], expression=size["expression"], albedo=size["albedo"])
