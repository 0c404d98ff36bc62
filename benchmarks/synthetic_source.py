"""Time the synthetic source: frames rendered per second, with and without sensor noise.

    python -m benchmarks.synthetic_source [--frames 120] [--width 640 --height 480]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from capture.synthetic import SyntheticSource


def measure(frames: int, width: int, height: int, noise: bool) -> tuple[float, float]:
    """(frames per second, median ms per frame) over ``frames`` frames after one warm-up frame."""
    with SyntheticSource(seed=1, width=width, height=height, noise=noise) as source:
        source.frame_at(0)
        times = []
        for index in range(1, frames + 1):
            start = time.perf_counter()
            source.frame_at(index)
            times.append(time.perf_counter() - start)
    return frames / sum(times), float(np.median(times) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    args = parser.parse_args()
    for noise in (True, False):
        fps, median_ms = measure(args.frames, args.width, args.height, noise)
        print(f"synthetic source {args.width}x{args.height} noise={'on' if noise else 'off'}: "
              f"{fps:.1f} frames/s, median {median_ms:.1f} ms per frame")


if __name__ == "__main__":
    main()
