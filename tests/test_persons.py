"""Person detector: instances, head boxes, odd inputs, and recall on real photos and video frames."""
import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from conftest import DETECTOR_PROFILES, PLATE_MODELS, require_models, shared_data
from redact import Kind, Regions
from redact.core.geometry import pad_boxes, pixel_boxes
from redact.core.profile import Profile
from redact.core.types import BODIES
from redact.detectors.persons import PLANS, PersonPlan, head_boxes, person_instances, suppress

MODEL = "selfie_segmentation"
#: The instance detector's networks (`redact.detectors.objects`): NanoDet-g in every profile,
#: the SSD and its class names in thorough.
SSD_MODELS = ("ssd_mobilenetv2_oidv4", "ssd_oidv4_labelmap")
INSTANCE_MODELS = ("nanodet_g_416", *SSD_MODELS)


@pytest.fixture(scope="module")
def detectors():
    require_models(MODEL, *INSTANCE_MODELS)
    from redact.detectors.persons import PersonDetector

    return {p: PersonDetector(p) for p in DETECTOR_PROFILES}


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
@pytest.mark.parametrize("profile", DETECTOR_PROFILES)
def test_blank_and_odd_frames_give_nothing(detectors, profile, shape):
    for value in (0, 128, 255):
        regions = detectors[profile].detect(np.full(shape, value, np.uint8))
        assert isinstance(regions, Regions) and len(regions) == 0


def test_attributes_and_bad_input(detectors):
    det = detectors[Profile.FAST]
    assert det.kinds == (Kind.PERSON, Kind.FACE, Kind.SILHOUETTE)
    assert det.models == (MODEL, "nanodet_g_416")
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
    from redact.detectors.models import ModelMissingError
    from redact.detectors.persons import PersonDetector

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
    """Properties every result has: input untouched, one head per person row (not per
    silhouette: one is obscured whole as a body, and its head end beside a kept subject hid
    the subject), inside it; persons, then silhouettes."""
    np.testing.assert_array_equal(frame, frame_before)
    bodies, heads = bodies_of(regions), regions.of_kind(Kind.FACE)
    people = regions.of_kind(Kind.PERSON)
    assert len(people) == len(heads) and len(bodies) + len(heads) == len(regions)
    np.testing.assert_array_equal(heads.xyxy, head_boxes(people.xyxy, 0.25))
    # Persons first, then silhouettes.
    assert np.all(np.diff((bodies.kind == Kind.SILHOUETTE).astype(int)) >= 0)


def bodies_of(regions: Regions) -> Regions:
    """The rows hidden as bodies: persons and the mask's rest (`redact.core.types.BODIES`)."""
    return regions.select(np.isin(regions.kind, BODIES))


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
        mask = hidden(bodies_of(regions).xyxy, frame.shape)
        hits += [share_hidden(mask, b["bbox"]) >= 0.8 for b in info["boxes"]
                 if not b["ignore"] and b["bbox"][3] >= 64]
    assert len(hits) > 50 and np.mean(hits) >= 0.85


def pets_frames(people_dir, every: int):
    """RGB frame and annotated ``x, y, w, h`` people (ignored ones left out) of every
    ``every``-th of the first 400 frames of PETS09-S2L1, from frame 1."""
    import cv2

    root = people_dir / "pets09_s2l1"
    video = shared_data() / "videos" / "opencv_vtest_pedestrians.avi"
    if not video.is_file():
        pytest.skip(f"{video} not found")
    truth = json.loads((root / "gt_boxes.json").read_text())["images"]
    capture = cv2.VideoCapture(str(video))
    for index in range(1, 401):
        ok, bgr = capture.read()
        assert ok, f"could not decode frame {index} of {video}"
        if index % every != 1:
            continue
        yield (np.ascontiguousarray(bgr[:, :, ::-1]),
               [b["bbox"] for b in truth[f"PETS09-S2L1/{index:06d}"]["boxes"] if not b["ignore"]])


def test_pets_recall_and_heads(detectors, people_dir):
    """Every 50th of the first 400 frames of PETS09-S2L1: people and their heads hidden."""
    people, heads = [], []
    for frame, gt in pets_frames(people_dir, 50):
        regions = detectors[Profile.BALANCED].detect(frame)
        person_mask = hidden(bodies_of(regions).xyxy, frame.shape)
        head_mask = hidden(regions.of_kind(Kind.FACE).xyxy, frame.shape)
        for x, y, w, h in gt:
            people.append(share_hidden(person_mask, (x, y, w, h)) >= 0.8)
            # The head: the top 15% of the annotated box, its middle 60%.
            heads.append(share_hidden(head_mask, (x + 0.2 * w, y, 0.6 * w, 0.15 * h)) >= 0.8)
    assert len(people) > 30
    assert np.mean(people) >= 0.9 and np.mean(heads) >= 0.9


# --- instances ---------------------------------------------------------------------------

def ref_split(labels, seeds, seed_label, reach):
    """Slow reference of `split_components`: every pixel against every seed of its part."""
    h, w = labels.shape
    owner = np.zeros((h, w), np.int32)
    for y in range(h):
        for x in range(w):
            lab = labels[y, x]
            if lab <= 0:
                continue
            best, best_d = -1, reach
            for k, (x0, y0, x1, y1) in enumerate(seeds):
                if seed_label[k] != lab:
                    continue
                d = max(abs(x + 0.5 - (x0 + x1) / 2) / ((x1 - x0) / 2),
                        abs(y + 0.5 - (y0 + y1) / 2) / ((y1 - y0) / 2))
                if d <= best_d and (best < 0 or d < best_d):
                    best, best_d = k, d
            owner[y, x] = best + 1
    extent = np.tile(np.array([w, h, 0, 0], np.int32), (len(seeds), 1))
    count = np.zeros(len(seeds), np.int64)
    for k in range(len(seeds)):
        ys, xs = np.nonzero(owner == k + 1)
        count[k] = len(xs)
        if len(xs):
            extent[k] = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    return owner, extent, count


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("seed", range(6))
def test_split_components_matches_reference(compiled, seed):
    import cv2

    from redact._kernels.components import split_components

    rng = np.random.default_rng(seed)
    mask = (rng.random((40, 50)) < 0.55).astype(np.uint8)
    n, labels = cv2.connectedComponents(mask, connectivity=8, ltype=cv2.CV_32S)
    k = int(rng.integers(0, 6))
    xy = rng.uniform(-5, 45, (k, 2))
    seeds = np.concatenate([xy, xy + rng.uniform(1, 20, (k, 2))], axis=1)
    seed_label = rng.integers(-1, n, k).astype(np.int64)
    reach = float(rng.choice([0.8, 1.0, 1.5]))
    owner = np.full_like(labels, -7)
    extent = np.zeros((k, 4), np.int32)
    count = np.zeros(k, np.int64)
    fn = split_components if compiled else getattr(split_components, "py_func", split_components)
    fn(labels, n, seeds, seed_label, reach, owner, extent, count)
    want = ref_split(labels, seeds, seed_label, reach)
    np.testing.assert_array_equal(owner, want[0])
    np.testing.assert_array_equal(extent, want[1])
    np.testing.assert_array_equal(count, want[2])


def test_suppress_keeps_one_box_per_person():
    boxes = np.array([[0, 0, 20, 60], [2, 3, 19, 55], [1, 0, 21, 62], [40, 0, 60, 60]], np.float32)
    assert suppress(boxes, np.array([0.6, 0.9, 0.7, 0.5], np.float32), 0.4).tolist() == [1, 3]
    assert suppress(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), 0.4).tolist() == []


def covered(xyxy, shape):
    mask = np.zeros(shape, bool)
    for x0, y0, x1, y1 in xyxy:
        rows = slice(max(0, int(np.floor(y0))), max(0, int(np.ceil(y1))))
        mask[rows, max(0, int(np.floor(x0))):max(0, int(np.ceil(x1)))] = True
    return mask


def two_blobs():
    """A map of two people joined at the hands, and a third person apart."""
    prob = np.zeros((120, 160), np.float32)
    prob[20:100, 20:40] = 0.9       # person A
    prob[22:102, 60:80] = 0.8       # person B
    prob[60:64, 40:60] = 0.6        # hands joining A and B
    prob[30:90, 120:135] = 0.7      # person C
    return prob


def test_one_part_two_seeds_gives_two_instances():
    plan = PLANS[Profile.BALANCED]
    seeds = np.array([[20, 20, 40, 100], [60, 22, 80, 102]], np.float32)
    xyxy, score, seeded = person_instances(two_blobs(), 1.0, seeds, np.array([0.9, 0.8], np.float32), plan)
    assert seeded.tolist()[:2] == [True, True] and seeded.sum() == 2
    np.testing.assert_array_equal(xyxy[0], [20, 20, 40, 100])
    np.testing.assert_array_equal(xyxy[1], [60, 22, 80, 102])
    rest = xyxy[~seeded]
    assert [20, 20, 80, 102] not in rest.tolist()                     # the joined part is split
    assert [120, 30, 135, 90] in rest.tolist()                        # C, unseeded, whole
    assert np.all(covered(xyxy, (120, 160))[two_blobs() > plan.segment_threshold])


def test_unseeded_part_is_one_row_and_lone_small_seed_is_dropped():
    plan = PLANS[Profile.BALANCED]
    prob = np.zeros((200, 100), np.float32)
    prob[10:190, 20:80] = 0.9
    detail = np.array([[40, 100, 60, 140]], np.float32)              # a HOG hit on a limb
    xyxy, _, seeded = person_instances(prob, 1.0, detail, np.array([0.7], np.float32), plan)
    assert xyxy.tolist() == [[20, 10, 80, 190]] and not seeded.any()
    # The same map at half scale: boxes come back in frame pixels.
    xyxy, _, _ = person_instances(prob, 0.5, np.zeros((0, 4), np.float32), np.zeros(0, np.float32), plan)
    assert xyxy.tolist() == [[40, 20, 160, 380]]
    # Seeds off the map are instances as they are; no map at all: only the seeds.
    off = np.array([[0, 0, 5, 9]], np.float32)
    assert person_instances(prob, 1.0, off, np.array([0.5], np.float32), plan)[0].tolist()[0] == [0, 0, 5, 9]
    assert person_instances(None, 1.0, off, np.array([0.5], np.float32), plan)[0].tolist() == [[0, 0, 5, 9]]


def astronaut():
    skimage = pytest.importorskip("skimage")
    return np.ascontiguousarray(skimage.data.astronaut())


def big_rows(regions, min_height):
    people = regions.of_kind(Kind.PERSON)
    return people.xyxy[people.xyxy[:, 3] - people.xyxy[:, 1] >= min_height]


@pytest.mark.parametrize("profile", DETECTOR_PROFILES)
def test_astronaut_is_one_instance(detectors, profile):
    """scikit-image's astronaut (a real photo): one box over her body, not dozens of tiles."""
    frame = astronaut()
    before = frame.copy()
    regions = detectors[profile].detect(frame)
    check_output(regions, before, frame)
    people = regions.of_kind(Kind.PERSON)
    big = big_rows(regions, 256)
    assert len(big) == 1, people.xyxy
    x0, y0, x1, y1 = big[0]
    # Her helmet, face and torso (she fills most of the photo); the mask past her box (the
    # flag, her arm) comes as silhouettes, so the bodies together reach further.
    assert x0 <= 140 and y0 <= 40 and x1 >= 350 and y1 >= 500
    assert bodies_of(regions).xyxy[:, 2].max() >= 400
    assert len(people) <= 10


@pytest.mark.parametrize("profile", DETECTOR_PROFILES)
def test_two_people_are_two_instances(detectors, profile):
    frame = np.full((512, 512 * 2 + 160, 3), 128, np.uint8)
    frame[:, :512] = astronaut()
    frame[:, 512 + 160:] = astronaut()
    big = big_rows(detectors[profile].detect(frame), 256)
    assert len(big) == 2, big
    left, right = sorted(big.tolist())
    # Each over most of one photo, neither reaching into the other (her suit ends about 365 px
    # from the photo's left edge; the helmet she holds, further right, is not her).
    assert left[0] <= 140 and 340 <= left[2] <= 512 + 80
    assert 512 + 80 <= right[0] <= 512 + 160 + 140 and right[2] >= 512 + 160 + 350


def test_pets_people_are_instances(detectors, people_dir):
    """Every 40th of the first 400 PETS frames: most people have their own box (IoU >= 0.5)."""
    from redact.pipeline.tracking import Tracker

    found, rows, persons = [], 0, 0
    for frame, gt in pets_frames(people_dir, 40):
        regions = detectors[Profile.BALANCED].detect(frame)
        people = regions.of_kind(Kind.PERSON)
        out = Tracker().update(regions)
        np.testing.assert_array_equal(out.xyxy[:len(regions)], regions.xyxy)
        for x, y, w, h in gt:
            ix = np.minimum(people.xyxy[:, 2], x + w) - np.maximum(people.xyxy[:, 0], x)
            iy = np.minimum(people.xyxy[:, 3], y + h) - np.maximum(people.xyxy[:, 1], y)
            inter = np.clip(ix, 0, None) * np.clip(iy, 0, None)
            area = (people.xyxy[:, 2] - people.xyxy[:, 0]) * (people.xyxy[:, 3] - people.xyxy[:, 1])
            found.append(bool(np.any(inter >= 0.5 * (area + w * h - inter))))
        rows += len(people)
        persons += len(gt)
    assert len(found) > 30
    assert np.mean(found) >= 0.7


# --- heads in the default mode -------------------------------------------------------------

def test_default_kinds_add_heads_in_balanced_and_thorough_only():
    from redact.detectors import build_detectors
    from redact.detectors.persons import HeadDetector

    require_models("centerface", "blazeface_full_range")
    for profile, heads in ((Profile.FAST, False), (Profile.PI, False), (Profile.BALANCED, True),
                           (Profile.THOROUGH, True)):
        found = [type(d) for d in build_detectors({Kind.FACE}, profile)]
        assert (HeadDetector in found) is heads, profile
    # With whole bodies on, the person detector gives the heads itself.
    require_models(MODEL)
    assert HeadDetector not in [type(d) for d in build_detectors({Kind.FACE, Kind.PERSON})]


def test_a_face_found_in_an_arms_out_head_box_is_its_face():
    """A person with arms out (box 2.5x as wide as their shoulders): their found face is a
    fifth of the head box's width, and the head box (a full-width slab) is left to it. A face
    a tenth of the width is one of several people, and a head that holds none stays."""
    from redact.detectors.persons import found_as_faces

    heads = head_boxes(np.array([[0, 0, 100, 160], [0, 0, 200, 160], [300, 0, 380, 200]], np.float32), 0.25)
    faces = np.array([[40, 5, 60, 30], [90, 5, 110, 30]], np.float32)   # 0.2 and 0.1 of their heads
    assert found_as_faces(heads, faces, np.array([0.9, 0.9])).tolist() == [True, False, False]
    # A face the detector half-believes (its smallest boxes on heads seen from above) leaves the head box.
    assert found_as_faces(heads, faces, np.array([0.3, 0.3])).tolist() == [False, False, False]


def test_head_detector_hides_pets_heads_and_not_bodies(people_dir):
    """Every 50th of the first 400 PETS09 frames (people 64-128 px tall, seen from above and
    behind): with the head detector beside the face detector, most heads are hidden (the face
    detector alone hid 12% of them on 50 frames, with heads 80%; 0.6 while its least sure
    faces dropped the head boxes around them), and no body."""
    from redact.detectors import build_detectors, detect_all

    require_models("centerface", "blazeface_full_range")
    detectors = build_detectors({Kind.FACE}, Profile.BALANCED)
    heads, legs = [], []
    for frame, gt in pets_frames(people_dir, 50):
        regions = detect_all(detectors, frame)
        assert set(regions.kind.tolist()) <= {int(Kind.FACE)}
        mask = hidden(regions.xyxy, frame.shape)
        heads += [share_hidden(mask, (x + 0.2 * w, y, 0.6 * w, 0.15 * h)) >= 0.8 for x, y, w, h in gt]
        legs += [share_hidden(mask, (x, y + 0.5 * h, w, 0.5 * h)) for x, y, w, h in gt]
    assert len(heads) > 30 and np.mean(heads) >= 0.85, np.mean(heads)
    # The bodies stay visible: the lower half of a person is hardly covered.
    assert np.mean(legs) < 0.2


def test_hog_pixel_budget_lowers_the_scale_and_maps_boxes_back(people_dir):
    """A PETS frame blown up 2x (1536x1152), under a budget of 1 M pixels: HOG sees it at
    0.75x, exactly as a plan that asks for 0.75x does (and not at the 1.5x asked for), and
    the head boxes land on the people's heads (the scale undone is the one applied)."""
    import cv2

    from redact.detectors.persons import HeadDetector

    def heads_with(**hog):
        return HeadDetector(plan=PersonPlan(segment_grids=(), hog_threshold=0.0, **hog))

    budget = heads_with(hog_upscale=1.5, hog_pixels=int(1536 * 1152 * 0.75 ** 2))
    assert budget.models == ()
    frame, gt = next(pets_frames(people_dir, 50))
    big = cv2.resize(frame, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)
    found = budget.detect(big).xyxy
    np.testing.assert_allclose(found, heads_with(hog_upscale=0.75).detect(big).xyxy, atol=1e-3)
    unbounded = heads_with(hog_upscale=1.5).detect(big).xyxy
    assert found.shape != unbounded.shape or not np.allclose(found, unbounded, atol=1e-3)
    mask = hidden(found, big.shape)
    heads = [share_hidden(mask, (2 * (x + 0.2 * w), 2 * y, 1.2 * w, 0.3 * h)) >= 0.8 for x, y, w, h in gt]
    assert np.mean(heads) >= 0.5


def test_unboxed_parts_are_the_mask_outside_the_padded_boxes():
    """Mask pixels within the style's padding of a box are the box's; an arm past the
    padding and someone the boxes missed come out as parts; together they cover the mask."""
    from redact.detectors.persons import unboxed_parts

    plan = PLANS[Profile.BALANCED]
    prob = np.zeros((200, 300), np.float32)
    prob[20:120, 20:60] = 0.9          # person A, boxed
    prob[60:70, 60:64] = 0.9           # A's elbow, inside the 10% padding (4 px of a 40 px box)
    prob[60:70, 60:80] = 0.9           # A's arm, past the padding
    prob[150:190, 200:220] = 0.9       # someone the SSD missed
    boxes = np.array([[20, 20, 60, 120], [100, 20, 140, 120]], np.float32)   # B: no mask
    xyxy, score = unboxed_parts(prob, 1.0, boxes, plan)
    assert sorted(xyxy.tolist()) == [[64, 60, 80, 70], [200, 150, 220, 190]]
    assert np.allclose(score, 0.9)
    covered = hidden(np.concatenate([boxes, xyxy]), prob.shape, pad=plan.cover_pad)
    assert covered[prob > plan.segment_threshold].all()
    # At another map scale the parts come back in frame pixels, never smaller.
    half, _ = unboxed_parts(prob[::2, ::2], 0.5, boxes, plan)
    assert any(b[0] <= 200 and b[1] <= 150 and b[2] >= 220 and b[3] >= 190 for b in half.tolist())
    assert unboxed_parts(None, 1.0, boxes, plan)[0].shape == (0, 4)


def test_a_sprawling_part_is_given_as_boxes_along_it_that_still_cover_it():
    """A mask part along a kerb (a diagonal strip) was one rectangle over the whole scene
    between its ends; its pieces cover every pixel of it and a fraction of that rectangle."""
    from redact.detectors.persons import unboxed_parts

    plan = PLANS[Profile.BALANCED]
    prob = np.zeros((240, 320), np.float32)
    for x in range(40, 280):           # a strip 6 px thick, from (40, 20) down to (280, 200)
        y = 20 + (x - 40) * 3 // 4
        prob[y:y + 6, x] = 0.9
    prob[100:140, 20:36] = 0.9         # a compact part stays one box
    xyxy, score = unboxed_parts(prob, 1.0, np.zeros((0, 4), np.float32), plan)
    mask = prob > plan.segment_threshold
    assert hidden(xyxy, prob.shape, pad=0.0)[mask].all()
    area = float(((xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])).sum())
    assert area < 0.25 * 240 * 185     # the strip's rectangle, 240 x 185 px
    assert [20, 100, 36, 140] in xyxy.tolist() and np.allclose(score, 0.9)
    whole, _ = unboxed_parts(prob, 1.0, np.zeros((0, 4), np.float32), replace(plan, part_fill=0.0))
    assert sorted(whole.tolist()) == [[20, 100, 36, 140], [40, 20, 280, 205]]


@settings(deadline=None, max_examples=200)
@given(mask=arrays(np.bool_, st.tuples(st.integers(1, 48), st.integers(1, 48))),
       fill=st.floats(0, 1), min_side=st.integers(1, 20), max_pieces=st.integers(1, 40))
def test_tight_pieces_hold_every_pixel_within_the_budget(mask, fill, min_side, max_pieces):
    from redact.detectors.persons import tight_pieces

    pieces = tight_pieces(mask, fill, min_side, max_pieces)
    covered = np.zeros_like(mask)
    for x0, y0, x1, y1 in pieces.tolist():
        assert 0 <= x0 < x1 <= mask.shape[1] and 0 <= y0 < y1 <= mask.shape[0]
        assert mask[y0:y1, x0:x1].any()
        covered[y0:y1, x0:x1] = True
    assert covered[mask].all()
    assert len(pieces) <= max_pieces and (len(pieces) > 0) == mask.any()


def test_a_lattice_like_mask_gives_a_bounded_number_of_rows():
    """Every piece is a row the tracker pairs with every other: a mask of thin lines (4 000
    pieces without a budget) gives at most `FRAME_PIECES` rows beside its whole parts."""
    from redact.detectors.persons import FRAME_PIECES, unboxed_parts

    prob = np.zeros((576, 1024), np.float32)
    prob[::17] = 0.9
    prob[:, ::17] = 0.9
    prob[300:400:3, 600:700:3] = 0.9   # specks: many small parts besides the lattice
    xyxy, _ = unboxed_parts(prob, 1.0, np.zeros((0, 4), np.float32), PLANS[Profile.BALANCED])
    assert len(xyxy) <= FRAME_PIECES + 34 * 34
    assert hidden(xyxy, prob.shape, pad=0.0)[prob > 0.5].all()


def test_person_rows_come_from_the_box_networks_with_vehicles_on_request(people_dir):
    require_models(MODEL, *INSTANCE_MODELS)
    import cv2

    from redact.detectors.persons import PersonDetector

    root = people_dir / "coco_val2017"
    rel = sorted(json.loads((root / "gt_boxes.json").read_text())["images"])[0]
    frame = np.ascontiguousarray(cv2.imread(str(root / rel))[:, :, ::-1])
    plain = PersonDetector("fast").detect(frame)
    both = PersonDetector("fast", vehicles=True)
    assert both.kinds == (Kind.PERSON, Kind.FACE, Kind.SILHOUETTE, Kind.VEHICLE)
    with_vehicles = both.detect(frame)
    np.testing.assert_array_equal(with_vehicles.select(with_vehicles.kind != Kind.VEHICLE).xyxy, plain.xyxy)
    assert Kind.VEHICLE not in plain.kind.tolist()


def test_a_close_speakers_head_is_left_to_the_face_the_face_detector_found(data_dir):
    # Hamilton, frame 120: one man at the microphone, his box cut by the frame's bottom. His
    # head box grew to a 352 x 220 slab over his shoulders and hand; his face is found.
    from media import read_video

    import redact
    from redact.detectors import detect_all, detectors_for

    require_models("centerface", "blazeface_full_range", "nanodet_g_416", *PLATE_MODELS)
    frames = read_video(data_dir / "videos" / "face_recognition_short_hamilton_clip.mp4")[0]
    found = detect_all(detectors_for(redact.Policy()), frames[120])
    faces = found.xyxy[found.kind == Kind.FACE]
    widths = faces[:, 2] - faces[:, 0]
    assert len(faces) and widths.max() < 200, faces.round().tolist()
    # ... and his face is still hidden: a face box over the middle of his head.
    assert any(x0 <= 240 <= x1 and y0 <= 80 <= y1 for x0, y0, x1, y1 in faces)


def test_people_close_to_the_camera_get_no_head_guess(data_dir):
    # Hamilton, frames 45 (a speaker in profile filling the frame), 120 (a speaker cut by the
    # frame's bottom) and 245 (an audience row close up): head boxes guessed from those person
    # boxes were 220-700 px tall slabs; their faces are the face detector's to find.
    from media import read_video

    from redact.detectors.persons import HeadDetector

    require_models("nanodet_g_416")
    frames = read_video(data_dir / "videos" / "face_recognition_short_hamilton_clip.mp4")[0]
    heads = HeadDetector()
    tallest = []
    for index in (45, 120, 245):
        found = heads.detect(frames[index])
        faces = found.xyxy[found.kind == Kind.FACE]
        tallest.append(float((faces[:, 3] - faces[:, 1]).max(initial=0)))
    assert max(tallest) <= 0.3 * frames[0].shape[0], tallest
