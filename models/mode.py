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
