#!/usr/bin/env bash
# Sets up everything the tests need, then runs lint, the import rules and the whole test suite
# (GUI tests under a virtual X server). The command CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
echo "== ruff"
.venv/bin/ruff check .
echo "== import rules"
.venv/bin/lint-imports --no-cache
echo "== pytest"
export OPENBLAS_NUM_THREADS=1  # see tests/conftest.py
xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m pytest "$@"
