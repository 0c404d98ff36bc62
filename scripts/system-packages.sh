#!/usr/bin/env bash
# Installs the system libraries FaceFromX needs when they are missing (Debian/Ubuntu):
# Mesa EGL/GL for headless rendering, xvfb for GUI tests, libusb for RealSense, Qt's xcb libs.
set -euo pipefail
packages=(
  xvfb xauth libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 libusb-1.0-0
  libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
  libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libdbus-1-3 libfontconfig1
)
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "system-packages.sh: not a Debian-based system; install the equivalents of: ${packages[*]}" >&2
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing system packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
