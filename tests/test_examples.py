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
    assert out.startswith("90 frames")
    assert "'plate': 90" in out  # the drawn plate is found and obscured in every frame
