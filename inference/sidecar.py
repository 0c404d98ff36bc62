"""Reading and checking the JSON sidecar that ships beside each ONNX file in ``assets/``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.crop import CropRecipe
from models.errors import ModelError
from models.face_model import FaceModel
from models.face_model.source import PINNED_COMMIT, sha256_of

SIDECAR_FORMAT = "facefromx-onnx-sidecar/1"


@dataclass(frozen=True)
class Sidecar:
    """A checked sidecar: the ONNX path it describes and its parsed content."""

    path: Path
    onnx: Path
    data: dict[str, Any]

    @property
    def recipe(self) -> CropRecipe:
        return CropRecipe.from_dict(self.data["normalization"])

    def slices(self) -> dict[str, slice]:
        """Output layout of a branch: name -> slice of the ``params`` vector."""
        layout = self.data["outputs"][0]["layout"]
        return {name: slice(int(v["start"]), int(v["stop"])) for name, v in layout.items()}


def read_sidecar(assets_dir: Path, name: str, model: FaceModel) -> Sidecar:
    """Read ``assets_dir/name.json`` and check it against its ONNX file and the face model.

    Raises :class:`ModelError` naming the file when the sidecar or the ONNX file is missing,
    unreadable, for another face model, or when the ONNX file's checksum does not match.
    """
    path = Path(assets_dir) / f"{name}.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"network sidecar {path} is missing (train and export the weights: "
                         f"python -m training export)") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"network sidecar {path} is unreadable: {exc}") from None
    if data.get("format") != SIDECAR_FORMAT:
        raise ModelError(f"network sidecar {path} has format {data.get('format')!r}, expected {SIDECAR_FORMAT!r}")
    face_model = data.get("face_model", {})
    if face_model.get("commit") != PINNED_COMMIT or tuple(face_model.get("expression_names", ())) != (
            model.expression_names):
        raise ModelError(f"network sidecar {path} was trained for another face model")
    onnx = path.with_name(str(data.get("onnx", f"{name}.onnx")))
    if not onnx.is_file():
        raise ModelError(f"network file {onnx} is missing")
    if data.get("sha256") and sha256_of(onnx) != data["sha256"]:
        raise ModelError(f"network file {onnx} does not match its sidecar {path.name} (SHA-256 mismatch)")
    return Sidecar(path=path, onnx=onnx, data=data)
