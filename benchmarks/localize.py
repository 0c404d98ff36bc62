"""Time face localization: depth detection, colour detection and tracking, per frame.

    python -m benchmarks.localize [--frames 60] [--seed 1001]

Frames come from the synthetic source (640x480, needs EGL) and the real TrueDepth portrait in
../shared/data (480x640), rendered before timing. Tracking is timed with the ground truth as
the "network result" (``crop_for`` plus ``update``, as the pipeline calls them).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import cv2
import numpy as np

from benchmarks.real_portrait import PORTRAIT, load_portrait
from capture.synthetic import SyntheticSource
from inference.localize import FaceTracker, RgbLocalizer, make_tracker
from models.face_model import load_face_model
from models.frame import Frame


def median_ms(run: Callable[[], object], repeats: int = 1) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def per_frame_ms(frames: list[Frame], run: Callable[[Frame], object]) -> float:
    run(frames[0])  # warm-up
    times = []
    for frame in frames:
        start = time.perf_counter()
        run(frame)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def track_ms(tracker: FaceTracker, frames: list[Frame], mode: str, with_pose: bool) -> tuple[float, str]:
    times = []
    for frame in frames:
        truth = frame.ground_truth
        start = time.perf_counter()
        found = tracker.crop_for(frame, mode)
        if found is None:
            tracker.update(None)
        elif with_pose:
            tracker.update(truth.landmarks_2d, rotation=truth.rotation, translation=truth.translation)
        else:
            tracker.update(truth.landmarks_2d)
        elapsed = time.perf_counter() - start
        if found is not None and found.origin.value == "track":
            times.append(elapsed)
    s = tracker.stats
    return float(np.median(times) * 1000), f"{s.detections} detections, {s.tracked} tracked, {s.lost} lost"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1001)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    model = load_face_model()
    with SyntheticSource(seed=args.seed) as source:
        frames = [source.frame_at(i) for i in range(args.frames)]
    k = frames[0].intrinsics
    tracker = make_tracker(model)
    depth, rgb = tracker.depth, tracker.rgb
    print(f"localization, {k.width}x{k.height} synthetic frames (seed {args.seed}, {args.frames} frames), "
          f"median ms per frame:")
    print(f"  depth detection (segment + up + face fit): "
          f"{per_frame_ms(frames, lambda f: depth.locate(f.depth, f.intrinsics)):.2f}")
    if PORTRAIT.is_dir():
        real = load_portrait()
        pdepth, pk = real.depth, real.intrinsics
        depth.locate(pdepth, pk)
        print(f"  depth detection, real TrueDepth portrait {pk.width}x{pk.height}: "
              f"{median_ms(lambda: depth.locate(pdepth, pk), 20):.2f}")
    detector = RgbLocalizer(config=rgb.config)
    turned = [np.ascontiguousarray(np.rot90(f.rgb, -1)) for f in frames]
    blank = np.full_like(frames[0].rgb, 128)
    print(f"  rgb detection, upright face (1 detector pass, dlib HOG at 320 px): "
          f"{per_frame_ms(frames, lambda f: detector.locate(f.rgb)):.2f}")
    print(f"  rgb detection, face a quarter turned (found at the 2nd pass): "
          f"{per_frame_ms(turned, detector.locate):.2f}")
    print(f"  rgb detection, no face (all 4 passes): {median_ms(lambda: detector.locate(blank), 10):.2f}")
    for mode, with_pose in (("rgbd", True), ("depth", True), ("rgb", False)):
        ms, counts = track_ms(make_tracker(model), frames, mode, with_pose)
        result = "pose + landmarks" if with_pose else "landmarks only"
        print(f"  tracking, {mode} ({result}): {ms:.3f}  [{counts}]")


if __name__ == "__main__":
    main()
