"""The JSON sidecar beside each ``.onnx`` file in ``assets/``: one typed record, one codec.

Training's export writes it (:meth:`Sidecar.write`), the app reads it
(:func:`read_sidecar`), and training's evaluation adds its figures
(:meth:`Sidecar.with_evaluation`), all through this module, so the schema is spelled once.

A branch sidecar (``kind: "branch"``) describes a graph whose inputs are some of ``rgb``
(B, 3, S, S), ``xyz`` (B, 4, S, S) and ``crop_camera`` (B, 7) and whose output ``params``
(B, P) is laid out as :class:`runtime.layout.OutputLayout`; it carries the crop recipe
(``normalization``, :class:`models.crop.CropRecipe`) and which anchor its translation is
relative to. A decoder sidecar (``kind: "decoder"``) describes the corrective graph
(``identity`` (B, 100), ``expression`` (B, 53) -> ``corrective`` (B, 9409, 3) metres). Both
carry the face-model id, the training run, the ONNX-vs-PyTorch parity and (after
``python -m training evaluate --write``) the evaluation figures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from models.crop import CropRecipe
from models.errors import ModelError
from models.face_model import REGION_SIZES, FaceModel
from models.face_model.source import PINNED_COMMIT, sha256_of
from runtime.layout import OutputLayout

__all__ = ["SIDECAR_FORMAT", "FaceModelId", "Sidecar", "TensorSpec", "read_sidecar"]

SIDECAR_FORMAT = "facefromx-onnx-sidecar/1"
FACE_MODEL_NAME = "ICT-FaceKit Light"
ANCHORS = ("rgb_anchor", "xyz_anchor")


@dataclass(frozen=True)
class TensorSpec:
    """A graph input or output: name, shape (``"batch"`` for the free axis), dtype, meaning."""

    name: str
    shape: tuple[int | str, ...]
    dtype: str = "float32"
    meaning: str = ""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}
        if self.meaning:
            data["meaning"] = self.meaning
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TensorSpec:
        return cls(str(data["name"]), tuple(data["shape"]), str(data.get("dtype", "float32")),
                   str(data.get("meaning", "")))


@dataclass(frozen=True)
class FaceModelId:
    """Which face model a graph was trained for: the pinned commit and the expression order."""

    commit: str
    expression_names: tuple[str, ...]
    num_identity: int
    regions: dict[str, int] = field(default_factory=dict)
    name: str = FACE_MODEL_NAME

    @classmethod
    def of(cls, model: FaceModel) -> FaceModelId:
        return cls(PINNED_COMMIT, tuple(model.expression_names), model.num_identity,
                   {name: REGION_SIZES[name] for name in ("narrow_face", "face")})

    def matches(self, model: FaceModel) -> bool:
        return self.commit == PINNED_COMMIT and self.expression_names == tuple(model.expression_names)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "commit": self.commit, "regions": dict(self.regions),
                "num_identity": self.num_identity, "num_expression": len(self.expression_names),
                "expression_names": list(self.expression_names)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaceModelId:
        return cls(str(data.get("commit", "")), tuple(data.get("expression_names", ())),
                   int(data.get("num_identity", 0)), dict(data.get("regions", {})),
                   str(data.get("name", FACE_MODEL_NAME)))


@dataclass(frozen=True)
class Sidecar:
    """One sidecar's content (see the module doc).

    Attributes:
        kind: ``"branch"`` or ``"decoder"``.
        onnx: the graph's file name, beside the sidecar; sha256: its checksum (hex).
        face_model: the face model it was trained for.
        inputs, outputs: the graph's tensors, in order.
        training: the run it came from (config name and hash, step, backbone...).
        parity: ONNX Runtime against PyTorch at export.
        evaluation: the held-out figures of ``training evaluate --write`` (None before).
        branch: ``rgb``, ``depth`` or ``rgbd`` (branches only).
        layout: the ``params`` output's layout (branches only).
        recipe: the crop and normalisation recipe (branches only).
        translation_anchor: ``rgb_anchor`` or ``xyz_anchor``: what the network's translation is
            relative to (branches only).
        extra: any other top-level entries (albedo model, decoder usage...), kept as written.
        path: where it was read from (None for one not read from a file).
    """

    kind: str
    onnx: str
    sha256: str
    face_model: FaceModelId
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    training: dict[str, Any] = field(default_factory=dict)
    parity: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] | None = None
    branch: str | None = None
    layout: OutputLayout | None = None
    recipe: CropRecipe | None = None
    translation_anchor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = field(default=None, compare=False)

    @property
    def onnx_path(self) -> Path:
        """The graph file: beside the sidecar it was read from."""
        if self.path is None:
            raise ValueError("this sidecar was not read from a file")
        return self.path.with_name(self.onnx)

    @property
    def input_names(self) -> list[str]:
        return [spec.name for spec in self.inputs]

    def with_evaluation(self, evaluation: dict[str, Any]) -> Sidecar:
        return replace(self, evaluation=evaluation)

    # -- codec ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        outputs = [spec.to_dict() for spec in self.outputs]
        if self.layout is not None:
            outputs[0]["layout"] = self.layout.to_dict()
        data: dict[str, Any] = {"format": SIDECAR_FORMAT, "face_model": self.face_model.to_dict(),
                                "training": self.training, "evaluation": self.evaluation, "kind": self.kind}
        if self.branch is not None:
            data["branch"] = self.branch
        data |= {"onnx": self.onnx, "sha256": self.sha256, "inputs": [spec.to_dict() for spec in self.inputs],
                 "outputs": outputs}
        if self.recipe is not None:
            data["normalization"] = self.recipe.to_dict()
        if self.translation_anchor is not None:
            data["translation_anchor"] = self.translation_anchor
        return data | self.extra | {"parity": self.parity}

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: Path | None = None) -> Sidecar:
        """Parse a sidecar; raises ValueError on another format or a malformed entry."""
        if data.get("format") != SIDECAR_FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {SIDECAR_FORMAT!r}")
        known = {"format", "face_model", "training", "evaluation", "kind", "branch", "onnx", "sha256", "inputs",
                 "outputs", "normalization", "translation_anchor", "parity"}
        try:
            kind = str(data["kind"])
            outputs = tuple(TensorSpec.from_dict(o) for o in data["outputs"])
            anchor = data.get("translation_anchor")
            if kind == "branch" and anchor not in ANCHORS:
                raise ValueError(f"translation_anchor {anchor!r} is not one of {ANCHORS}")
            return cls(
                kind=kind, onnx=str(data["onnx"]), sha256=str(data.get("sha256", "")),
                face_model=FaceModelId.from_dict(data.get("face_model", {})),
                inputs=tuple(TensorSpec.from_dict(i) for i in data["inputs"]), outputs=outputs,
                training=dict(data.get("training") or {}), parity=dict(data.get("parity") or {}),
                evaluation=data.get("evaluation"), branch=data.get("branch"),
                layout=OutputLayout.from_dict(data["outputs"][0]["layout"]) if kind == "branch" else None,
                recipe=CropRecipe.from_dict(data["normalization"]) if kind == "branch" else None,
                translation_anchor=anchor,
                extra={k: v for k, v in data.items() if k not in known}, path=path)
        except (KeyError, TypeError, IndexError) as exc:
            raise ValueError(f"malformed entry ({type(exc).__name__}: {exc})") from None

    @classmethod
    def read(cls, path: Path) -> Sidecar:
        """The sidecar in ``path``; FileNotFoundError when missing, ValueError when unreadable."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path} is unreadable: {exc}") from None
        try:
            return cls.from_dict(data, path)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    def write(self, path: Path) -> Path:
        """Write as indented JSON, atomically (a temporary file renamed into place)."""
        path = Path(path)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        tmp.replace(path)
        return path


def read_sidecar(assets_dir: Path, name: str, model: FaceModel) -> Sidecar:
    """Read ``assets_dir/name.json`` and check it against its ONNX file and the face model.

    Raises :class:`ModelError` naming the file when the sidecar or the ONNX file is missing,
    unreadable, for another face model, or when the ONNX file's checksum does not match.
    """
    path = Path(assets_dir) / f"{name}.json"
    try:
        sidecar = Sidecar.read(path)
    except FileNotFoundError:
        raise ModelError(f"network sidecar {path} is missing (train and export the weights: "
                         f"python -m training export)") from None
    except ValueError as exc:
        raise ModelError(f"network sidecar {exc}") from None
    if not sidecar.face_model.matches(model):
        raise ModelError(f"network sidecar {path} was trained for another face model")
    onnx = sidecar.onnx_path
    if not onnx.is_file():
        raise ModelError(f"network file {onnx} is missing")
    if sidecar.sha256 and sha256_of(onnx) != sidecar.sha256:
        raise ModelError(f"network file {onnx} does not match its sidecar {path.name} (SHA-256 mismatch)")
    return sidecar
