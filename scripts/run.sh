#!/usr/bin/env bash
# Sets up the runtime (once, and again whenever the requirements or the setup scripts change)
# and starts FaceFromX; paths given to main.py are relative to the folder you run this from.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
stamp="$root/.venv/.setup-stamp"
wanted="$(cat "$root/requirements.txt" "$root/scripts/setup.sh" "$root/scripts/system-packages.sh" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$root/.venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  bash "$root/scripts/setup.sh"
  echo "$wanted" > "$stamp"
fi
exec "$root/.venv/bin/python" "$root/main.py" "$@"
