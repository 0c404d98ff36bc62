"""The pipeline's input modes."""

from __future__ import annotations

import enum

from models.errors import FaceFromXError


class ModeError(FaceFromXError):
    """An unknown input mode was asked for."""


class Mode(enum.Enum):
    """Input mode of the pipeline: which branch of the network runs."""

    RGB = "rgb"
    DEPTH = "depth"
    RGBD = "rgbd"

    @classmethod
    def parse(cls, text: str) -> Mode:
        try:
            return cls(text.lower())
        except ValueError:
            raise ModeError(f"unknown mode {text!r}; expected rgb, depth or rgbd") from None


# From richest to poorest: the default mode is the first a source offers.
MODE_PREFERENCE = (Mode.RGBD, Mode.DEPTH, Mode.RGB)


def richest_mode(modes) -> Mode:
    """The default among ``modes`` (an iterable of :class:`Mode`): the richest offered.

    The one rule for a default mode: sources (:attr:`capture.base.FrameSource.default_mode`)
    and the pipeline (for a frame when no mode was chosen) both use it.
    """
    offered = set(modes)
    for mode in MODE_PREFERENCE:
        if mode in offered:
            return mode
    raise ModeError("no input mode is offered (neither colour nor depth)")


def modes_of(has_colour: bool, has_depth: bool) -> frozenset[Mode]:
    """The modes a frame with (or without) colour and depth can serve."""
    modes = set()
    if has_colour:
        modes.add(Mode.RGB)
    if has_depth:
        modes.add(Mode.DEPTH)
    if has_colour and has_depth:
        modes.add(Mode.RGBD)
    return frozenset(modes)
