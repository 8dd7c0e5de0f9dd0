"""The examples run as documented."""
import runpy
from pathlib import Path

from conftest import PLATE_MODELS, require_models

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_stream_frames_example(capsys, monkeypatch):
    require_models("blazeface_full_range", "centerface", *PLATE_MODELS)
    monkeypatch.setattr("sys.argv", ["stream_frames.py"])  # no file: the drawn scene
    runpy.run_path(str(EXAMPLES / "stream_frames.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert out.startswith("90 frames") and "declared latency 0 frames" in out
    # The drawn plate is found and obscured in every frame: as text, since no vehicle carries it.
    assert "'text': 90" in out


def test_batch_folder_example(tmp_path, capsys, monkeypatch):
    import pytest
    from media import write_video

    require_models("blazeface_full_range", "centerface", *PLATE_MODELS)
    src = tmp_path / "in"
    (src / "day1").mkdir(parents=True)
    write_video(src / "day1" / "a.mp4", frames=5)
    write_video(src / "b.mkv", frames=4, fmt="matroska")
    (src / "broken.mp4").write_bytes(b"not a video")
    monkeypatch.setattr("sys.argv", ["batch_folder.py", str(src), str(tmp_path / "out")])
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(str(EXAMPLES / "batch_folder.py"), run_name="__main__")
    assert stop.value.code == 1  # the broken clip
    out = capsys.readouterr()
    assert out.out.count("redacted:") == 2 and "broken.mp4" in out.err
    assert (tmp_path / "out" / "day1" / "a.mp4").is_file() and (tmp_path / "out" / "b.mp4").is_file()
    with pytest.raises(SystemExit):
        runpy.run_path(str(EXAMPLES / "batch_folder.py"), run_name="__main__")
    assert capsys.readouterr().out.count("already complete") == 2


def test_pi_benchmark_example(capsys):
    require_models("blazeface_full_range", "centerface", *PLATE_MODELS, "demo_astronaut", "demo_lfw_faces")
    import importlib.util

    spec = importlib.util.spec_from_file_location("pi_benchmark", EXAMPLES / "pi_benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--seconds", "0.5", "--no-deface", "--no-startup"]) == 0
    out = capsys.readouterr().out
    # The drawn scene is labelled as such (real footage runs slower; bench says so).
    assert "machine:" in out and "clip 720p drawn scene: 15 frames, decode + encode ceiling" in out
    assert "| 720p drawn scene | pi, every 4 |" in out and "| 720p drawn scene | fast, every 3 |" in out
    assert "verdict 720p drawn scene (30 fps): " in out and "not real footage" in out


def test_share_incident_example(tmp_path, capsys):
    import pytest

    from redact.detectors.models import DEMO_ASSETS, is_installed

    if not all(is_installed(n) for n in DEMO_ASSETS):
        pytest.skip("demo assets not installed: run `redact models fetch`")
    require_models("blazeface_full_range", "centerface", *PLATE_MODELS, "selfie_segmentation")
    import importlib.util

    spec = importlib.util.spec_from_file_location("share_incident", EXAMPLES / "share_incident.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(tmp_path / "out") == 0
    out = capsys.readouterr().out
    assert "verify: verified" in out and "review:" in out
    assert (tmp_path / "out" / "shared.mp4.review.png").is_file()


def test_stream_frames_example_takes_the_files_rate_and_a_live_profile(tmp_path):
    """A 10 fps file's holds are counted at 10 fps, not 30 (they would be three times too
    short), and the example's default is the profile that keeps up with a camera."""
    from fractions import Fraction

    from media import write_video

    clip = tmp_path / "ten.mp4"
    write_video(clip, frames=3, rate=Fraction(10))
    example = runpy.run_path(str(EXAMPLES / "stream_frames.py"))
    assert example["frame_rate"](str(clip)) == 10 and example["frame_rate"]() == 30
    assert example["main"].__defaults__ == (None, "fast")
