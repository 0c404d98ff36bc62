"""Time the pipeline on the synthetic source: latency per frame and memory over a long run.

    python -m benchmarks.pipeline [--mode rgbd] [--frames 300] [--no-refine] [--assets DIR]

Frames are rendered first (outside the timing), then fed to the pipeline one by one, so the
figures are the pipeline's own: median and p95 latency (frame in -> result out), per-stage
medians, the implied frames per second, the ground-truth error of the narrow face, and the
process's resident memory at the start and the end of the run (``--frames 10000`` for the
flat-memory check; frames are then reused cyclically from a pool of 300). BLAS threads are
pinned to one, as ``main.py`` does for the app (see ``benchmarks/__init__.py``).
"""

from __future__ import annotations

import argparse
import resource
from pathlib import Path

import numpy as np

from app.config import ASSETS_DIR, PipelineConfig, SmoothingConfig
from app.pipeline import Pipeline
from capture.synthetic import SyntheticSource
from models.face_model import REGION_SIZES
from models.metrics import similarity_align


def rss_mb() -> float:
    """Current resident set size in MB (Linux /proc; falls back to the peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="rgbd", choices=["rgb", "depth", "rgbd"])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1001, help="synthetic sequence (held out from training)")
    parser.add_argument("--no-refine", dest="refine", action="store_false")
    parser.add_argument("--no-smooth", dest="smooth", action="store_false")
    parser.add_argument("--assets", type=Path, default=ASSETS_DIR)
    args = parser.parse_args()
    config = PipelineConfig(mode=args.mode, refine=args.refine, assets_dir=args.assets,
                            smoothing=SmoothingConfig(enabled=args.smooth))
    pool_size = min(args.frames, 300)
    with SyntheticSource(seed=args.seed) as source:
        pool = [source.frame_at(i) for i in range(pool_size)]
    pipeline = Pipeline(config)
    narrow = REGION_SIZES["narrow_face"]
    latency, errors, aligned, stages, found = [], [], [], {}, 0
    start_rss = None
    for i in range(args.frames):
        frame = pool[i % pool_size]
        if i % pool_size == 0 and i:
            pipeline.reset()
        result = pipeline.process(frame)
        if i == min(50, args.frames - 1):
            start_rss = rss_mb()
        latency.append(result.latency_ms)
        for name, ms in result.stage_ms.items():
            stages.setdefault(name, []).append(ms)
        if result.found:
            found += 1
            truth = frame.ground_truth.vertices[:narrow]
            errors.append(np.linalg.norm(result.vertices[:narrow] - truth, axis=1).mean() * 1000)
            estimate = result.vertices[:narrow]
            aligned.append(np.linalg.norm(similarity_align(estimate, truth).apply(estimate) - truth, axis=1).mean() * 1000)
    median, p95 = np.median(latency), np.percentile(latency, 95)
    print(f"pipeline {args.mode} refine={'on' if args.refine else 'off'} smooth={'on' if args.smooth else 'off'} on {args.frames} frames "
          f"(640x480, seed {args.seed}): latency median {median:.1f} ms, p95 {p95:.1f} ms "
          f"({1000 / median:.0f} fps); faces found {found}/{args.frames}")
    print("stage medians (ms): " + ", ".join(f"{k} {np.median(v):.2f}" for k, v in stages.items()))
    if errors:
        print(f"ground-truth error, narrow face: mean {np.mean(errors):.2f} mm, median {np.median(errors):.2f} mm; "
              f"after similarity alignment (the paper's RGB protocol): mean {np.mean(aligned):.2f} mm")
    print(f"resident memory: {start_rss:.0f} MB after 50 frames, {rss_mb():.0f} MB at the end")


if __name__ == "__main__":
    main()
