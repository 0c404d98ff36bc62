"""``main.py --headless``: the contract's report, exit status and one-line errors."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import main

pytestmark = pytest.mark.gl
REPO = Path(__file__).resolve().parents[2]


def test_headless_run_exports_records_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = out / "report.json"
    assert main.main(["--headless", "--source", "synthetic:seed=1001", "--frames", "6",
                      "--export", str(out / "take.abc"), "--export", str(out / "objs") + "/",
                      "--export", str(out / "take.csv"), "--export", str(out / "take.jsonl"),
                      "--record", str(out / "takes"), "--report", str(report)]) == 0
    data = json.loads(report.read_text())
    assert data["source"] == "synthetic:seed=1001"
    assert data["mode"] == "rgbd" and data["frames"] == 6 and data["dropped_frames"] == 0
    assert data["faces_found"] >= 5 and len(data["missing_frames"]) == 6 - data["faces_found"]
    assert data["fps"] > 0 and set(data["latency_ms"]) == {"median", "p95"}
    assert list(data["stage_ms"])[0] == "decode"
    assert {"localize", "infer", "refine", "smooth", "mesh"} <= set(data["stage_ms"])
    assert data["gt_error_mm"]["mean"] < 5 and data["fit_error_mm"]["mean"] > 0
    assert (out / "take.abc").stat().st_size > 0
    assert len(list((out / "objs").glob("frame_*.obj"))) == data["faces_found"]
    assert len((out / "take.jsonl").read_text().splitlines()) == 6
    assert len((out / "take.csv").read_text().splitlines()) == 7
    takes = list((out / "takes").glob("*.r3d"))
    assert len(takes) == 1 and json.loads(next((out / "takes").glob("*.summary.json")).read_text())[
        "frames_written"] == 6


def test_mode_is_honoured(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    assert main.main(["--headless", "--source", "synthetic:seed=1001", "--mode", "rgb",
                      "--frames", "1", "--report", str(report)]) == 0
    assert json.loads(report.read_text())["mode"] == "rgb"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "nonsense"], "unknown source 'nonsense'"),
        (["--source", "/no/such/take.r3d"], "no such file"),
        (["--source", "synthetic:seed=x"], "not a number"),
        (["--frames", "0"], "--frames must be at least 1"),
        (["--frames", "1", "--report", "/proc/forbidden/r.json"], "cannot write the report"),
        (["--frames", "1", "--export", "take.fbx"], "fbx"),
        (["--source", "webcam:7", "--mode", "depth"], "cannot serve mode 'depth'"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(args: list[str], message: str) -> None:
    result = subprocess.run([sys.executable, "main.py", "--headless", *args], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def _wait_for_obj_files(folder: Path, count: int, process: subprocess.Popen, timeout: float = 240) -> None:
    """Wait until the OBJ export's hidden temporary folder holds ``count`` files (frames processed)."""
    deadline = time.monotonic() + timeout
    while len([p for d in folder.glob(".objs.*.partial") for p in d.glob("frame_*.obj")]) < count:
        assert process.poll() is None, process.communicate()[1]
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"fewer than {count} OBJ files written in {timeout} s")
        time.sleep(0.2)


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_ends_an_endless_run_with_complete_outputs(tmp_path: Path, signum: int, status: int) -> None:
    """Without --frames the synthetic source runs until a signal, which finishes everything."""
    out = tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen(
        [sys.executable, "main.py", "--headless", "--source", "synthetic:seed=1002", "--no-refine",
         "--export", str(out / "take.abc"), "--export", str(out / "objs") + "/",
         "--export", str(out / "take.csv"), "--export", str(out / "take.jsonl"),
         "--record", str(out / "takes"), "--report", str(out / "report.json")],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_obj_files(out, 4, process)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == status, stderr
    assert "Traceback" not in stderr and "ERROR" not in stderr, stderr
    data = json.loads((out / "report.json").read_text())
    frames = data["frames"]
    assert frames >= 4 and data["interrupted"] == signal.Signals(signum).name
    assert not list(out.glob(".*partial")), "every export was completed"
    assert len((out / "take.jsonl").read_text().splitlines()) == frames
    assert len((out / "take.csv").read_text().splitlines()) == frames + 1
    assert len(list((out / "objs").glob("frame_*.obj"))) == data["faces_found"]
    from alembic3d import Abc, AbcGeom

    archive = Abc.IArchive(str(out / "take.abc"))
    mesh = AbcGeom.IPolyMesh(AbcGeom.IXform(archive.getTop(), "head"), "face")
    assert mesh.getSchema().getNumSamples() == frames
    summary = json.loads(next((out / "takes").glob("*.summary.json")).read_text())
    assert summary["frames_written"] >= frames and summary["frames_processed"] == frames
    assert len(list((out / "takes").glob("*.r3d"))) == 1


def _bad_inputs(folder: Path) -> dict[str, tuple[str, str]]:
    """Sources that fail at open or mid-run: name -> (--source, words of the one line)."""
    import cv2
    import numpy as np

    video = folder / "corrupt.mp4"
    video.write_bytes(b"\0\0\0\x18ftypmp42" + bytes(range(256)) * 20)  # no moov atom
    images = folder / "images"  # a good frame, then a corrupt one: fails mid-run
    images.mkdir()
    cv2.imwrite(str(images / "0001.png"), np.full((96, 128, 3), 90, np.uint8))
    (images / "0002.png").write_bytes(b"not a png")
    intrinsics = folder / "intrinsics"
    intrinsics.mkdir()
    cv2.imwrite(str(intrinsics / "0001.png"), np.full((96, 128, 3), 90, np.uint8))
    (intrinsics / "intrinsics.json").write_text("{fx: 500")
    return {
        "device": ("record3d", "no iPhone connected"),
        "video": (str(video), "cannot decode video"),
        "image": (str(images), "cannot read image"),
        "intrinsics": (str(intrinsics), "intrinsics.json"),
    }


@pytest.mark.parametrize("case", ["device", "video", "image", "intrinsics"])
def test_failing_source_is_exactly_one_stderr_line(tmp_path: Path, case: str) -> None:
    source, words = _bad_inputs(tmp_path)[case]
    result = subprocess.run([sys.executable, "main.py", "--headless", "--source", source, "--mode", "rgb",
                             "--export", str(tmp_path / "take.csv")],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert not (tmp_path / "take.csv").exists()


def test_frames_without_a_face_are_listed_in_the_report_and_left_out_of_obj(tmp_path: Path) -> None:
    """An image folder whose first picture shows no face: missing_frames [0], no frame_000000.obj."""
    import cv2
    import numpy as np

    portrait = REPO.parent / "shared" / "data" / "real-faces" / "obama.jpg"
    if not portrait.is_file():
        pytest.skip(f"{portrait} is not beside the checkout")
    image = cv2.imread(str(portrait))
    images = tmp_path / "images"
    images.mkdir()
    cv2.imwrite(str(images / "0000.png"), np.full_like(image, 128))
    cv2.imwrite(str(images / "0001.png"), image)
    cv2.imwrite(str(images / "0002.png"), image)
    report = tmp_path / "report.json"
    assert main.main(["--headless", "--source", str(images), "--export", str(tmp_path / "objs") + "/",
                      "--report", str(report)]) == 0
    data = json.loads(report.read_text())
    assert data["frames"] == 3 and data["faces_found"] == 2 and data["missing_frames"] == [0]
    assert sorted(p.name for p in (tmp_path / "objs").iterdir()) == ["frame_000001.obj", "frame_000002.obj"]


def test_exports_left_by_a_killed_run_are_recovered_or_removed_by_the_next(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    exports = ["--export", str(out / "take.abc"), "--export", str(out / "objs") + "/",
               "--export", str(out / "take.csv"), "--export", str(out / "take.jsonl")]
    process = subprocess.Popen([sys.executable, "main.py", "--headless", "--source", "synthetic:seed=1003",
                                "--no-refine", *exports], cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    _wait_for_obj_files(out, 4, process)
    process.kill()  # kill -9: nothing is finished
    process.communicate()
    left = sorted(p.name for p in out.iterdir())
    assert any(name.startswith(".take.abc.") for name in left) and any(name.startswith(".objs.") for name in left)

    again = subprocess.run([sys.executable, "main.py", "--headless", "--source", "synthetic:seed=1003",
                            "--frames", "2", "--no-refine", *exports], cwd=REPO, capture_output=True,
                           text=True, timeout=240)
    assert again.returncode == 0, again.stderr
    assert not list(out.glob(".*")), "every temporary of the killed run is recovered or removed"
    assert "an Alembic export interrupted" in again.stderr
    recovered = [p for p in out.iterdir() if p.name.startswith("objs-recovered-")]
    assert len(recovered) == 1 and "recovered" in again.stderr
    files = sorted(recovered[0].iterdir())
    assert len(files) >= 3
    for path in files:
        assert path.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1].startswith(b"f "), path
    assert len((out / "take.jsonl").read_text().splitlines()) == 2, "the new run's own exports are whole"


def test_recorded_take_rebuilds_the_exported_meshes_exactly(tmp_path: Path, face_model) -> None:
    """The headless take's results log keeps pose and coefficients only; the meshes rebuilt
    from them with the recorded decoder are the ones the run exported."""
    from app.recording import Take
    from models.face_model.obj_reader import read_positions

    assert main.main(["--headless", "--source", "synthetic:seed=1004", "--frames", "3", "--space", "opencv",
                      "--export", str(tmp_path / "objs") + "/", "--record", str(tmp_path / "takes")]) == 0
    results_file = next((tmp_path / "takes").glob("*.results"))
    assert results_file.stat().st_size < 3 * 5000, "no vertices stored (about 2 kB a frame)"
    take = Take.open(results_file)
    assert take.log.header.num_vertices == 0 and len(take.log.header.decoder) == 64
    rebuilt = {r.index: r.vertices for r in take.iter_results(face_model) if r.found}
    assert rebuilt
    for index, vertices in rebuilt.items():
        exported = read_positions(tmp_path / "objs" / f"frame_{index:06d}.obj")
        np.testing.assert_allclose(vertices, exported, atol=6e-7)  # the OBJ's 6 decimals
