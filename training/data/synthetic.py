"""Synthetic training samples, generated on the fly: full frames cropped exactly like inference.

Each sample is a whole camera frame rendered by :class:`models.synthetic.compositor.FaceCompositor`
(head with mouth interior and eyes, shoulders, backdrop; the source camera drawn from the
configured presets, landscape and the 90-degree-rotated portrait TrueDepth frames included),
then degraded like a real capture (occluders, TrueDepth noise or, sometimes, the projected
speckle simulation, blur), then cropped by :func:`models.crop.prepare_inputs` around the
ground-truth face centre with localizer-like jitter: the very code path the app runs. (Rendering
straight through the crop camera at crop resolution is about twice as fast per render, but the
sensor noise, the nearest-neighbour depth sampling and the colour resampling would then differ
from what inference sees; see training/README.md for the measurements.)

Domain randomisation (ranges in :class:`training.config.DataConfig`): identity N(0, 1) times a
random scale; expressions from :class:`training.data.expressions.ExpressionSampler`; pose
drawn in the *crop* frame (yaw, pitch, a residual roll the localizer leaves) and turned into
the source frame by a random crop angle (upright, quarter turns or any roll); distance
log-uniform; SH lighting (:func:`models.render.sh_lighting.random_sh`) at a random level;
albedo (:meth:`models.render.AlbedoModel.sample`), iris and clothing colours; backgrounds
(:mod:`training.data.backdrops`); occluders (:mod:`training.data.occluders`).

Samples on the speckle path also carry the clean face geometry as ``scan_points``: the
paper's Eq. 10 supervision (scan-like clean points behind a simulated capture).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace

import cv2
import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from models.camera import Intrinsics
from models.conventions import face_centre_in_head
from models.crop import CropRecipe, crop_from_point, prepare_inputs
from models.face_model import REGION_SIZES, FaceModel, load_face_model
from models.render.sh_lighting import random_sh
from models.sensor import SpeckleSimulator, TrueDepthNoiseConfig, simulate_truedepth
from models.synthetic.compositor import Appearance, SyntheticImage
from models.synthetic.motion import FaceState
from training.config import DataConfig
from training.data.backdrops import random_backdrop
from training.data.compositor import RollingCompositor
from training.data.expressions import ExpressionSampler
from training.data.occluders import add_occluders
from training.data.sample import Sample
from training.data.viewpoint import jitter_crop, random_view

__all__ = ["SyntheticDataset", "SyntheticGenerator"]

log = logging.getLogger(__name__)

NARROW = REGION_SIZES["narrow_face"]
FACE = REGION_SIZES["face"]


@dataclass(frozen=True, eq=False)
class _Scene:
    """A rendered clean frame and what its captures need: camera preset index, the
    ground-truth face centre (source camera frame, metres), the crop angle, albedo and SH."""

    camera_index: int
    image: SyntheticImage
    centre: np.ndarray
    angle: float
    albedo: np.ndarray
    sh: np.ndarray


class SyntheticGenerator:
    """Makes :class:`~training.data.sample.Sample` objects from a random generator.

    Owns GL renderers (one compositor per camera preset, created on first use): build it in
    the process (DataLoader worker) that uses it.
    """

    def __init__(self, config: DataConfig, recipe: CropRecipe, model: FaceModel | None = None):
        self.config = config
        self.recipe = recipe
        self.model = model if model is not None else load_face_model()
        self.cameras = [Intrinsics.from_fov(c.width, c.height, c.hfov_deg) for c in config.cameras]
        weights = np.array([c.weight for c in config.cameras], np.float64)
        self.camera_probs = weights / weights.sum()
        self.expressions = ExpressionSampler(self.model.expression_names, train_seed_limit=config.train_seed_limit)
        self.face_centre = face_centre_in_head(self.model)
        self._compositors: dict[int, RollingCompositor] = {}
        self._speckle: dict[int, SpeckleSimulator] = {}

    def _compositor(self, index: int) -> RollingCompositor:
        if index not in self._compositors:
            self._compositors[index] = RollingCompositor(self.model, self.cameras[index], noise=None)
        return self._compositors[index]

    # -- scene --------------------------------------------------------------------------------

    def _sensor(self, depth: np.ndarray, camera_index: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
        """The captured depth and whether it came from the speckle simulation."""
        c = self.config
        camera = self.cameras[camera_index]
        u = rng.uniform()
        if u < c.speckle_prob:
            if camera_index not in self._speckle:
                self._speckle[camera_index] = SpeckleSimulator(camera)
            return self._speckle[camera_index].capture(depth, rng), True
        if u < c.speckle_prob + c.clean_depth_prob:
            return depth, False
        noise = TrueDepthNoiseConfig()
        noise = replace(noise, axial_sigma_m=noise.axial_sigma_m * rng.uniform(*c.noise_scale))
        return simulate_truedepth(depth, camera, rng, noise), False

    # -- sample -------------------------------------------------------------------------------

    def render(self, rng: np.random.Generator) -> _Scene:
        """One random scene, rendered clean (no occluders, no sensor noise yet)."""
        c = self.config
        index = int(rng.choice(len(self.cameras), p=self.camera_probs))
        camera = self.cameras[index]
        compositor = self._compositor(index)
        identity = (rng.standard_normal(self.model.num_identity) * rng.uniform(*c.identity_scale)).astype(np.float32)
        expression = self.expressions.sample(rng)
        view = random_view(c, rng, camera, self.face_centre)
        sh = random_sh(rng) * np.float32(rng.uniform(*c.light_scale))
        appearance = Appearance.sample(compositor.albedo_model, random_backdrop(camera, rng), rng)
        image = compositor.render_rolled(FaceState(identity, expression, view.rotation, view.translation), appearance,
                                         sh, rng, camera_roll=view.angle)
        return _Scene(index, image, view.centre, view.angle, appearance.albedo, sh)

    def capture(self, scene: _Scene, rng: np.random.Generator) -> Sample:
        """One capture of a rendered scene: occluders, sensor noise, blur and a jittered crop."""
        c = self.config
        camera = self.cameras[scene.camera_index]
        centre = scene.centre
        rgb, depth = scene.image.rgb.copy(), scene.image.depth.copy()
        face_px = camera.project(centre)
        face_size = math.sqrt(camera.fx * camera.fy) * self.recipe.metric_extent_m / centre[2]
        if rng.uniform() < c.occluder_prob:
            add_occluders(rgb, depth, face_px, face_size, float(centre[2]), rng)
        depth, speckle = self._sensor(depth, scene.camera_index, rng)
        if rng.uniform() < c.blur_prob:
            rgb = cv2.GaussianBlur(rgb, (0, 0), rng.uniform(0.5, 1.5))

        crop = jitter_crop(crop_from_point(camera, centre, self.recipe.metric_extent_m, scene.angle), c, rng)
        inputs = prepare_inputs(self.recipe, camera, crop, rgb=rgb, depth=depth)
        cam = inputs.camera

        truth = scene.image.ground_truth
        rotation_crop, translation_crop = cam.pose_to_crop(truth.rotation, truth.translation)
        face_crop = cam.points_to_crop(truth.vertices).astype(np.float32)
        landmarks_3d = face_crop[self.model.landmark_indices]
        scan_points = None
        if speckle:
            pick = rng.choice(FACE, size=min(c.scan_points, FACE), replace=False)
            scan_points = face_crop[np.sort(pick)]
        k = cam.intrinsics
        return Sample(
            kind="synthetic",
            intrinsics=np.array([k.fx, k.fy, k.cx, k.cy], np.float32),
            rgb_anchor=inputs.rgb_anchor.astype(np.float32),
            rgb=inputs.rgb,
            rgb_crop=inputs.rgb_crop,
            xyz=inputs.xyz,
            xyz_anchor=inputs.xyz_anchor.astype(np.float32),
            landmarks_2d=k.project(landmarks_3d.astype(np.float64)).astype(np.float32),
            landmarks_3d=landmarks_3d,
            scan_points=scan_points,
            identity=truth.identity.astype(np.float32),
            expression=truth.expression.astype(np.float32),
            rotation=rotation_crop.astype(np.float32),
            translation=translation_crop.astype(np.float32),
            albedo=scene.albedo.astype(np.float32),
            lighting=cam.sh_to_crop(scene.sh).astype(np.float32),
            vertices=face_crop[:NARROW],
        )

    def sample(self, rng: np.random.Generator) -> Sample:
        """One random sample: a new scene and one capture of it."""
        return self.capture(self.render(rng), rng)


def enter_worker() -> int:
    """The data-loader worker this runs in (0 in the main process); inside a worker, torch and
    OpenCV get one thread each (the workers already run in parallel)."""
    info = get_worker_info()
    if info is None:
        return 0
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    return info.id


class SyntheticDataset(IterableDataset):
    """An endless stream of synthetic samples.

    Each DataLoader worker builds its own generator (and GL context) lazily, seeded by (seed,
    rank, worker, start step), so workers and resumed runs draw different samples. Every
    rendered scene gives ``data.captures_per_render`` captures (own occluders, sensor noise,
    blur and crop jitter; rendering is the expensive part), and a shuffle buffer of
    ``data.shuffle_buffer`` samples keeps the captures of one scene out of the same batch.
    """

    def __init__(self, config: DataConfig, recipe: CropRecipe, seed: int, rank: int = 0, start_step: int = 0):
        super().__init__()
        self.config, self.recipe = config, recipe
        self.seed, self.rank, self.start_step = seed, rank, start_step
        self._generator: SyntheticGenerator | None = None

    def __iter__(self):
        worker = enter_worker()
        if self._generator is None:
            self._generator = SyntheticGenerator(self.config, self.recipe)
        rng = np.random.default_rng([self.seed, self.rank, worker, self.start_step])
        log.debug("synthetic data worker %d of rank %d started", worker, self.rank)
        buffer: list[Sample] = []
        captures = max(1, self.config.captures_per_render)
        size = max(captures, self.config.shuffle_buffer)
        while True:
            while len(buffer) < size:
                scene = self._generator.render(rng)
                buffer.extend(self._generator.capture(scene, rng) for _ in range(captures))
            pick = int(rng.integers(len(buffer)))
            buffer[pick], buffer[-1] = buffer[-1], buffer[pick]
            yield buffer.pop()
