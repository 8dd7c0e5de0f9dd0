"""The examples run as documented."""
import runpy
from pathlib import Path

from conftest import require_models

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_stream_frames_example(capsys, monkeypatch):
    require_models("blazeface_full_range", "centerface", "ppocr_det_v4")
    monkeypatch.setattr("sys.argv", ["stream_frames.py"])  # no file: the drawn scene
    runpy.run_path(str(EXAMPLES / "stream_frames.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert out.startswith("90 frames") and "declared latency 0 frames" in out
    assert "'plate': 90" in out  # the drawn plate is found and obscured in every frame


def test_batch_folder_example(tmp_path, capsys, monkeypatch):
    import pytest

    from media import write_video

    require_models("blazeface_full_range", "centerface", "ppocr_det_v4")
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
