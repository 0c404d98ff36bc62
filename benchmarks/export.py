"""Time the exporters on 1,000 frames of the 9,409-vertex face (targets: Alembic <= 10 s, OBJ <= 20 s,
glTF rig <= 2 s and at most 1/20 of the Alembic archive).

    python -m benchmarks.export [--frames 1000] [--formats abc,obj,csv,jsonl,glb] [--space gl]
                                [--bake-pose] [--cores N] [--keep DIR]

Builds a synthetic take (the face model along a smooth head motion and expression; not timed),
then writes each format into a temporary folder (or ``--keep DIR``) and prints the seconds each
took. Targets: Alembic <= 10 s, OBJ sequence <= 20 s, glTF rig <= 2 s on 2 cores, and the
.glb at most 1/20 of the .abc's size (checked when both are written). ``--cores N`` pins the process
to N CPU cores (Linux) to mimic a smaller machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from app.export import exporter_for
from app.export.samples import synthetic_results
from models.face_model import load_face_model

TARGETS = {"abc": 10.0, "obj": 20.0, "glb": 2.0}
TARGETS_NAMES = {"abc": "take.abc", "obj": "take_obj/", "csv": "take.csv", "jsonl": "take.jsonl", "glb": "take.glb"}
GLB_SIZE_RATIO = 20  # the .glb at most 1/20 of the .abc


def folder_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--formats", default="abc,obj,csv,jsonl,glb")
    parser.add_argument("--space", default="gl", choices=("gl", "opencv"))
    parser.add_argument("--bake-pose", action="store_true")
    parser.add_argument("--cores", type=int, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="write here and keep the files")
    args = parser.parse_args()
    if args.cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.cores])
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()

    model = load_face_model()
    start = time.perf_counter()
    results = synthetic_results(model, args.frames, fps=30.0, missing={5, 6, 7})
    print(f"{args.frames} synthetic frames of {results[0].vertices.shape[0]} vertices built in "
          f"{time.perf_counter() - start:.1f} s; {cores} cores")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="facefromx-export-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    failed = False
    sizes: dict[str, int] = {}
    try:
        for fmt in args.formats.split(","):
            name = TARGETS_NAMES[fmt]
            target = f"{folder / name}/" if name.endswith("/") else folder / name
            exporter = exporter_for(target, bake_pose=args.bake_pose)
            start = time.perf_counter()
            path = exporter.export(results, fps=30.0, face_model=model, space=args.space)
            seconds = time.perf_counter() - start
            limit = TARGETS.get(fmt)
            verdict = "" if limit is None else (f"  (target <= {limit:.0f} s: "
                                                f"{'ok' if seconds <= limit else 'MISSED'})")
            failed |= limit is not None and seconds > limit
            sizes[fmt] = folder_size(path)
            print(f"{exporter.format_name:<20} {seconds:7.2f} s  {args.frames / seconds:8.1f} frames/s  "
                  f"{sizes[fmt] / 1e6:8.1f} MB{verdict}")
        if "abc" in sizes and "glb" in sizes:
            ratio = sizes["abc"] / sizes["glb"]
            failed |= ratio < GLB_SIZE_RATIO
            print(f"glTF rig size: 1/{ratio:.0f} of the Alembic archive (target <= 1/{GLB_SIZE_RATIO}: "
                  f"{'ok' if ratio >= GLB_SIZE_RATIO else 'MISSED'})")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
