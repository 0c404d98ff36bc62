"""``main.py --screenshot OUT.png --quit-after SECONDS`` writes a PNG and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

pytestmark = pytest.mark.gui

RUN_MAIN = Path(__file__).with_name("run_main.py")


def run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"))
    return subprocess.run([sys.executable, str(RUN_MAIN), *args], capture_output=True, text=True,
                          env=env, timeout=120, cwd=tmp_path)


def test_screenshot_writes_a_png_and_exits_0(tmp_path):
    out = tmp_path / "window.png"
    done = run(["--screenshot", str(out), "--quit-after", "4", "--source", "synthetic:width=320,height=240"],
               tmp_path)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = cv2.imread(str(out))
    assert image.shape[0] > 400 and image.shape[1] > 600
    # The viewport (left, under the toolbar) shows the skin-coloured face.
    viewport = image[60:image.shape[0] // 2, : image.shape[1] // 2].reshape(-1, 3).astype(int)
    skin = (viewport[:, 2] > 150) & (viewport[:, 2] > viewport[:, 0] + 40)  # BGR: red well above blue
    assert skin.mean() > 0.05


def test_bad_source_is_one_line_and_exit_2(tmp_path):
    done = run(["--source", "nosuch:thing", "--screenshot", str(tmp_path / "x.png"), "--quit-after", "1"],
               tmp_path)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "unknown source" in done.stderr
    assert not (tmp_path / "x.png").exists()


def test_screenshot_with_the_real_pipeline(tmp_path):
    """``python main.py --screenshot`` itself, when this build has a pipeline with weights."""
    from models.errors import FaceFromXError

    try:
        from app.pipeline import Pipeline

        Pipeline()
    except (ImportError, FaceFromXError) as exc:
        pytest.skip(f"app.pipeline cannot be built in this checkout: {exc}")
    out = tmp_path / "real.png"
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"))
    done = subprocess.run([sys.executable, str(RUN_MAIN.parents[2] / "main.py"), "--screenshot", str(out),
                           "--quit-after", "6", "--source", "synthetic:width=320,height=240"],
                          capture_output=True, text=True, env=env, timeout=180, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("args", "words"), [
    (["--export", "take.abc"], "--export is a headless option"),
    (["--record", "takes"], "--record is a headless option"),
    (["--report", "r.json"], "--report is a headless option"),
    (["--space", "opencv"], "--space is a headless option"),
    (["--export", "x.csv", "--report", "r.json"], "--export, --report are headless options"),
    (["--headless", "--screenshot", "x.png"], "--screenshot needs the window"),
])
def test_options_of_the_other_mode_are_one_line_and_exit_2(tmp_path, args, words):
    done = run(args, tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"main.py: {done.stderr.strip().split(': ', 1)[1]}"]
    assert words in done.stderr, done.stderr
    assert list(tmp_path.glob("*.json")) == [] and not (tmp_path / "x.png").exists()
