"""The shared real TrueDepth portrait (``../shared/data/real-truedepth-portrait``) as a Frame.

The folder holds ``rgb.png`` (480x640 colour), ``depth_mm.png`` (16-bit millimetres, 0
invalid, on the same grid) and ``intrinsics.json`` (fx, fy, cx, cy, width, height in pixels
of that grid). Used by the benchmarks and by the tests that check real data.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from models.camera import Intrinsics
from models.frame import Frame

__all__ = ["PORTRAIT", "load_portrait"]

PORTRAIT = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-truedepth-portrait"


def load_portrait(folder: Path = PORTRAIT) -> Frame:
    """The portrait as frame 0: rgb (640, 480, 3) uint8, depth (640, 480) float32 metres (0
    invalid). Raises FileNotFoundError naming the first missing file."""
    for name in ("rgb.png", "depth_mm.png", "intrinsics.json"):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"the real TrueDepth portrait is missing {folder / name}")
    meta = json.loads((folder / "intrinsics.json").read_text())
    intrinsics = Intrinsics(fx=meta["fx"], fy=meta["fy"], cx=meta["cx"], cy=meta["cy"],
                            width=meta["width"], height=meta["height"])
    depth_mm = cv2.imread(str(folder / "depth_mm.png"), cv2.IMREAD_UNCHANGED)
    rgb = cv2.cvtColor(cv2.imread(str(folder / "rgb.png"), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return Frame(index=0, timestamp=0.0, intrinsics=intrinsics, rgb=rgb,
                 depth=depth_mm.astype(np.float32) / np.float32(1000.0))
