"""The hand-labelled vehicles on traffic video (benchmarks/labels/vehicles_video_frames.json):
the file loads, every box lies inside its frame, and 100+ vehicles are scored."""
import json
from pathlib import Path

import pytest

from conftest import shared_data

LABELS = Path(__file__).resolve().parents[1] / "benchmarks" / "labels" / "vehicles_video_frames.json"
#: Frames each clip decodes to (PyAV), the labels' frame indices being 0-based.
FRAMES = {"intel_car-detection.mp4": 377, "theaiguys_license_plate.mp4": 140}
CLASSES = {"car", "van", "bus", "truck", "motorbike"}
REASONS = {"cut", "hidden", "small", "unsure"}


def labels() -> dict:
    return json.loads(LABELS.read_text(encoding="utf-8"))


def objects():
    for name, video in labels()["videos"].items():
        for index, objs in video["frames"].items():
            for obj in objs:
                yield name, video, int(index), obj


def test_label_file_says_how_it_was_made():
    doc = labels()
    assert doc["how"] and doc["about"] and set(doc["videos"]) == set(FRAMES)


def test_boxes_lie_inside_their_frames_and_have_a_size():
    for name, video, index, obj in objects():
        x0, y0, x1, y1 = obj["box"]
        assert 0 <= x0 < x1 <= video["width"] and 0 <= y0 < y1 <= video["height"], (name, index, obj)
        assert 0 <= index < FRAMES[name], (name, index)


def test_fields_and_ignore_reasons():
    for name, _, index, obj in objects():
        assert obj["class"] in CLASSES, (name, index, obj)
        assert isinstance(obj["ignore"], bool)
        assert (obj.get("reason") in REASONS) if obj["ignore"] else "reason" not in obj, (name, index, obj)


def test_over_a_hundred_vehicles_are_scored():
    scored = [obj for *_, obj in objects() if not obj["ignore"]]
    wide = [o for o in scored if o["box"][2] - o["box"][0] >= 40]
    assert len(scored) >= 100 and len(wide) >= 100
    assert all(len(labels()["videos"][name]["frames"]) for name in FRAMES)


def test_frame_sizes_match_the_shared_clips():
    av = pytest.importorskip("av")
    for name, video in labels()["videos"].items():
        path = shared_data() / "videos" / name
        if not path.is_file():
            pytest.skip(f"{path} not found (set REDACT_DATA_DIR)")
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            assert (stream.codec_context.width, stream.codec_context.height) == (video["width"], video["height"])
