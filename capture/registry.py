"""Turning a ``--source`` string into a :class:`FrameSource`.

Each source kind has a parser: a function that returns a source for the strings it
understands and None for the others. The CLI and the GUI open sources only through here.
The registry imports the sources (lazily, so a missing SDK costs only its own kind); no
source imports the registry back: the helpers they share to read a ``--source`` string are
in :mod:`capture.spec`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from capture.base import CaptureError, DeviceInfo, FrameSource

SourceParser = Callable[[str], FrameSource | None]


@functools.cache
def source_kinds() -> tuple[tuple[str, SourceParser], ...]:
    """(how the kind is spelled, its parser) for every source kind, in lookup order."""
    from capture.image_folder import parse_image_folder
    from capture.r3d import parse_r3d
    from capture.realsense import parse_realsense
    from capture.realsense_file import parse_realsense_file
    from capture.record3d_live import parse_record3d
    from capture.synthetic import parse_synthetic
    from capture.video import parse_video
    from capture.webcam import parse_webcam

    return (
        ("synthetic[:seed=N]", parse_synthetic),
        ("record3d[:N]", parse_record3d),
        ("realsense[:SERIAL]", parse_realsense),
        ("webcam[:N]", parse_webcam),
        ("a .r3d file", parse_r3d),
        ("a .bag or .db3 file", parse_realsense_file),
        ("a video file", parse_video),
        # Last: any existing folder matches.
        ("an image folder", parse_image_folder),
    )


def known_sources() -> list[str]:
    """How each source kind is spelled, for help and error messages."""
    return [spelling for spelling, _ in source_kinds()]


def open_source(spec: str) -> FrameSource:
    """The source named by ``spec`` (not yet opened: use it as a context manager).

    Raises :class:`CaptureError` with one line for an unknown or malformed string.
    """
    spec = spec.strip()
    for _, parser in source_kinds():
        source = parser(spec)
        if source is not None:
            return source
    if ("/" in spec or "\\" in spec or Path(spec).suffix) and not Path(spec).exists():
        raise CaptureError(f"no such file or folder: {spec}")
    raise CaptureError(f"unknown source {spec!r}; expected one of: {', '.join(known_sources())}")


def list_devices() -> list[DeviceInfo]:
    """Every connected iPhone (Record3D over USB) and RealSense camera, for the source picker."""
    from capture.realsense import list_realsense_devices
    from capture.record3d_live import list_record3d_devices

    return [*list_record3d_devices(), *list_realsense_devices()]
