"""RGB image folders: photographs of faces, with or without 68-point landmark files.

Layout: any folder tree of ``.jpg``, ``.jpeg`` or ``.png`` images (searched recursively, sorted
by path). Beside each image an optional landmark file with the same stem (``face.pts``,
``face.txt`` or ``face.npy``; formats in :mod:`training.data.landmark_files`), and in any folder
an optional ``intrinsics.json`` (:mod:`training.data.camera_file`) for the images in it; without
one the camera is assumed centred with square pixels and the source's ``hfov_deg``.

Crops: with landmarks, like training's crops (:func:`training.data.face_crops.landmark_crop`
plus the run's centre and scale jitter), and the landmarks supervise Eq. 7. **Without
landmarks the whole image is the crop** (its centred square, no jitter): such folders must hold
images already cropped around one face (e.g. aligned CelebA); there is no face detector here
(training imports only ``models``). Samples carry colour only: the colour term (Eq. 6), the 2D
landmark term (Eq. 7) when there are landmarks, and the regularisers apply.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from models.camera import Intrinsics
from models.crop import CropRecipe
from training.config import DataConfig
from training.data.camera_file import CAMERA_FILE, read_camera_file
from training.data.errors import DataError
from training.data.face_crops import FaceShape, centre_square_crop, landmark_crop
from training.data.landmark_files import find_landmarks, read_landmarks
from training.data.real_sample import crop_sample
from training.data.sample import Sample
from training.data.viewpoint import jitter_crop

__all__ = ["IMAGE_SUFFIXES", "RgbImageFolder", "read_rgb"]

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def read_rgb(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB of an image file; :class:`DataError` when it cannot be decoded."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise DataError(f"cannot read image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class RgbImageFolder:
    """Samples of kind ``rgb`` from an image folder (see the module doc).

    Args:
        path: the folder (or one image).
        data: the run's data settings (crop jitter).
        recipe: the crop recipe.
        shape: the mean face's landmark statistics.
        hfov_deg: horizontal field of view assumed for images without an ``intrinsics.json``.

    Raises:
        DataError: the path does not exist or holds no image.
    """

    kind = "rgb"

    def __init__(self, path: str | Path, data: DataConfig, recipe: CropRecipe, shape: FaceShape,
                 hfov_deg: float = 60.0):
        root = Path(path)
        if root.is_file():
            images = [root]
        elif root.is_dir():
            images = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        else:
            raise DataError(f"rgb source: no such file or folder: {root}")
        if not images:
            raise DataError(f"rgb source: no .jpg, .jpeg or .png images in {root}")
        self.images = images
        self.landmarks = [find_landmarks(p, 2) for p in images]
        self.data, self.recipe, self.shape, self.hfov_deg = data, recipe, shape, hfov_deg
        log.info("rgb source %s: %d images, %d with landmarks", root, len(images),
                 sum(p is not None for p in self.landmarks))

    def __len__(self) -> int:
        return len(self.images)

    def intrinsics(self, index: int, width: int, height: int) -> Intrinsics:
        """The camera of image ``index`` (``width`` x ``height``): its folder's file, else the FOV."""
        camera_file = self.images[index].parent / CAMERA_FILE
        if camera_file.is_file():
            return read_camera_file(camera_file).for_size(width, height)
        return Intrinsics.from_fov(width, height, self.hfov_deg)

    def sample(self, index: int, rng: np.random.Generator) -> Sample:
        """Image ``index`` cropped (with jitter when it has landmarks)."""
        rgb = read_rgb(self.images[index])
        height, width = rgb.shape[:2]
        intrinsics = self.intrinsics(index, width, height)
        landmarks = None
        if self.landmarks[index] is not None:
            landmarks = read_landmarks(self.landmarks[index], 2)
            crop = landmark_crop(landmarks, intrinsics, self.recipe.metric_extent_m, self.shape)
            crop = jitter_crop(crop, self.data, rng)
        else:
            crop = centre_square_crop(width, height)
        return crop_sample(self.kind, self.recipe, intrinsics, crop, rgb=rgb, landmarks_2d=landmarks)
