"""Benchmark commands (``python -m benchmarks.NAME``; each module's doc says what it prints).

Importing the package pins the BLAS and OpenMP thread pools to one thread unless the
environment already sets them, as ``main.py`` does for the app: the pipeline's matrix
products are small, and a multi-threaded OpenBLAS on shared cores is many times slower
(measured: an identity-solving refinement 16 ms with one thread, 42 ms median and 267 ms at
the slowest with two, while another process kept a core busy). This runs before any
benchmark module imports numpy.
"""

from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
