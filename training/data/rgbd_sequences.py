"""RGB-D sequences: Record3D ``.r3d`` takes and PNG depth folders, as training samples.

The source's path is a ``.r3d`` file, a PNG depth folder (:mod:`training.data.depth_folder`),
or a folder searched recursively for both. Every ``stride``-th frame of every sequence is an
item. ``.r3d`` files are read with :class:`models.r3d.R3DReader` (the format code the app's
``.r3d`` source uses); they need colour and depth.

Crops: frames with landmarks (PNG folders with landmark files beside the colour images) are
cropped like training crops (:func:`training.data.face_crops.landmark_crop`, sized from the
depth at the face centre); others by the nearest-blob rule
(:func:`training.data.face_crops.nearest_blob_crop`) turned by the source's ``angle_deg``
(Record3D TrueDepth takes filmed with the phone upright show the face turned by 90 degrees).
Both get the run's centre and scale jitter. A frame without a usable blob gives no sample.

Samples (kind ``rgbd``) carry colour and XYZ: the geometry term (Eq. 5), the colour term (Eq. 6),
the cross-domain term (Eq. 9: the RGB branch's mesh to the RGB-D branch's, on the same frame),
the 2D landmark term (Eq. 7) when there are landmarks, and the regularisers.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from pathlib import Path

import numpy as np

from models.crop import CropRecipe
from models.frame import Frame
from models.r3d import R3DError, R3DReader
from training.config import DataConfig
from training.data.depth_folder import DepthFolder, is_depth_folder
from training.data.errors import DataError
from training.data.face_crops import FaceShape, landmark_crop, nearest_blob_crop
from training.data.real_sample import crop_sample
from training.data.sample import Sample
from training.data.viewpoint import jitter_crop

__all__ = ["RgbdSequences", "find_sequences"]

log = logging.getLogger(__name__)

_OPEN_FILES = 16  # .r3d readers kept open per process


def _is_r3d(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(".r3d")


def find_sequences(path: Path) -> list[Path]:
    """The ``.r3d`` files and PNG depth folders at or under ``path``, sorted."""
    if _is_r3d(path) or (path.is_dir() and is_depth_folder(path)):
        return [path]
    if not path.is_dir():
        return []
    found = [p for p in path.rglob("*") if _is_r3d(p) or (p.is_dir() and is_depth_folder(p))]
    return sorted(found)


class RgbdSequences:
    """Samples of kind ``rgbd`` from RGB-D sequences (see the module doc).

    Args:
        path: a ``.r3d`` file, a PNG depth folder, or a folder holding several.
        data: the run's data settings (crop jitter).
        recipe: the crop recipe.
        shape: the mean face's landmark statistics.
        stride: every ``stride``-th frame is an item.
        angle_deg: the crop angle of frames cropped by the nearest-blob rule.

    Raises:
        DataError: the path holds no sequence, or a sequence cannot be read.
    """

    kind = "rgbd"

    def __init__(self, path: str | Path, data: DataConfig, recipe: CropRecipe, shape: FaceShape,
                 stride: int = 1, angle_deg: float = 0.0):
        root = Path(path)
        if not root.exists():
            raise DataError(f"rgbd source: no such file or folder: {root}")
        if stride < 1:
            raise DataError(f"rgbd source {root}: stride must be at least 1, got {stride}")
        self.sequences = find_sequences(root)
        if not self.sequences:
            raise DataError(f"rgbd source: no .r3d file or PNG depth folder (intrinsics.json + depth/) in {root}")
        self.items: list[tuple[int, int]] = []
        for number, sequence in enumerate(self.sequences):
            count = self._frame_count(sequence)
            self.items.extend((number, frame) for frame in range(0, count, stride))
        if not self.items:
            raise DataError(f"rgbd source {root}: the sequences hold no frames")
        self.data, self.recipe, self.shape = data, recipe, shape
        self.angle = math.radians(angle_deg)
        self._readers: OrderedDict[int, R3DReader] = OrderedDict()
        self._folders: dict[int, DepthFolder] = {}
        log.info("rgbd source %s: %d sequences, %d frames used", root, len(self.sequences), len(self.items))

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_readers"], state["_folders"] = OrderedDict(), {}  # open files stay in their process
        return state

    @staticmethod
    def _frame_count(sequence: Path) -> int:
        if not _is_r3d(sequence):
            return DepthFolder(sequence).num_frames
        try:
            with R3DReader.open(sequence) as reader:
                if not (reader.has_rgb and reader.has_depth):
                    raise DataError(f"{sequence}: an RGB-D source needs colour and depth; the file lacks "
                                    f"{'depth' if reader.has_rgb else 'colour'}")
                return reader.num_frames
        except R3DError as exc:
            raise DataError(str(exc)) from None

    def __len__(self) -> int:
        return len(self.items)

    def _read(self, number: int, frame: int) -> tuple[Frame, np.ndarray | None]:
        sequence = self.sequences[number]
        if not _is_r3d(sequence):
            if number not in self._folders:
                self._folders[number] = DepthFolder(sequence)
            return self._folders[number].frame_and_landmarks(frame)
        try:
            reader = self._readers.pop(number, None) or R3DReader.open(sequence)
            self._readers[number] = reader  # most recently used last
            while len(self._readers) > _OPEN_FILES:
                self._readers.popitem(last=False)[1].close()
            return reader.frame_at(frame), None
        except R3DError as exc:
            raise DataError(str(exc)) from None

    def sample(self, index: int, rng: np.random.Generator) -> Sample | None:
        """Item ``index`` cropped, or None when the frame shows no usable face."""
        frame, landmarks = self._read(*self.items[index])
        extent = self.recipe.metric_extent_m
        if landmarks is not None:
            crop = landmark_crop(landmarks, frame.intrinsics, extent, self.shape, depth=frame.depth)
        else:
            crop = nearest_blob_crop(frame.depth, frame.intrinsics, extent, self.shape, angle=self.angle)
            if crop is None:
                return None
        crop = jitter_crop(crop, self.data, rng)
        return crop_sample(self.kind, self.recipe, frame.intrinsics, crop, rgb=frame.rgb, depth=frame.depth,
                           landmarks_2d=landmarks)

    def close(self) -> None:
        """Close the open ``.r3d`` files."""
        while self._readers:
            self._readers.popitem()[1].close()
