"""The recogniser check on plate boxes: text is kept, a texture the text detector fires on is not."""
import dataclasses

import numpy as np
import pytest

from conftest import PLATE_MODELS, require_models
from redact.core.profile import Profile
from redact.detectors.plates import PLANS, TEXT_MODEL, PlateDetector
from redact.detectors.text_reader import REC_KEYS, REC_MODEL, TextReader


@pytest.fixture(scope="module")
def reader():
    require_models(REC_MODEL, REC_KEYS)
    return TextReader()


def rendered_text(text, size=(60, 240)):
    import cv2

    crop = np.full((*size, 3), 240, np.uint8)
    cv2.putText(crop, text, (8, size[0] - 16), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (10, 10, 10), 3, cv2.LINE_AA)
    return crop


def dot_texture(seed=0):
    """Dark dots on grey, like a crowd far away or a knit: the text detector fires on it."""
    import cv2

    rng = np.random.default_rng(seed)
    frame = np.full((360, 640, 3), 150, np.uint8)
    for y in range(20, 340, 20):
        for x in range(20, 620, 20):
            cv2.circle(frame, (x + int(rng.integers(-2, 3)), y + int(rng.integers(-2, 3))), 5, (40, 40, 40), -1)
    return frame


def whole(frame):
    h, w = frame.shape[:2]
    return np.array([[0, 0, w, h]], np.float32)


def test_reads_a_plate_and_not_a_texture(reader):
    plate = rendered_text("7ABC123")
    [(text, probs)] = reader.read(plate, whole(plate))
    assert text.replace(" ", "") == "7ABC123" and probs.min() > 0.5
    assert reader.legible(plate, whole(plate)).tolist() == [True]
    dots = dot_texture()[40:70, 40:200]
    assert reader.legible(dots, whole(dots)).tolist() == [False]


def test_empty_and_tiny_boxes_read_as_nothing(reader):
    frame = rendered_text("AB12")
    boxes = np.array([[0, 0, 1, 1], [300, 300, 400, 400], [-50, -50, -10, -10]], np.float32)
    assert [t for t, _ in reader.read(frame, boxes)] == ["", "", ""]
    assert reader.legible(frame, boxes).tolist() == [False, False, False]
    assert reader.read(frame, np.zeros((0, 4), np.float32)) == []


def test_many_boxes_read_like_one_at_a_time(reader):
    """Batching pads crops of different widths: each must read as it does alone (each alone
    in a reader of its own, which remembers no earlier reading)."""
    crops = [rendered_text(t, (60, w)) for t, w in (("AB12", 120), ("7ABC123", 240), ("XY 98 ZK", 300))]
    frame = np.full((200, 700, 3), 240, np.uint8)
    boxes, x = [], 0
    for crop in crops:
        frame[:60, x:x + crop.shape[1]] = crop
        boxes.append([x, 0, x + crop.shape[1], 60])
        x += crop.shape[1] + 10
    boxes = np.array(boxes, np.float32)
    together = [t for t, _ in reader.read(frame, boxes)]
    alone = [TextReader().read(frame, boxes[i:i + 1])[0][0] for i in range(len(boxes))]
    assert together == alone and together[1].replace(" ", "") == "7ABC123"


def _covered(regions, shape):
    """Pixels under any of the regions' boxes."""
    covered = np.zeros(shape[:2], bool)
    for x0, y0, x1, y1 in regions.xyxy.astype(int):
        covered[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] = True
    return covered


def test_the_check_drops_texture_and_keeps_plates():
    """Without the check the text detector covers much of a dot texture; with it (and a
    reading budget large enough for every dot), far less, and a plate on the texture stays
    covered."""
    import cv2

    require_models(*PLATE_MODELS)
    texture = dot_texture()
    plan = PLANS[Profile.BALANCED]
    unchecked = PlateDetector("balanced", plan=dataclasses.replace(plan, read_check=False))
    checked = PlateDetector("balanced", plan=dataclasses.replace(plan, read_max=10_000))
    assert _covered(checked.detect(texture), texture.shape).mean() < \
        0.6 * _covered(unchecked.detect(texture), texture.shape).mean()
    frame = texture.copy()
    cv2.rectangle(frame, (420, 250), (620, 300), (250, 250, 250), -1)
    cv2.putText(frame, "KL3 B8K", (432, 288), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (10, 10, 10), 3, cv2.LINE_AA)
    assert _covered(checked.detect(frame), frame.shape)[250:300, 420:620].mean() >= 0.8


def test_reading_budget_keeps_the_rest_obscured():
    """Past ``read_max`` reads a frame's remaining text is kept, not dropped (fail closed)."""
    require_models(*PLATE_MODELS)
    frame = dot_texture()
    plan = PLANS[Profile.BALANCED]
    unread = PlateDetector("balanced", plan=dataclasses.replace(plan, read_check=False)).detect(frame)
    budget0 = PlateDetector("balanced", plan=dataclasses.replace(plan, read_max=0)).detect(frame)
    assert len(budget0) == len(unread) and np.allclose(budget0.xyxy, unread.xyxy)


def test_the_recogniser_is_on_record():
    from redact.detectors import describe_models

    require_models(*PLATE_MODELS)
    names = {m["name"]: m for m in describe_models([PlateDetector("balanced")])}
    assert names[REC_MODEL]["runtime"] == "onnxruntime" and names[REC_MODEL]["sha256"]
    assert REC_KEYS in names


def test_without_onnxruntime_every_text_box_is_kept(monkeypatch):
    """Where ONNX Runtime has no wheel (32-bit Pi OS) the check cannot run: the detector keeps
    every box (more obscured, never less) and lists no recogniser."""
    from redact.detectors import runtime

    require_models(*PLATE_MODELS)
    frame = dot_texture()
    monkeypatch.setattr(runtime, "onnxruntime_available", lambda: False)
    detector = PlateDetector("balanced")
    unchecked = PlateDetector("balanced", plan=dataclasses.replace(PLANS[Profile.BALANCED], read_check=False))
    assert not detector.read_check and REC_MODEL not in detector.models
    assert detector.runtimes == {TEXT_MODEL: "cv2.dnn"}
    assert len(detector.detect(frame)) == len(unchecked.detect(frame)) > 0


def test_text_legible_in_the_previous_frame_is_kept_unread():
    """In a video the same text moves a little between frames: where legible text was, a box
    is kept without reading it again (kept, never dropped: at most over-redaction)."""
    import cv2

    require_models(*PLATE_MODELS)
    frame = np.full((360, 640, 3), 120, np.uint8)
    cv2.rectangle(frame, (200, 150), (420, 205), (250, 250, 250), -1)
    cv2.putText(frame, "KL3 B8K", (212, 190), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (10, 10, 10), 3, cv2.LINE_AA)
    moved = np.roll(frame, 3, axis=1)
    detector = PlateDetector("balanced")
    reads = []
    read = detector._check.reader.read
    detector._check.reader.read = lambda f, boxes: reads.append(len(boxes)) or read(f, boxes)
    assert len(detector.detect(frame)) and reads
    reads.clear()
    assert len(detector.detect(moved)) and not reads
    # Another frame size is another clip: everything is read again.
    detector.detect(np.ascontiguousarray(np.pad(moved, ((0, 8), (0, 0), (0, 0)))))
    assert reads


def test_a_crop_read_lately_is_not_read_again():
    """Still text in a video is read once: the same look takes the earlier reading, another
    look is read."""
    plate = rendered_text("7ABC123")
    other = rendered_text("XY98ZK")
    reader = TextReader()
    calls = []
    forward = reader._net.forward
    reader._net.forward = lambda blob: calls.append(len(blob)) or forward(blob)
    first = reader.read(plate, whole(plate))
    assert calls == [1]
    assert reader.read(plate.copy(), whole(plate)) == first and calls == [1]
    assert reader.read(other, whole(other))[0][0].replace(" ", "") == "XY98ZK" and calls == [1, 1]
