#!/usr/bin/env bash
# Sets up the runtime and starts FaceFromX on the embedded synthetic source.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python main.py "$@"
