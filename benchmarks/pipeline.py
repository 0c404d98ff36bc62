"""Time the pipeline on the synthetic source: latency per frame and memory over a long run.

    python -m benchmarks.pipeline [--mode rgbd] [--frames 300] [--no-refine] [--assets DIR]
                                  [--iterations N] [--steady-iterations N] [--compare-steady]

Frames are rendered first (outside the timing), then fed to the pipeline one by one, so the
figures are the pipeline's own: median and p95 latency (frame in -> result out), per-stage
medians, the implied frames per second, the ground-truth error of the narrow face, and the
process's resident memory at the start and the end of the run (``--frames 10000`` for the
flat-memory check; frames are then reused cyclically from a pool of 300). BLAS threads are
pinned to one, as ``main.py`` does for the app (see ``benchmarks/__init__.py``).
``--iterations`` and ``--steady-iterations`` (0: off) override the refinement's solves per
frame and per steady frame (:class:`inference.refine.config.SteadyConfig`);
``--compare-steady`` runs a second pipeline without steady solves on the same frames,
interleaved frame by frame, so that both see the same load on shared cores.
"""

from __future__ import annotations

import argparse
import resource
from dataclasses import replace
from pathlib import Path

import numpy as np

from app.config import ASSETS_DIR, PipelineConfig, SmoothingConfig
from app.pipeline import Pipeline
from capture.synthetic import SyntheticSource
from inference.refine import RefineConfig, TakeRefiner
from models.face_model import REGION_SIZES
from models.metrics import similarity_align

NARROW = REGION_SIZES["narrow_face"]


def rss_mb() -> float:
    """Current resident set size in MB (Linux /proc; falls back to the peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Run:
    """One pipeline over the frame pool, with its figures."""

    def __init__(self, config: PipelineConfig, refine: RefineConfig, model=None):
        self.pipeline = Pipeline(config, model=model)
        self.refine = refine
        if refine != RefineConfig():
            self.pipeline.refiner = TakeRefiner(self.pipeline.model, refine)
        self.latency: list[float] = []
        self.errors: list[float] = []
        self.aligned: list[float] = []
        self.stages: dict[str, list[float]] = {}
        self.found = 0

    def step(self, i: int, frame, pool_size: int) -> None:
        if i % pool_size == 0 and i:
            self.pipeline.reset()
        result = self.pipeline.process(frame)
        self.latency.append(result.latency_ms)
        for name, ms in result.stage_ms.items():
            self.stages.setdefault(name, []).append(ms)
        if result.found:
            self.found += 1
            truth = frame.ground_truth.vertices[:NARROW]
            estimate = result.vertices[:NARROW]
            self.errors.append(np.linalg.norm(estimate - truth, axis=1).mean() * 1000)
            self.aligned.append(np.linalg.norm(similarity_align(estimate, truth).apply(estimate) - truth,
                                               axis=1).mean() * 1000)

    def report(self, label: str, frames: int) -> None:
        median, p95 = np.median(self.latency), np.percentile(self.latency, 95)
        print(f"{label} on {frames} frames: latency median {median:.1f} ms, p95 {p95:.1f} ms "
              f"({1000 / median:.0f} fps); faces found {self.found}/{frames}")
        print("stage medians (ms): " + ", ".join(f"{k} {np.median(v):.2f}" for k, v in self.stages.items()))
        if self.errors:
            print(f"ground-truth error, narrow face: mean {np.mean(self.errors):.2f} mm, median "
                  f"{np.median(self.errors):.2f} mm; after similarity alignment (the paper's RGB protocol): "
                  f"mean {np.mean(self.aligned):.2f} mm")
        refine = self.refine
        print(f"refinement: {refine.iterations} solves a frame, {refine.steady.iterations or refine.iterations} "
              f"when steady ({self.pipeline.refiner.steady_frames} of {frames} frames)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="rgbd", choices=["rgb", "depth", "rgbd"])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1001, help="synthetic sequence (held out from training)")
    parser.add_argument("--no-refine", dest="refine", action="store_false")
    parser.add_argument("--no-smooth", dest="smooth", action="store_false")
    parser.add_argument("--assets", type=Path, default=ASSETS_DIR)
    parser.add_argument("--iterations", type=int, default=None, help="refinement solves per frame")
    parser.add_argument("--steady-iterations", type=int, default=None, help="... per steady frame (0: off)")
    parser.add_argument("--compare-steady", action="store_true",
                        help="also run the pipeline without steady solves, interleaved frame by frame")
    args = parser.parse_args()
    config = PipelineConfig(mode=args.mode, refine=args.refine, assets_dir=args.assets,
                            smoothing=SmoothingConfig(enabled=args.smooth))
    pool_size = min(args.frames, 300)
    with SyntheticSource(seed=args.seed) as source:
        pool = [source.frame_at(i) for i in range(pool_size)]
    refine = RefineConfig()
    if args.iterations is not None:
        refine = replace(refine, iterations=args.iterations)
    if args.steady_iterations is not None:
        refine = replace(refine, steady=replace(refine.steady, iterations=args.steady_iterations))
    runs = {"": Run(config, refine)}
    if args.compare_steady:
        runs["without steady solves, "] = Run(config, replace(refine, steady=replace(refine.steady, iterations=0)),
                                               model=runs[""].pipeline.model)
    start_rss = None
    for i in range(args.frames):
        for run in runs.values():
            run.step(i, pool[i % pool_size], pool_size)
        if i == min(50, args.frames - 1):
            start_rss = rss_mb()
    for name, run in runs.items():
        run.report(f"pipeline {name}{args.mode} refine={'on' if args.refine else 'off'} "
                   f"smooth={'on' if args.smooth else 'off'} (640x480, seed {args.seed})", args.frames)
    print(f"resident memory: {start_rss:.0f} MB after 50 frames, {rss_mb():.0f} MB at the end")


if __name__ == "__main__":
    main()
