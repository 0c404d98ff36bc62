"""Time .r3d decoding: frames per second, in order (prefetching threads) and by random access.

    python -m benchmarks.r3d_decode [--frames 300] [--width 640 --height 480] [--cores N]

Writes a synthetic take with R3DWriter (RGB and depth both ``width`` x ``height`` unless
``--depth-scale`` shrinks the depth grid) into a temporary folder, then decodes it. ``--cores N``
pins the process to N CPU cores (Linux) to mimic a smaller machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from capture.r3d import R3DSource, default_workers
from capture.r3d_synthetic import synthetic_intrinsics, synthetic_rgbd
from capture.r3d_writer import R3DWriter


def write_take(path: Path, frames: int, width: int, height: int, depth_size: tuple[int, int]) -> float:
    """Write ``frames`` frames (30 distinct ones, cycled); returns seconds spent in ``write``."""
    distinct = [synthetic_rgbd(i, width, height, depth_size) for i in range(min(frames, 30))]
    spent = 0.0
    with R3DWriter(path, width, height, 30.0, synthetic_intrinsics(width, height), depth_size=depth_size) as writer:
        for index in range(frames):
            rgb, depth = distinct[index % len(distinct)]
            start = time.perf_counter()
            writer.write(rgb, depth, index / 30.0)
            spent += time.perf_counter() - start
    return spent


def sequential_fps(path: Path, workers: int) -> float:
    with R3DSource(path, workers=workers) as source:
        start = time.perf_counter()
        count = sum(1 for _ in source)
        return count / (time.perf_counter() - start)


def random_access_fps(path: Path) -> float:
    with R3DSource(path) as source:
        order = np.random.default_rng(0).permutation(source.num_frames)
        start = time.perf_counter()
        for index in order:
            source.frame_at(int(index))
        return len(order) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--depth-scale", type=int, default=1, help="depth grid = RGB size / this")
    parser.add_argument("--cores", type=int, default=None, help="pin to this many CPU cores (Linux)")
    args = parser.parse_args()
    if args.cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.cores])
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    depth_size = (args.width // args.depth_scale, args.height // args.depth_scale)
    out = sys.stdout.write
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.r3d"
        write_s = write_take(path, args.frames, args.width, args.height, depth_size)
        out(f"r3d take: {args.frames} frames, RGB {args.width}x{args.height}, depth {depth_size[0]}x{depth_size[1]}, "
            f"{path.stat().st_size / args.frames / 1024:.0f} KiB per frame; {cores} CPU cores\n")
        out(f"  write (JPEG + LZFSE encode):         {args.frames / write_s:7.1f} frames/s\n")
        sequential_fps(path, 1)  # warm the page cache
        workers = default_workers()
        out(f"  sequential, {workers} decode threads:      {sequential_fps(path, workers):7.1f} frames/s\n")
        out(f"  sequential, 1 decode thread:        {sequential_fps(path, 1):7.1f} frames/s\n")
        out(f"  random access (frame_at, 1 thread): {random_access_fps(path):7.1f} frames/s\n")


if __name__ == "__main__":
    main()
