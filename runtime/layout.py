"""The layout of a branch's parameter vector: which slice is identity, expression, pose..."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["OutputLayout"]

# What each group means, as the sidecar states it.
MEANINGS = {
    "identity": "identity coefficients (face-model identity basis, roughly N(0, 1))",
    "expression": "expression weights in [0, 1], face-model expression order (ARKit-style names)",
    "rotation": "row-major 3x3, crop camera from head: p_crop = R p_head + t",
    "translation": "normalised: t_crop = anchor + metric_scale_m * value (see normalization)",
    "albedo": "coefficients of models.render.AlbedoModel",
    "lighting": "row-major (9, 3) SH coefficients in the crop camera frame (models.render.sh_lighting)",
}


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

    The raw head output in training is the same with 6 numbers for the rotation (two matrix
    columns).
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

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The sidecar's ``outputs[0].layout``: name -> start, stop, meaning."""
        return {name: {"start": s.start, "stop": s.stop, "meaning": MEANINGS[name]} for name, s in self.slices().items()}

    @classmethod
    def from_dict(cls, layout: dict[str, dict[str, Any]]) -> OutputLayout:
        """The layout that :meth:`to_dict` wrote; raises ValueError when it is not one."""
        size = {name: int(spec["stop"]) - int(spec["start"]) for name, spec in layout.items()}
        made = cls(identity=size["identity"], expression=size["expression"], albedo=size["albedo"])
        if {name: (s.start, s.stop) for name, s in made.slices().items()} != {
                name: (int(spec["start"]), int(spec["stop"])) for name, spec in layout.items()}:
            raise ValueError(f"output layout {layout} is not in the order {list(MEANINGS)}")
        return made
