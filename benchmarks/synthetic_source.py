"""Time the synthetic source: frames rendered per second, with and without sensor noise, and
frames played back per second from the rendered loop that ``--source synthetic`` plays.

    python -m benchmarks.synthetic_source [--frames 120] [--width 640 --height 480]

The loop of seed 0 is rendered into the cache first if it is not there (once, 10-20 s).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from capture.synthetic import SyntheticSource
from models.synthetic.loop import DEFAULT_LOOP_FRAMES


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


def measure_loop(frames: int, width: int, height: int) -> tuple[float, float]:
    """(frames per second, median ms per frame) of the default loop's playback (seed 0)."""
    with SyntheticSource(seed=0, width=width, height=height, loop=DEFAULT_LOOP_FRAMES) as source:
        source.loop.wait()  # until the loop is rendered (the first time) or loaded
        times = []
        for index in range(frames):
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
    fps, median_ms = measure_loop(args.frames, args.width, args.height)
    print(f"synthetic loop playback {args.width}x{args.height} ({DEFAULT_LOOP_FRAMES} frames, seed 0): "
          f"{fps:.1f} frames/s, median {median_ms:.1f} ms per frame")


if __name__ == "__main__":
    main()
