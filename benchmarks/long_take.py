"""A long headless take with every output at once: memory over time, sizes, completeness.

    python -m benchmarks.long_take [--frames 10000] [--source synthetic:width=320,height=240]
                                   [--out DIR] [--refine]

Runs ``main.py --headless`` in a child process with ``--record``, the four exports (Alembic,
OBJ sequence, CSV, JSONL) and ``--report``, samples the child's resident memory every few
seconds, then prints the memory at the start, middle and end of the run, each output's size
(total, per frame, per minute at the source's rate) and whether every file is complete (Alembic
samples, OBJ files, CSV and JSONL lines, the take's frames and results). Without ``--out`` the
files go to a temporary folder that is removed afterwards (a 10,000-frame run writes ~15 GB).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_mb(pid: int) -> float | None:
    """The resident memory of ``pid`` in MB (Linux), or None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def size_of(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def completeness(out: Path, frames: int) -> list[str]:
    """One line per output saying how many frames it holds."""
    from alembic3d import Abc, AbcGeom

    from app.recording import Take

    archive = Abc.IArchive(str(out / "take.abc"))
    samples = AbcGeom.IPolyMesh(AbcGeom.IXform(archive.getTop(), "head"), "face").getSchema().getNumSamples()
    take = Take.open(next((out / "takes").glob("*.results")))
    with open(out / "take.csv", "rb") as csv_file, open(out / "take.jsonl", "rb") as jsonl_file:
        csv_rows = sum(1 for _ in csv_file) - 1
        jsonl_rows = sum(1 for _ in jsonl_file)
    return [
        f"Alembic samples {samples} / {frames}",
        f"OBJ files {len(list((out / 'objs').glob('frame_*.obj')))} (one per frame with a face)",
        f"CSV rows {csv_rows} / {frames}, JSONL lines {jsonl_rows} / {frames}",
        f"take: {take.num_frames} raw frames, {take.num_results} results / {frames}",
        f"temporaries left: {len(list(out.glob('.*')))}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--source", default="synthetic:width=320,height=240")
    parser.add_argument("--out", type=Path, help="keep the files here (default: a temporary folder)")
    parser.add_argument("--refine", action="store_true", help="depth refinement on (slower)")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between memory samples")
    args = parser.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="facefromx-long-take-"))
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(ROOT / "main.py"), "--headless", "--source", args.source,
               "--frames", str(args.frames), *([] if args.refine else ["--no-refine"]),
               "--export", str(out / "take.abc"), "--export", f"{out / 'objs'}/",
               "--export", str(out / "take.csv"), "--export", str(out / "take.jsonl"),
               "--record", str(out / "takes"), "--report", str(out / "report.json")]
    print(" ".join(command))
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT)
    samples: list[tuple[float, float]] = []
    try:
        while child.poll() is None:
            if (rss := rss_mb(child.pid)) is not None:
                samples.append((time.perf_counter() - start, rss))
            time.sleep(args.every)
    finally:
        if child.poll() is None:
            child.terminate()
        child.wait()
    wall = time.perf_counter() - start
    try:
        print(f"exit status {child.returncode}, {wall:.0f} s")
        report = json.loads((out / "report.json").read_text())
        frames, fps = report["frames"], 30.0
        print(f"frames {frames}, faces {report['faces_found']}, {report['fps']} frames/s, "
              f"dropped {report['dropped_frames']}")
        if samples:
            loaded = [rss for t, rss in samples if t > 0.05 * wall] or [samples[-1][1]]
            middle = loaded[len(loaded) // 2]
            print(f"RSS MB: at 5% of the run {loaded[0]:.0f}, middle {middle:.0f}, end {loaded[-1]:.0f}, "
                  f"max {max(rss for _, rss in samples):.0f}")
        outputs = [out / "take.abc", out / "objs", out / "take.csv", out / "take.jsonl",
                   *sorted((out / "takes").iterdir())]
        for path in outputs:
            size = size_of(path)
            print(f"{path.name:40s} {size / 1e6:10.1f} MB  {size / frames / 1e3:8.1f} kB/frame  "
                  f"{size / frames * fps * 60 / 1e6:8.1f} MB/min at {fps:.0f} fps")
        for line in completeness(out, frames):
            print(line)
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
