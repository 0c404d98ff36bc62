"""Time the desktop window: the viewport update and what the window displays on a live source.

    xvfb-run -a -s "-screen 0 1600x1000x24" python -m benchmarks.gui [--seconds 10]
        [--source synthetic] [--no-live] [--replay 60 --fps 30] [--pipeline real|ground-truth]
        [--window 1480x900] [--viewport 960x720] [--json]

1. Viewport update: a new 9,409-vertex face to OpenGL (``update``), then drawn and read back
   (``update_and_draw``), then painted by Qt (``paint``); median and p95 ms over 120 faces on a
   960x720 viewport.
2. The window on the live source (``--source``, default synthetic; skipped with ``--no-live``)
   for ``--seconds`` after a warm-up: displayed frames per second, the source's frame rate,
   capture-to-screen latency, the pipeline's own latency, frames dropped, the viewport's
   update/draw/paint per displayed frame and the share of a core the GUI thread used.
3. With ``--replay N``: N synthetic frames rendered ahead and replayed at ``--fps``, so the
   window is measured against a steady 30 fps source whatever the synthetic renderer's speed.

The pipeline is :class:`app.pipeline.Pipeline` when it can be built (``--pipeline real``),
else the ground-truth stand-in of the GUI tests (results are the synthetic frames' truth).
It runs inside the window's process, as in the app. Under xvfb, OpenGL is Mesa's llvmpipe
software rasteriser on the CPU: draw times include rasterisation that a GPU would do. BLAS
threads are pinned to one (``benchmarks/__init__.py``), as ``main.py`` does.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Iterator

from capture.base import FrameSource
from capture.synthetic import SyntheticSource
from models.errors import FaceFromXError
from models.frame import Frame
from models.mode import Mode
from tests.gui.doubles import GroundTruthPipeline
from ui import benchmark


class ReplaySource(FrameSource):
    """Frames rendered ahead, replayed in a loop with fresh indices and timestamps."""

    name = "replay"

    def __init__(self, frames: list[Frame], fps: float):
        self._frames = frames
        self._fps = fps

    @property
    def modes(self) -> frozenset[Mode]:
        return frozenset(Mode)

    @property
    def fps(self) -> float:
        return self._fps

    def frames(self) -> Iterator[Frame]:
        index = 0
        while True:
            frame = self._frames[index % len(self._frames)]
            yield dataclasses.replace(frame, index=index, timestamp=index / self._fps)
            index += 1


def pipeline_factory(which: str):
    if which == "ground-truth":
        return GroundTruthPipeline, "ground-truth stand-in"
    try:
        from app.pipeline import Pipeline

        Pipeline()  # builds: weights present
    except (ImportError, FaceFromXError) as exc:
        if which == "real":
            raise SystemExit(f"benchmarks.gui: the pipeline cannot be built: {exc}") from None
        return GroundTruthPipeline, f"ground-truth stand-in (app.pipeline unavailable: {exc})"
    return Pipeline, "app.pipeline.Pipeline"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--source", default="synthetic")
    parser.add_argument("--no-live", action="store_true", help="skip the window on the live source")
    parser.add_argument("--replay", type=int, default=0, metavar="N", help="also replay N pre-rendered frames")
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate of the replay")
    parser.add_argument("--pipeline", choices=["auto", "real", "ground-truth"], default="auto")
    parser.add_argument("--window", default="1480x900", help="window size, WxH (default: 1480x900)")
    parser.add_argument("--viewport", default="960x720", help="canvas size of the viewport timing, WxH")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    window = tuple(int(v) for v in args.window.lower().split("x"))
    canvas = tuple(int(v) for v in args.viewport.lower().split("x"))
    factory, pipeline_name = pipeline_factory(args.pipeline)
    results: dict[str, object] = {"pipeline": pipeline_name}

    with SyntheticSource(seed=1) as source:
        frames = [source.frame_at(i) for i in range(max(args.replay, 30))]
    truth = GroundTruthPipeline()
    packets = benchmark.viewport_packets(frames[:30], [truth.process(frame) for frame in frames[:30]])
    results["viewport"] = benchmark.measure_viewport(packets, size=canvas)
    if not args.no_live:
        results["window"] = benchmark.measure_window(factory, spec=args.source, seconds=args.seconds, size=window)
    if args.replay:
        replay = ReplaySource(frames[: args.replay], args.fps)
        results[f"window_replay_{args.fps:g}fps"] = benchmark.measure_window(
            factory, spec="synthetic", source=replay, seconds=args.seconds, size=window)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"pipeline: {pipeline_name}; window {args.window}, viewport timing canvas {args.viewport}")
    for name, figures in results["viewport"].items():
        print(f"viewport {name:16s} median {figures['median']:6.2f} ms   p95 {figures['p95']:6.2f} ms")
    for key in [k for k in results if k.startswith("window")]:
        w = results[key]
        print(f"{key}: displayed {w['displayed_fps']:5.1f} fps (source {w['captured_fps']:5.1f}, processed "
              f"{w['processed_fps']:5.1f}) over {w['seconds']:.1f} s")
        print(f"    latency capture->screen median {w['latency_ms']['median']:6.1f} ms, p95 "
              f"{w['latency_ms']['p95']:6.1f} ms; pipeline median {w['pipeline_ms']['median']:6.1f} ms, p95 "
              f"{w['pipeline_ms']['p95']:6.1f} ms")
        print(f"    viewport per displayed frame: update {w['update_ms']['median']:5.2f} ms, draw "
              f"{w['draw_ms']['median']:5.1f} ms, paint {w['paint_ms']['median']:5.1f} ms (medians); "
              f"GUI thread {100 * w['gui_thread_cpu']:3.0f}% of a core")
        print(f"    dropped {w['dropped']} (source -> pipeline), not displayed {w['display_skipped']} "
              f"(pipeline -> screen)")


if __name__ == "__main__":
    main()
