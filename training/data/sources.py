"""The run's sample stream: the synthetic source alone, or a weighted mix with real sources.

``data.sources`` in the configuration (:class:`training.config.SourceConfig`) lists the sources;
empty (the default) is the synthetic source alone, exactly as before real data existed. A
source is drawn per sample with probability proportional to its ``weight``; a real source's
item is drawn uniformly. Kinds:

=========  ==========================================  ==========================================
kind       loader                                      what its samples feed
=========  ==========================================  ==========================================
synthetic  :mod:`training.data.synthetic`              every term (full ground truth)
rgb        :class:`~training.data.rgb_folder.RgbImageFolder`      colour (Eq. 6), 2D landmarks (Eq. 7)
rgbd       :class:`~training.data.rgbd_sequences.RgbdSequences`   geometry (Eq. 5), colour, 2D landmarks,
                                                       cross-domain RGB <- RGB-D (Eq. 9)
scan       :class:`~training.data.scans.ScanSource`    scan geometry (Eq. 10), 3D landmarks (Eq. 8)
=========  ==========================================  ==========================================

An item that cannot be used (an unreadable file, a depth frame without a face) is logged and
another is drawn; a source that fails 100 times in a row stops the run with its last error.
Mixed batches leave some branches idle on some rows: under DDP set ``run.ddp_find_unused``.
"""

from __future__ import annotations

import logging

import numpy as np
from torch.utils.data import IterableDataset

from models.crop import CropRecipe
from models.face_model import load_face_model
from training.config import DataConfig, SourceConfig
from training.data.errors import DataError
from training.data.face_crops import FaceShape
from training.data.rgb_folder import RgbImageFolder
from training.data.rgbd_sequences import RgbdSequences
from training.data.sample import SOURCE_KINDS, Sample
from training.data.scans import ScanSource
from training.data.synthetic import SyntheticDataset, enter_worker

__all__ = ["MixedDataset", "RealSource", "build_dataset", "make_source"]

log = logging.getLogger(__name__)

RealSource = RgbImageFolder | RgbdSequences | ScanSource
MAX_FAILURES = 100


def make_source(config: SourceConfig, data: DataConfig, recipe: CropRecipe, shape: FaceShape) -> RealSource:
    """The loader of one real source (indexes its files now: a bad path fails at start-up)."""
    if not config.path:
        raise DataError(f"a {config.kind!r} source needs a path")
    if config.kind == "rgb":
        return RgbImageFolder(config.path, data, recipe, shape, hfov_deg=config.hfov_deg)
    if config.kind == "rgbd":
        return RgbdSequences(config.path, data, recipe, shape, stride=config.stride, angle_deg=config.angle_deg)
    if config.kind == "scan":
        return ScanSource(config.path, data, recipe, shape, units=config.units)
    raise DataError(f"unknown source kind {config.kind!r}; known: {', '.join(SOURCE_KINDS)}")


class MixedDataset(IterableDataset):
    """An endless stream mixing the configured sources (see the module doc).

    Each DataLoader worker draws with its own generator, seeded by (seed, rank, worker, start
    step), like :class:`~training.data.synthetic.SyntheticDataset` (which supplies the synthetic
    share, seeded the same way).
    """

    def __init__(self, data: DataConfig, recipe: CropRecipe, seed: int, rank: int = 0, start_step: int = 0,
                 shape: FaceShape | None = None):
        super().__init__()
        if not data.sources:
            raise DataError("data.sources is empty: use SyntheticDataset (build_dataset does)")
        for source in data.sources:
            if not source.weight > 0:
                raise DataError(f"source {source.kind} {source.path!r}: the weight must be positive")
        shape = shape if shape is not None else FaceShape.from_face_model(load_face_model())
        self.configs = data.sources
        self.real: list[RealSource | None] = [
            None if s.kind == "synthetic" else make_source(s, data, recipe, shape) for s in data.sources]
        weights = np.array([s.weight for s in data.sources], np.float64)
        self.probs = weights / weights.sum()
        self.synthetic = (SyntheticDataset(data, recipe, seed, rank, start_step)
                          if any(s.kind == "synthetic" for s in data.sources) else None)
        self.seed, self.rank, self.start_step = seed, rank, start_step

    def _real_sample(self, number: int, rng: np.random.Generator) -> Sample:
        source = self.real[number]
        for failures in range(1, MAX_FAILURES + 1):
            index = int(rng.integers(len(source)))
            try:
                sample = source.sample(index, rng)
            except DataError as exc:
                if failures == MAX_FAILURES:
                    raise DataError(f"{MAX_FAILURES} items in a row failed; the last: {exc}") from None
                log.warning("skipped a %s item: %s", source.kind, exc)
                continue
            if sample is not None:
                return sample
            log.debug("%s item %d shows no usable face; drawing another", source.kind, index)
        raise DataError(f"{self.configs[number].kind} source {self.configs[number].path!r}: "
                        f"{MAX_FAILURES} items in a row show no usable face")

    def __iter__(self):
        worker = enter_worker()
        rng = np.random.default_rng([self.seed, self.rank, worker, self.start_step, 1])
        synthetic = iter(self.synthetic) if self.synthetic is not None else None
        while True:
            number = int(rng.choice(len(self.probs), p=self.probs))
            if self.real[number] is None:
                yield next(synthetic)
            else:
                yield self._real_sample(number, rng)


def build_dataset(data: DataConfig, recipe: CropRecipe, seed: int, rank: int = 0,
                  start_step: int = 0) -> IterableDataset:
    """The run's dataset: :class:`SyntheticDataset` when ``data.sources`` is empty, else a
    :class:`MixedDataset` of the listed sources."""
    if not data.sources:
        return SyntheticDataset(data, recipe, seed=seed, rank=rank, start_step=start_step)
    return MixedDataset(data, recipe, seed=seed, rank=rank, start_step=start_step)
