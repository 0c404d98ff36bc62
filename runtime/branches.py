"""The network branches (``rgb``, ``depth``, ``rgbd``) and the decoder corrective, run with
ONNX Runtime exactly as they were trained (preprocessing from the sidecar's recipe).

The app's pipeline and training's evaluation run the same :class:`Branch` and
:class:`Decoder`; :func:`decode_params` is the one place a ``params`` vector is read back
(training's diagnosis, which runs a graph with an extra output, uses it directly).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.crop import CropInputs, FaceCrop, prepare_inputs
from models.errors import ModelError
from models.face_model import REGION_SIZES, FaceModel
from models.frame import Frame
from models.mode import Mode
from runtime.onnx_session import SessionConfig, create_session
from runtime.sidecar import Sidecar, read_sidecar

__all__ = ["Branch", "BranchOutput", "CropEstimate", "Decoder", "decode_params"]


@dataclass(frozen=True)
class CropEstimate:
    """A ``params`` vector read back, in the CROP camera frame (OpenCV, metres).

    rotation: (3, 3) float64 crop camera from head; translation: (3,) float64 metres;
    identity: (100,) float32; expression: (53,) float32 clipped to [0, 1]; albedo: (K,)
    float32; lighting: (9, 3) float32 SH in the crop frame.
    """

    rotation: np.ndarray
    translation: np.ndarray
    identity: np.ndarray
    expression: np.ndarray
    albedo: np.ndarray
    lighting: np.ndarray


def decode_params(sidecar: Sidecar, params: np.ndarray, anchors: object) -> CropEstimate:
    """Read one (P,) ``params`` vector of the branch ``sidecar`` describes.

    ``anchors``: anything with ``rgb_anchor`` and ``xyz_anchor`` ((3,) metres, crop frame; a
    :class:`models.crop.CropInputs` or a training sample): the sidecar's
    ``translation_anchor`` says which the translation is relative to.
    """
    part = {name: params[s] for name, s in sidecar.layout.slices().items()}
    anchor = getattr(anchors, sidecar.translation_anchor)
    if anchor is None:
        raise ValueError(f"the {sidecar.branch} branch needs depth input")
    return CropEstimate(
        rotation=part["rotation"].reshape(3, 3).astype(np.float64),
        translation=sidecar.recipe.translation_from_network(part["translation"], anchor),
        identity=part["identity"].astype(np.float32),
        expression=np.clip(part["expression"], 0.0, 1.0).astype(np.float32),
        albedo=part["albedo"].astype(np.float32),
        lighting=part["lighting"].reshape(9, 3).astype(np.float32),
    )


@dataclass(frozen=True)
class BranchOutput:
    """A branch's estimate in the SOURCE camera frame (OpenCV, metres).

    rotation: (3, 3) camera from head; translation: (3,); identity: (100,) float32;
    expression: (53,) float32 in [0, 1]; albedo: (K,); lighting: (9, 3) SH (source frame is
    not needed by the app, so it stays in the crop frame); inputs: the crop it saw.
    """

    rotation: np.ndarray
    translation: np.ndarray
    identity: np.ndarray
    expression: np.ndarray
    albedo: np.ndarray
    lighting: np.ndarray
    inputs: CropInputs


class Branch:
    """One exported branch: crop + normalise a frame, run the graph, read the layout back."""

    def __init__(self, assets_dir: Path, mode: Mode, model: FaceModel, config: SessionConfig = SessionConfig()):  # noqa: B008
        self.mode = mode
        self.sidecar = read_sidecar(assets_dir, mode.value, model)
        self.recipe = self.sidecar.recipe
        self.session = create_session(self.sidecar.onnx_path, config)
        self.input_names = [i.name for i in self.session.get_inputs()]
        if self.input_names != self.sidecar.input_names:
            raise ModelError(f"network file {self.sidecar.onnx_path} has inputs {self.input_names}, its sidecar "
                             f"says {self.sidecar.input_names}")

    @property
    def uses_rgb(self) -> bool:
        return "rgb" in self.input_names

    @property
    def uses_depth(self) -> bool:
        return "xyz" in self.input_names

    def run(self, frame: Frame, crop: FaceCrop) -> BranchOutput:
        """Estimate the face inside ``crop`` of ``frame`` (which must carry what the branch needs)."""
        inputs = prepare_inputs(self.recipe, frame.intrinsics, crop,
                                rgb=frame.rgb if self.uses_rgb else None,
                                depth=frame.depth if self.uses_depth else None)
        return self.run_inputs(inputs)

    def run_inputs(self, inputs: CropInputs) -> BranchOutput:
        """Estimate the face from prepared crop inputs (the recipe's, with what the branch needs)."""
        feeds = {name: getattr(inputs, name)[None] for name in self.input_names}
        estimate = decode_params(self.sidecar, self.session.run(None, feeds)[0][0], inputs)
        rotation, translation = inputs.camera.pose_to_source(estimate.rotation, estimate.translation)
        return BranchOutput(rotation=rotation, translation=translation, identity=estimate.identity,
                            expression=estimate.expression, albedo=estimate.albedo, lighting=estimate.lighting,
                            inputs=inputs)


class Decoder:
    """The face mesh from coefficients: the linear face model plus the shipped corrective."""

    def __init__(self, assets_dir: Path, model: FaceModel, config: SessionConfig = SessionConfig()):  # noqa: B008
        self.model = model
        self.sidecar = read_sidecar(assets_dir, "decoder", model)
        self.session = create_session(self.sidecar.onnx_path, config)
        n = REGION_SIZES["face"]
        self._template = np.ascontiguousarray(model.template[:n])
        # (100 + 53, n * 3) float32: one matrix product gives the linear model's offsets.
        self._basis = np.ascontiguousarray(np.concatenate(
            [model.identity_basis[:, :n], model.expression_basis[:, :n]]).reshape(-1, n * 3))

    def corrective(self, identity: np.ndarray, expression: np.ndarray) -> np.ndarray:
        """(9409, 3) float32 head-frame offsets in metres for the face region."""
        feeds = {"identity": identity[None].astype(np.float32), "expression": expression[None].astype(np.float32)}
        return self.session.run(None, feeds)[0][0]

    def vertices(self, identity: np.ndarray, expression: np.ndarray) -> np.ndarray:
        """(9409, 3) float32 head-frame face-region vertices in metres."""
        coefficients = np.concatenate([identity, expression]).astype(np.float32)
        linear = self._template + (coefficients @ self._basis).reshape(-1, 3)
        return linear + self.corrective(identity, expression)
