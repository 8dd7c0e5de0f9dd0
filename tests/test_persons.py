"""Person detector: head boxes, odd inputs, and recall on real photos and video frames."""
import json

import numpy as np
import pytest

from conftest import require_models, shared_data
from redact import Kind, Regions
from redact.detectors.persons import PersonPlan, head_boxes
from redact.geometry import pad_boxes, pixel_boxes
from redact.policy import Profile

MODEL = "selfie_segmentation"


@pytest.fixture(scope="module")
def detectors():
    require_models(MODEL)
    from redact.detectors.persons import PersonDetector

    return {p: PersonDetector(p) for p in Profile}


def test_head_boxes_sit_on_top_of_their_person():
    rng = np.random.default_rng(0)
    xy = rng.uniform(-50, 500, (200, 2)).astype(np.float32)
    wh = rng.uniform(0, 300, (200, 2)).astype(np.float32)
    people = np.concatenate([xy, xy + wh], axis=1)
    heads = head_boxes(people, 0.25)
    np.testing.assert_array_equal(heads[:, [0, 1, 2]], people[:, [0, 1, 2]])   # full width, from the top
    assert np.all(heads[:, 3] <= people[:, 3])                                 # never below the person
    height = people[:, 3] - people[:, 1]
    assert np.all(heads[:, 3] - heads[:, 1] >= np.minimum(0.25 * height, height) - 1e-3)


def test_head_box_of_standing_and_wide_boxes():
    standing, seated, group = head_boxes(np.array([[0, 0, 40, 100], [0, 0, 80, 100], [0, 0, 400, 100]],
                                                  np.float32), 0.25)
    assert standing[3] == pytest.approx(25.0)      # the top quarter
    assert seated[3] == pytest.approx(50.0)        # grows with the width
    assert group[3] == pytest.approx(100.0)        # head position unknown: the whole box


@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 5, 3), (5, 7, 3), (480, 640, 3), (33, 2000, 3)])
@pytest.mark.parametrize("profile", list(Profile))
def test_blank_and_odd_frames_give_nothing(detectors, profile, shape):
    for value in (0, 128, 255):
        regions = detectors[profile].detect(np.full(shape, value, np.uint8))
        assert isinstance(regions, Regions) and len(regions) == 0


def test_attributes_and_bad_input(detectors):
    det = detectors[Profile.FAST]
    assert det.kinds == (Kind.PERSON, Kind.FACE)
    assert det.models == (MODEL,)
    with pytest.raises(ValueError, match="uint8"):
        det.detect(np.zeros((8, 8, 3), np.int16))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        det.detect(np.zeros((8, 8, 4), np.uint8))


def test_hog_only_plan_needs_no_model(tmp_path):
    from redact.detectors.persons import PersonDetector

    det = PersonDetector(models_dir=tmp_path, plan=PersonPlan(segment_grids=(), hog_upscale=1.0))
    assert det.models == ()
    assert len(det.detect(np.zeros((200, 100, 3), np.uint8))) == 0


def test_missing_model_says_how_to_fetch(tmp_path):
    from redact.detectors.persons import PersonDetector
    from redact.models import ModelMissingError

    with pytest.raises(ModelMissingError, match="redact models fetch selfie_segmentation"):
        PersonDetector("fast", models_dir=tmp_path)


def hidden(regions_xyxy, shape, pad=0.1) -> np.ndarray:
    """Mask of the pixels under the boxes grown by the default style padding."""
    mask = np.zeros(shape[:2], bool)
    for x0, y0, x1, y1 in pixel_boxes(pad_boxes(regions_xyxy, pad), shape[1], shape[0]):
        mask[y0:y1, x0:x1] = True
    return mask


def share_hidden(mask, bbox) -> float:
    x, y, w, h = (round(v) for v in bbox)
    sub = mask[max(0, y):y + h, max(0, x):x + w]
    return float(sub.mean()) if sub.size else 1.0


def check_output(regions: Regions, frame_before, frame):
    """Properties every result has: input untouched, one head per person, inside it."""
    np.testing.assert_array_equal(frame, frame_before)
    people, heads = regions.of_kind(Kind.PERSON), regions.of_kind(Kind.FACE)
    assert len(people) == len(heads) and len(people) + len(heads) == len(regions)
    np.testing.assert_array_equal(heads.xyxy, head_boxes(people.xyxy, 0.25))


@pytest.fixture
def people_dir():
    path = shared_data() / "people"
    if not (path / "coco_val2017" / "gt_boxes.json").is_file():
        pytest.skip(f"evaluation data not found at {path} (set REDACT_DATA_DIR)")
    return path


def test_coco_recall(detectors, people_dir):
    """All 64 COCO photos: balanced hides >= 85% of people 64 px and taller (measured 0.94)."""
    import cv2

    root = people_dir / "coco_val2017"
    images = json.loads((root / "gt_boxes.json").read_text())["images"]
    hits = []
    for rel, info in sorted(images.items()):
        frame = np.ascontiguousarray(cv2.imread(str(root / rel))[:, :, ::-1])
        before = frame.copy()
        regions = detectors[Profile.BALANCED].detect(frame)
        check_output(regions, before, frame)
        mask = hidden(regions.of_kind(Kind.PERSON).xyxy, frame.shape)
        hits += [share_hidden(mask, b["bbox"]) >= 0.8 for b in info["boxes"]
                 if not b["ignore"] and b["bbox"][3] >= 64]
    assert len(hits) > 50 and np.mean(hits) >= 0.85


def test_pets_recall_and_heads(detectors, people_dir):
    """Every 50th of the first 400 frames of PETS09-S2L1: people and their heads hidden."""
    import cv2

    root = people_dir / "pets09_s2l1"
    video = shared_data() / "videos" / "opencv_vtest_pedestrians.avi"
    if not video.is_file():
        pytest.skip(f"{video} not found")
    truth = json.loads((root / "gt_boxes.json").read_text())["images"]
    capture = cv2.VideoCapture(str(video))
    people, heads = [], []
    for index in range(1, 401):
        ok, bgr = capture.read()
        assert ok, f"could not decode frame {index} of {video}"
        if index % 50 != 1:
            continue
        frame = np.ascontiguousarray(bgr[:, :, ::-1])
        regions = detectors[Profile.BALANCED].detect(frame)
        person_mask = hidden(regions.of_kind(Kind.PERSON).xyxy, frame.shape)
        head_mask = hidden(regions.of_kind(Kind.FACE).xyxy, frame.shape)
        for box in truth[f"PETS09-S2L1/{index:06d}"]["boxes"]:
            if box["ignore"]:
                continue
            x, y, w, h = box["bbox"]
            people.append(share_hidden(person_mask, box["bbox"]) >= 0.8)
            # The head: the top 15% of the annotated box, its middle 60%.
            heads.append(share_hidden(head_mask, (x + 0.2 * w, y, 0.6 * w, 0.15 * h)) >= 0.8)
    assert len(people) > 30
    assert np.mean(people) >= 0.9 and np.mean(heads) >= 0.9
