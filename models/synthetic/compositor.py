"""Rendering a synthetic RGB-D frame of a posed face model with its ground truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.camera import Intrinsics
from models.face_model import REGION_SIZES, FaceModel
from models.frame import GroundTruth
from models.geometry import camera_rotation_to_euler, head_pose_to_camera
from models.render.albedo import AlbedoModel
from models.render.color import to_srgb_uint8
from models.render.renderer import MeshRenderer
from models.sensor import TrueDepthNoiseConfig, fast_standard_normal, simulate_truedepth
from models.synthetic.motion import FaceState
from models.synthetic.scene import NECK_BASE_IN_HEAD, Backdrop, torso_mesh

# Linear-RGB albedo of the parts of the 'visible' region outside the skin, by vertex range
# (ICT-FaceKit's geometry table). Irises get the appearance's eye colour.
INTERIOR_ALBEDO: tuple[tuple[int, int, tuple[float, float, float]], ...] = (
    (11248, 13294, (0.20, 0.04, 0.04)),  # mouth socket
    (13294, 14062, (0.35, 0.15, 0.13)),  # eye sockets
    (14062, 17039, (0.55, 0.18, 0.18)),  # gums and tongue
    (17039, 21451, (0.80, 0.76, 0.66)),  # teeth
    (21451, 24591, (0.78, 0.75, 0.72)),  # eyeballs (irises painted on by _paint_irises)
)
SCLERA_RANGES = ((21451, 22221), (23021, 23791))
# Angular radii (radians from the eyeball's forward axis) of the painted iris and pupil.
IRIS_ANGLE = 0.62
PUPIL_ANGLE = 0.28
PUPIL_RGB = (0.015, 0.012, 0.012)
DEFAULT_NOISE = TrueDepthNoiseConfig()
IMAGE_NOISE_LEVELS = 2.0  # standard deviation of the colour camera's grain, in 8-bit levels
GRAIN_MARGIN = 64  # pixels of extra grain field around the image, for the per-frame offsets


@dataclass(frozen=True)
class Appearance:
    """How the actor and the room look: constant over a sequence except the lighting.

    albedo: (K,) coefficients of :class:`AlbedoModel`; iris_rgb, clothing_rgb: linear RGB;
    backdrop: the room behind the actor.
    """

    albedo: np.ndarray
    iris_rgb: tuple[float, float, float]
    clothing_rgb: tuple[float, float, float]
    backdrop: Backdrop

    @classmethod
    def sample(cls, albedo_model: AlbedoModel, backdrop: Backdrop, rng: np.random.Generator) -> Appearance:
        iris = tuple(rng.uniform([0.05, 0.03, 0.02], [0.35, 0.3, 0.3]))
        clothing = tuple(rng.uniform(0.03, 0.7, 3))
        return cls(albedo_model.sample(rng), iris, clothing, backdrop)


@dataclass(frozen=True)
class SyntheticImage:
    """rgb: (H, W, 3) uint8; depth: (H, W) float32 metres (0 invalid), after sensor noise;
    face_mask: (H, W) bool pixels of the face region; ground_truth: what was rendered."""

    rgb: np.ndarray
    depth: np.ndarray
    face_mask: np.ndarray
    ground_truth: GroundTruth


class FaceCompositor:
    """Renders the face model, shoulders and backdrop to a camera, with sensor noise.

    The head is the face model's ``visible`` region (skin, mouth interior, teeth, eyes);
    the body is :func:`models.synthetic.scene.torso_mesh` hanging from the neck, turning a
    quarter as much as the head. Owns a GL renderer: create it on the thread that renders.
    """

    def __init__(self, model: FaceModel, intrinsics: Intrinsics,
                 noise: TrueDepthNoiseConfig | None = DEFAULT_NOISE):
        self.model = model
        self.intrinsics = intrinsics
        self.noise = noise
        self.renderer = MeshRenderer(intrinsics.width, intrinsics.height)
        self.albedo_model = AlbedoModel.from_face_model(model)
        self._num_visible = REGION_SIZES["visible"]
        self._num_face = REGION_SIZES["face"]
        head_triangles = model.region("visible").triangles
        self._torso_vertices, torso_triangles = torso_mesh()
        self._triangles = np.concatenate([head_triangles, torso_triangles + self._num_visible]).astype(np.int32)
        # Per triangle: does it belong to the face region? (-1, the background, maps to False.)
        self._is_face_triangle = np.append(np.all(self._triangles < self._num_face, axis=1), False)
        self._iris, self._pupil = self._eye_markings(model)
        # (53, visible * 3) contiguous: one matrix product per frame blends the expressions.
        self._expression_basis = np.ascontiguousarray(
            model.expression_basis[:, : self._num_visible].reshape(model.num_expression, -1))
        # Camera grain: one fixed field, read at a random offset each frame (cheap, looks random).
        grain_rng = np.random.default_rng(0)
        self._grain = (fast_standard_normal(
            grain_rng, (intrinsics.height + GRAIN_MARGIN, intrinsics.width + GRAIN_MARGIN, 3))
            * IMAGE_NOISE_LEVELS).astype(np.float32)
        self._colors_of: Appearance | None = None
        self._cached_colors = np.empty((0, 3), np.float32)
        self._identity_key: bytes | None = None
        self._identity_shape: np.ndarray | None = None

    @staticmethod
    def _eye_markings(model: FaceModel) -> tuple[np.ndarray, np.ndarray]:
        """Vertex indices of the iris ring and the pupil on each eyeball's outer shell.

        ICT's sclera is a closed shell over its iris, so the iris colour goes on the shell:
        vertices within IRIS_ANGLE (PUPIL_ANGLE) of the forward (+z) axis through the
        eyeball's centre, in the neutral pose.
        """
        iris, pupil = [], []
        for start, stop in SCLERA_RANGES:
            shell = model.template[start:stop]
            centre = shell.mean(axis=0)
            direction = shell - centre
            angle = np.arccos(np.clip(direction[:, 2] / np.linalg.norm(direction, axis=1), -1, 1))
            iris.append(start + np.flatnonzero((angle < IRIS_ANGLE) & (angle >= PUPIL_ANGLE)))
            pupil.append(start + np.flatnonzero(angle < PUPIL_ANGLE))
        return np.concatenate(iris), np.concatenate(pupil)

    def _head_shape(self, identity: np.ndarray) -> np.ndarray:
        key = identity.tobytes()
        if key != self._identity_key:
            self._identity_shape = self.model.vertices(identity, None, region="visible")
            self._identity_key = key
        return self._identity_shape

    def _colors(self, appearance: Appearance) -> np.ndarray:
        """(N, 3) float32 per-vertex albedo of head and torso, kept for the last appearance."""
        if self._colors_of is appearance:
            return self._cached_colors
        colors = np.empty((self._num_visible + len(self._torso_vertices), 3), dtype=np.float32)
        skin = self.albedo_model.colors(appearance.albedo)
        colors[: len(skin)] = skin
        for start, stop, rgb in INTERIOR_ALBEDO:
            colors[start:stop] = rgb
        colors[self._iris] = appearance.iris_rgb
        colors[self._pupil] = PUPIL_RGB
        colors[self._num_visible:] = appearance.clothing_rgb
        self._colors_of, self._cached_colors = appearance, colors
        return colors

    def render(self, state: FaceState, appearance: Appearance, sh: np.ndarray,
               rng: np.random.Generator) -> SyntheticImage:
        """One frame of ``state`` lit by ``sh`` ((9, 3) camera-frame SH, see sh_lighting)."""
        head = self._head_shape(state.identity) + (state.expression @ self._expression_basis).reshape(-1, 3)
        head_cam = head @ state.rotation.T + state.translation
        yaw, _, _ = camera_rotation_to_euler(state.rotation)
        body_rotation = head_pose_to_camera(0.25 * yaw, 0.0, 0.0)
        neck = state.rotation @ NECK_BASE_IN_HEAD + state.translation
        torso_cam = self._torso_vertices @ body_rotation.T + neck
        vertices = np.concatenate([head_cam, torso_cam]).astype(np.float32)
        result = self.renderer.render(vertices, self._triangles, self.intrinsics,
                                      self._colors(appearance), sh=sh,
                                      outputs=("rgb", "depth", "triangle_id"))
        covered = result.triangle_id >= 0
        rgb = appearance.backdrop.image.copy()
        rgb[covered] = to_srgb_uint8(result.rgb[covered][None])[0]
        dy, dx = rng.integers(0, GRAIN_MARGIN, 2)
        grain = self._grain[dy: dy + rgb.shape[0], dx: dx + rgb.shape[1]]
        rgb = np.clip(rgb + grain, 0, 255).astype(np.uint8)
        depth = np.where(covered, result.depth, appearance.backdrop.depth).astype(np.float32)
        if self.noise is not None:
            depth = simulate_truedepth(depth, self.intrinsics, rng, self.noise)
        face_mask = self._is_face_triangle[result.triangle_id]
        face = head_cam[: self._num_face].astype(np.float32)
        truth = GroundTruth(
            rotation=state.rotation,
            translation=state.translation,
            identity=state.identity,
            expression=state.expression,
            vertices=face,
            landmarks_2d=self.intrinsics.project(face[self.model.landmark_indices]).astype(np.float32),
        )
        return SyntheticImage(rgb, depth, face_mask, truth)
