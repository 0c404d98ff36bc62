"""Time loading the face model from its converted cache.

    python -m benchmarks.face_model_load [--runs 10]

Prints the median and maximum wall time of ``load_face_model()`` with a warm cache file.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from models.face_model import cache_path, load_face_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    load_face_model()  # build the cache if needed
    times = []
    for _ in range(args.runs):
        load_face_model.cache_clear()
        start = time.perf_counter()
        model = load_face_model()
        times.append(time.perf_counter() - start)
    size_mb = cache_path().stat().st_size / 1e6
    print(f"face model load from cache ({size_mb:.1f} MB, {model.num_vertices} vertices): "
          f"median {np.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms over {args.runs} runs")


if __name__ == "__main__":
    main()
