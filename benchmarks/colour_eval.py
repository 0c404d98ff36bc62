"""Expression, blink and shape against the truth of held-out synthetic takes, in every mode; 68-point
NME on a folder of annotated images.

    python -m benchmarks.colour_eval [--modes rgb depth rgbd] [--seeds 1001-1003] [--frames 150]
    python -m benchmarks.colour_eval --nme FOLDER       # images with 68-point .pts files beside them

Synthetic: each seed's take (frames 0..N-1 at 30 fps, held out from training and from the
landmark correspondence's build) runs through the pipeline as the app runs it (smoothing and
refinement on). Printed per mode: frames found; the median over channels of the Pearson
correlation between the predicted and the true expression curve, over the channels whose
truth moves (standard deviation >= 0.05 over the take; a channel the prediction holds
constant counts 0), also without the eyeLook channels (the synthetic actors' eyeballs never
turn: ICT-FaceKit's eyeLook shapes move the lids only, while our eyeLook curves carry the
iris's gaze); each eye's eyeBlink correlation; the aligned vertex error (narrow face,
similarity-aligned to the truth, mean mm, median over frames); the gaze's mean angle from
straight ahead (the synthetic eyes look straight ahead in the head frame); median latency.

NME: each image on its own (the pipeline reset before it), RGB mode; the 68 fitted landmarks
against the file's, mean distance over the outer-eye-corner distance (and over the box
diagonal sqrt(w h) of the annotation, AFLW2000-3D style).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from app.config import PipelineConfig
from app.pipeline import Pipeline
from capture.image_folder import list_images, load_intrinsics
from capture.synthetic import SyntheticSource
from models.face_model import REGION_SIZES, load_face_model
from models.frame import Frame
from models.metrics import similarity_align
from models.mode import Mode

NARROW = REGION_SIZES["narrow_face"]
MOVING_STD = 0.05


def correlations(truth: np.ndarray, predicted: np.ndarray, names: tuple[str, ...]) -> dict[str, float]:
    """Channel name -> Pearson correlation over frames, for the channels whose truth moves."""
    out = {}
    for j, name in enumerate(names):
        if truth[:, j].std() < MOVING_STD:
            continue
        out[name] = float(np.corrcoef(truth[:, j], predicted[:, j])[0, 1]) if predicted[:, j].std() > 1e-6 else 0.0
    return out


def run_take(pipeline: Pipeline, seed: int, frames: int) -> dict[str, np.ndarray]:
    """Truth and prediction over one take (frames with a face only)."""
    pipeline.reset()
    rows: dict[str, list] = {"truth": [], "pred": [], "aligned_mm": [], "latency": [], "gaze": []}
    found = 0
    with SyntheticSource(seed=seed) as source:
        for index in range(frames):
            frame = source.frame_at(index)
            result = pipeline.process(frame)
            if not result.found:
                continue
            found += 1
            truth = frame.ground_truth
            rows["truth"].append(truth.expression)
            rows["pred"].append(result.expression)
            rows["latency"].append(result.latency_ms)
            predicted, target = result.vertices[:NARROW], truth.vertices[:NARROW]
            aligned = similarity_align(predicted, target).apply(predicted)
            rows["aligned_mm"].append(np.linalg.norm(aligned - target, axis=1).mean() * 1000.0)
            if result.gaze is not None:
                rows["gaze"].append(np.degrees(np.hypot(result.gaze[:, 0], result.gaze[:, 1])))
    out = {key: np.asarray(value) for key, value in rows.items()}
    out["found"] = np.array(found)
    return out


def evaluate_mode(model, mode: str, seeds: list[int], frames: int) -> None:
    pipeline = Pipeline(PipelineConfig(mode=mode), model=model)
    names = model.expression_names
    blink = [names.index("eyeBlink_L"), names.index("eyeBlink_R")]
    per_seed = []
    for seed in seeds:
        take = run_take(pipeline, seed, frames)
        corr = correlations(take["truth"], take["pred"], names)
        no_look = [v for k, v in corr.items() if not k.startswith("eyeLook")]
        blinks = [float(np.corrcoef(take["truth"][:, j], take["pred"][:, j])[0, 1]) if take["pred"][:, j].std() > 1e-6
                  else 0.0 for j in blink]
        gaze = float(np.mean(take["gaze"])) if len(take["gaze"]) else float("nan")
        row = (seed, int(take["found"]), np.median(list(corr.values())), np.median(no_look), blinks[0], blinks[1],
               float(np.median(take["aligned_mm"])), gaze, float(np.median(take["latency"])))
        per_seed.append(row)
        print(f"{mode:5s} seed {seed}: found {row[1]}/{frames}, expression corr median {row[2]:.3f} "
              f"(without eyeLook {row[3]:.3f}, {len(corr)} moving channels), blink L {row[4]:.3f} R {row[5]:.3f}, "
              f"aligned vertex error {row[6]:.2f} mm, gaze {row[7]:.1f} deg off ahead, latency {row[8]:.2f} ms")
    table = np.array([r[1:] for r in per_seed], dtype=np.float64)
    med = np.median(table, axis=0)
    print(f"{mode:5s} median over seeds: expression corr {med[1]:.3f} (without eyeLook {med[2]:.3f}), "
          f"blink L {med[3]:.3f} R {med[4]:.3f}, min blink {table[:, 3:5].min():.3f}, aligned vertex error "
          f"{med[5]:.2f} mm, gaze {med[6]:.1f} deg, latency {med[7]:.2f} ms")


def read_pts(path: Path) -> np.ndarray:
    """(68, 2) points of an iBUG ``.pts`` file (1-based pixel coordinates made 0-based)."""
    text = path.read_text()
    body = text[text.index("{") + 1:text.index("}")]
    points = np.array([[float(v) for v in line.split()] for line in body.strip().splitlines()])
    return points[:, :2] - 1.0


def evaluate_nme(model, folder: Path) -> None:
    pipeline = Pipeline(PipelineConfig(mode="rgb"), model=model)
    eye, box, missed = [], [], 0
    for index, path in enumerate(list_images(folder)):
        annotation = path.with_suffix(".pts")
        if not annotation.is_file():
            continue
        truth = read_pts(annotation)
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        intrinsics = load_intrinsics(folder, rgb.shape[1], rgb.shape[0])
        pipeline.reset()
        result = pipeline.process(Frame(index=index, timestamp=0.0, intrinsics=intrinsics, rgb=rgb))
        if not result.found:
            missed += 1
            continue
        error = np.linalg.norm(result.landmarks_2d - truth, axis=1).mean()
        eye.append(error / np.linalg.norm(truth[36] - truth[45]))
        size = truth.max(axis=0) - truth.min(axis=0)
        box.append(error / np.sqrt(size[0] * size[1]))
    if not eye:
        print(f"NME: no annotated image with a face found in {folder} ({missed} missed)")
        return
    print(f"NME over {len(eye)} images ({missed} not found): {100 * np.mean(eye):.2f} % of the outer-eye-corner "
          f"distance (median {100 * np.median(eye):.2f} %), {100 * np.mean(box):.2f} % of the box size")


def _seeds(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", default=["rgb", "depth", "rgbd"], choices=[m.value for m in Mode])
    parser.add_argument("--seeds", default="1001-1003", help="held-out synthetic actors (a range)")
    parser.add_argument("--frames", type=int, default=150, help="frames per take (30 fps)")
    parser.add_argument("--nme", type=Path, help="a folder of images with 68-point .pts files: print the NME only")
    args = parser.parse_args()
    model = load_face_model()
    if args.nme is not None:
        evaluate_nme(model, args.nme)
        return
    for mode in args.modes:
        evaluate_mode(model, mode, _seeds(args.seeds), args.frames)


if __name__ == "__main__":
    main()
