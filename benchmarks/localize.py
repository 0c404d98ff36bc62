"""Face localization: recall and time of the colour localizer (MediaPipe) against dlib's HOG
detector (what was there before), depth detection and tracking.

    python -m benchmarks.localize [--frames 30] [--seeds 1000-1009] [--seed 1001]

Colour-only video: the first ``--frames`` frames of each held-out synthetic actor (``--seeds``,
rendered by the synthetic source, 640x480, depth dropped), played as a stream (the colour
localizer detects, then tracks by its landmarks). A frame counts as found when the face found
lies on the true face: its 68-point counterparts' centre within 0.15 of the true landmarks'
extent of their centre. dlib runs as the old ``RgbLocalizer`` did (a 320-pixel copy, the four
quarter turns until a face) on every frame. Real photos: ../shared/data/real-faces, every face
the detection finds (landmark-checked) against the faces in the photo. Times are medians,
ms per frame, on this machine's CPUs (LiteRT 2 threads, OpenCV 1 thread).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from benchmarks.real_portrait import PORTRAIT, load_portrait
from capture.synthetic import SyntheticSource
from inference.localize import FaceTracker, MeshConfig, MeshLocalizer, make_tracker, multipie_from_mesh
from models.face_model import load_face_model
from models.frame import Frame

REAL_FACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-faces"
# Faces in each photo of ../shared/data/real-faces (see its NOTE.md).
REAL_FACE_COUNTS = {"obama.jpg": 1, "biden.jpg": 1, "obama-240p.jpg": 1, "obama_and_biden.jpg": 2,
                    "obama_partial_face.jpg": 1}


class DlibHog:
    """dlib's frontal HOG detector as the old RgbLocalizer ran it: a copy shrunk to
    ``max_side`` pixels, the four quarter turns (upright first) until a face."""

    def __init__(self, max_side: int | None = 320):
        import dlib  # dlib-bin, a dev requirement: only this benchmark uses it

        self.detector = dlib.get_frontal_face_detector()
        self.max_side = max_side

    def detect(self, rgb: np.ndarray, turns_to_try: tuple[int, ...] = (0, 1, 3, 2)) -> list[tuple[np.ndarray, int]]:
        """Face box centres in the source ((2,) pixels) and the turn they were found at."""
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        scale = 1.0 if self.max_side is None else min(1.0, self.max_side / max(gray.shape))
        small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
        h, w = gray.shape
        for turns in turns_to_try:
            rects = self.detector(np.ascontiguousarray(np.rot90(small, turns)), 0)
            if len(rects):
                out = []
                for r in rects:
                    u, v = ((r.left() + r.right() + 1) / 2 / scale - 0.5, (r.top() + r.bottom() + 1) / 2 / scale - 0.5)
                    # back through the quarter turn (numpy.rot90 counter-clockwise)
                    uv = [(u, v), (w - 1 - v, u), (w - 1 - u, h - 1 - v), (v, h - 1 - u)][turns]
                    out.append((np.array(uv), turns))
                return out
        return []


def _on_face(centre: np.ndarray, truth: np.ndarray, tolerance: float = 0.15) -> bool:
    extent = float((truth.max(axis=0) - truth.min(axis=0)).max())
    return float(np.linalg.norm(centre - truth.mean(axis=0))) < tolerance * extent


def _median_ms(times: list[float]) -> float:
    return float(np.median(times) * 1000) if times else float("nan")


def colour_video(frames_by_seed: dict[int, list[Frame]], ranges: tuple[str, ...]) -> tuple[int, int, list[float], list[float], dict]:
    """Stream each seed's frames through a MeshLocalizer: (found on the face, frames, ms of
    detection frames, ms of tracked frames, summed stats)."""
    localizer = MeshLocalizer(MeshConfig(ranges=ranges))
    found = total = 0
    detect_ms, track_ms = [], []
    stats = {"detections": 0, "lost": 0}
    for frames in frames_by_seed.values():
        localizer.reset()
        localizer.locate(frames[0].rgb, frames[0].intrinsics)  # warm-up, then from the start
        localizer.reset()
        for frame in frames:
            start = time.perf_counter()
            face = localizer.locate(frame.rgb, frame.intrinsics)
            elapsed = time.perf_counter() - start
            total += 1
            if face is not None:
                (track_ms if face.origin == "track" else detect_ms).append(elapsed)
                found += _on_face(multipie_from_mesh(face.points).mean(axis=0), frame.ground_truth.landmarks_2d)
        stats["detections"] += localizer.stats.detections
        stats["lost"] += localizer.stats.lost
    return found, total, detect_ms, track_ms, stats


def dlib_video(frames_by_seed: dict[int, list[Frame]], dlib: DlibHog) -> tuple[int, int, list[float]]:
    found = total = 0
    times = []
    for frames in frames_by_seed.values():
        for frame in frames:
            start = time.perf_counter()
            faces = dlib.detect(frame.rgb)
            times.append(time.perf_counter() - start)
            total += 1
            found += any(_on_face(c, frame.ground_truth.landmarks_2d) for c, _ in faces)
    return found, total, times


def real_photos(localizer: MeshLocalizer, dlibs: dict[str, DlibHog | None]) -> None:
    from models.camera import Intrinsics

    print(f"real photos ({REAL_FACES}): faces found / faces in the photo, ms")
    singles = {r: MeshLocalizer(MeshConfig(ranges=(r,), iris=False)) for r in ("short", "full")}
    totals = {"mediapipe": [0, 0]} | {f"{r} range only": [0, 0] for r in singles} | {name: [0, 0] for name in dlibs}
    for name, count in REAL_FACE_COUNTS.items():
        rgb = cv2.cvtColor(cv2.imread(str(REAL_FACES / name)), cv2.COLOR_BGR2RGB)
        h, w = rgb.shape[:2]
        k = Intrinsics(1.2 * w, 1.2 * w, (w - 1) / 2, (h - 1) / 2, w, h)
        localizer.detect(rgb, k)  # warm-up
        start = time.perf_counter()
        faces = localizer.detect(rgb, k)
        ms = (time.perf_counter() - start) * 1000
        sizes = ", ".join(f"{f.size / 1.5:.0f}" for f in faces)
        line = f"  {name:24s} {w}x{h}: mediapipe {min(len(faces), count)}/{count} ({ms:.1f} ms; face {sizes} px)"
        totals["mediapipe"][0] += min(len(faces), count)
        totals["mediapipe"][1] += count
        for ranges, single in singles.items():
            found = min(len(single.detect(rgb, k)), count)
            line += f"; {ranges} range only {found}/{count}"
            totals[f"{ranges} range only"][0] += found
            totals[f"{ranges} range only"][1] += count
        for dname, dlib in dlibs.items():
            if dlib is None:
                continue
            start = time.perf_counter()
            found = dlib.detect(rgb, (0,))  # upright photos: one pass
            ms = (time.perf_counter() - start) * 1000
            line += f"; {dname} {min(len(found), count)}/{count} ({ms:.1f} ms)"
            totals[dname][0] += min(len(found), count)
            totals[dname][1] += count
        print(line)
    print("  all: " + ", ".join(f"{n} {a}/{b}" for n, (a, b) in totals.items() if b))


def model_calls(rgb: np.ndarray, repeats: int = 50) -> None:
    """Each MediaPipe model alone on LiteRT: median wall and CPU (all threads) ms per call."""
    from runtime.mediapipe import BlazeFaceDetector, FaceLandmarker, IrisLandmarker

    crop = cv2.resize(rgb[120:360, 200:440], (192, 192))
    eye = cv2.resize(rgb[180:240, 260:320], (64, 64))
    print(f"MediaPipe models on LiteRT (2 threads), {repeats} calls: median wall ms / CPU ms per call")
    runs = [(f"detector {r} range (640x480 frame, letterbox included)", BlazeFaceDetector(r), rgb)
            for r in ("short", "full")]
    runs += [("468 landmarks (192x192 crop)", FaceLandmarker(), crop), ("iris (64x64 eye crop)", IrisLandmarker(), eye)]
    for name, model, image in runs:
        call = model.detect if hasattr(model, "detect") else model.run
        call(image)
        wall, cpu = [], []
        for _ in range(repeats):
            w0, c0 = time.perf_counter(), time.process_time()
            call(image)
            wall.append(time.perf_counter() - w0)
            cpu.append(time.process_time() - c0)
        print(f"  {name}: {_median_ms(wall):.2f} / {_median_ms(cpu):.2f}")


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
    return _median_ms(times), f"{s.detections} detections, {s.tracked} tracked, {s.lost} lost"


def _seeds(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30, help="frames per held-out actor")
    parser.add_argument("--seeds", default="1000-1009", help="held-out actors, e.g. 1000-1009")
    parser.add_argument("--seed", type=int, default=1001, help="the actor of the depth and tracking timings")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    try:
        dlib320: DlibHog | None = DlibHog(320)
        dlib_full: DlibHog | None = DlibHog(None)
    except ImportError:
        dlib320 = dlib_full = None
        print("(dlib-bin is not installed: no comparison with dlib's HOG)")

    frames_by_seed: dict[int, list[Frame]] = {}
    for seed in _seeds(args.seeds):
        with SyntheticSource(seed=seed) as source:
            frames_by_seed[seed] = [(lambda f: Frame(f.index, f.timestamp, f.intrinsics, f.rgb, None, f.ground_truth))(
                source.frame_at(i)) for i in range(args.frames)]
    n_seeds = len(frames_by_seed)
    model_calls(frames_by_seed[next(iter(frames_by_seed))][0].rgb)
    print(f"colour-only video, {n_seeds} held-out actors ({args.seeds}) x {args.frames} frames, 640x480: "
          "frames found on the face, median ms per frame")
    for ranges in (("short", "full"), ("short",), ("full",)):
        found, total, det, trk, stats = colour_video(frames_by_seed, ranges)
        print(f"  mediapipe {'+'.join(ranges):10s}: {found}/{total} ({100 * found / total:.1f} %); "
              f"detection frames {_median_ms(det):.2f} ms ({len(det)}), tracked frames {_median_ms(trk):.2f} ms "
              f"({len(trk)}; landmarks + iris); {stats['lost']} tracks lost")
    for name, dlib in (("dlib HOG 320 px", dlib320), ("dlib HOG 640 px", dlib_full)):
        if dlib is not None:
            found, total, times = dlib_video(frames_by_seed, dlib)
            print(f"  {name:16s}: {found}/{total} ({100 * found / total:.1f} %); {_median_ms(times):.2f} ms per frame")

    localizer = MeshLocalizer()
    first = frames_by_seed[next(iter(frames_by_seed))]
    blank = np.full_like(first[0].rgb, 128)
    k = first[0].intrinsics
    turned = [np.ascontiguousarray(np.rot90(f.rgb, -1)) for f in first[:10]]
    kt = type(k)(k.fy, k.fx, k.cy, k.cx, k.height, k.width)
    print("colour detection alone, median ms per frame:")
    print(f"  mediapipe, face upright (short + full range, landmark check): "
          f"{per_frame_ms(first[:10], lambda f: localizer.detect(f.rgb, f.intrinsics)):.2f}")
    print(f"  mediapipe, face a quarter turned: {per_frame_ms(turned, lambda r: localizer.detect(r, kt)):.2f}")
    print(f"  mediapipe, no face (all 4 turns): {per_frame_ms([blank] * 10, lambda r: localizer.detect(r, k)):.2f}")
    if dlib320 is not None:
        print(f"  dlib HOG 320 px, face upright: {per_frame_ms(first[:10], lambda f: dlib320.detect(f.rgb)):.2f}")
        print(f"  dlib HOG 320 px, no face (all 4 turns): {per_frame_ms([blank] * 10, dlib320.detect):.2f}")
    if REAL_FACES.is_dir():
        real_photos(localizer, {"dlib 320 px": dlib320, "dlib full size": dlib_full})

    model = load_face_model()
    with SyntheticSource(seed=args.seed) as source:
        frames = [source.frame_at(i) for i in range(60)]
    tracker = make_tracker(model)
    depth = tracker.depth
    print(f"depth localization and tracking, {k.width}x{k.height} synthetic frames (seed {args.seed}, 60 frames), "
          f"median ms per frame:")
    print(f"  depth detection (segment + up + face fit): "
          f"{per_frame_ms(frames, lambda f: depth.locate(f.depth, f.intrinsics)):.2f}")
    if PORTRAIT.is_dir():
        real = load_portrait()
        pdepth, pk = real.depth, real.intrinsics
        print(f"  depth detection, real TrueDepth portrait {pk.width}x{pk.height}: "
              f"{per_frame_ms([real] * 20, lambda f: depth.locate(pdepth, pk)):.2f}")
    for mode, with_pose in (("rgbd", True), ("depth", True), ("rgb", False)):
        ms, counts = track_ms(make_tracker(model), frames, mode, with_pose)
        what = "pose + landmarks; colour landmarks too" if with_pose else "the colour localizer's landmarks + iris"
        print(f"  tracking, {mode} ({what}): {ms:.3f}  [{counts}]")


if __name__ == "__main__":
    main()
