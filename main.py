"""FaceFromX: live 3D face capture. Starts the desktop window or the headless runner.

    python main.py                                   # window on the synthetic source
    python main.py --screenshot out.png --quit-after 5   # save the window after 5 s and exit
    python main.py --headless --source SRC --mode MODE --frames N --report r.json

The command-line contract is docs/CONTRACT.md; this is the only place that calls ``sys.exit``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py", description="FaceFromX: live 3D face capture.")
    parser.add_argument("--source", default="synthetic",
                        help="synthetic[:seed=N], a .r3d/.bag/video file, an image folder, "
                             "record3d[:N], realsense[:SERIAL] or webcam[:N] (default: synthetic)")
    parser.add_argument("--mode", choices=["rgb", "depth", "rgbd"],
                        help="input mode (default: the richest the source offers)")
    parser.add_argument("--headless", action="store_true", help="run without a window")
    parser.add_argument("--frames", type=int, help="number of frames to process (headless)")
    parser.add_argument("--no-refine", dest="refine", action="store_false",
                        help="turn off depth refinement")
    parser.add_argument("--export", action="append", default=[], metavar="PATH",
                        help="NAME.abc, NAME.csv, NAME.jsonl, NAME.glb / NAME.gltf (a rig) or a directory/ for OBJ "
                             "(repeatable)")
    parser.add_argument("--space", choices=["gl", "opencv"],
                        help="coordinate frame of exports (default: gl, y up)")
    parser.add_argument("--record", type=Path, metavar="DIR", help="record the take into DIR")
    parser.add_argument("--report", type=Path, metavar="REPORT.json", help="write the run report")
    parser.add_argument("--stream", action="append", default=[], metavar="TARGET",
                        help="send every frame over UDP: livelink[:HOST[:PORT]] (Unreal Live Link, "
                             "default 127.0.0.1:11111) or vmc[:HOST[:PORT]] (default 127.0.0.1:39539); repeatable")
    parser.add_argument("--stream-subject", metavar="NAME",
                        help="the Live Link subject name (default: FaceFromX)")
    parser.add_argument("--screenshot", type=Path, metavar="OUT.png", help="save the window to a PNG")
    parser.add_argument("--quit-after", type=float, metavar="SECONDS", help="close the window after this time")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    return parser


def misplaced_options(args: argparse.Namespace) -> str | None:
    """One line naming options given where they do nothing (docs/CONTRACT.md), else None."""
    if args.headless:
        window_only = [name for name, given in (("--screenshot", args.screenshot is not None),
                                                ("--quit-after", args.quit_after is not None)) if given]
        if window_only:
            verb = "needs" if len(window_only) == 1 else "need"
            return f"{' and '.join(window_only)} {verb} the window: drop --headless"
        return None
    headless_only = [name for name, given in (("--export", bool(args.export)), ("--record", args.record is not None),
                                              ("--report", args.report is not None),
                                              ("--space", args.space is not None)) if given]
    if headless_only:
        what = "is a headless option" if len(headless_only) == 1 else "are headless options"
        return f"{', '.join(headless_only)} {what}: add --headless (the window has its own Record and Export)"
    return None


def main(argv: list[str] | None = None) -> int:
    # OpenCV's own warnings (a camera index that does not open...) would add lines to our
    # one-line errors; keep its log to errors.
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    # The pipeline's small matrix products are fastest on one BLAS thread (the pipeline
    # already runs on its own thread beside the source's); set before numpy loads.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    args = build_parser().parse_args(argv)
    if (misplaced := misplaced_options(args)) is not None:
        print(f"main.py: {misplaced}", file=sys.stderr)
        return EXIT_BAD_INPUT
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from models.errors import FaceFromXError

    try:
        if args.headless:
            from app.headless import HeadlessConfig, run_headless

            report = run_headless(HeadlessConfig(
                source=args.source, mode=args.mode, frames=args.frames, refine=args.refine,
                exports=tuple(args.export), space=args.space or "gl", record=args.record, report=args.report,
                streams=tuple(args.stream),
                stream_subject="FaceFromX" if args.stream_subject is None else args.stream_subject,
            ))
            if report.interrupted is not None:  # finished cleanly after SIGINT / SIGTERM: 130 / 143
                return 128 + int(report.interrupted)
            return 0
        from ui.launch import run_gui

        # The contract: without --source the window opens on the synthetic source; the
        # source picker keeps the recent ones.
        return run_gui(source=args.source, mode=args.mode, screenshot=args.screenshot,
                       quit_after=args.quit_after, streams=tuple(args.stream),
                       stream_subject=args.stream_subject)
    except FaceFromXError as exc:
        print(f"main.py: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
