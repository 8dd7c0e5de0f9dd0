"""Face detector: real models on real photos, and the Numba decoders against NumPy references.

Photos come from the evaluation data beside the project (``../shared/data`` or
``$REDACT_DATA_DIR``) and models from the cache; tests that need either skip, saying which.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import DETECTOR_PROFILES
from redact import Kind, Regions
from redact._kernels import anchors as k
from redact.core.geometry import tile_starts
from redact.core.profile import Profile
from redact.detectors import build_detectors
from redact.detectors.faces import BLAZEFACE_FULL_RANGE, CENTERFACE_NETS, CenterFaceView, FaceDetector, FacePlan
from redact.detectors.models import ModelMissingError, is_installed

DATA = Path(os.environ.get("REDACT_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data")
PROFILES = DETECTOR_PROFILES
#: The astronaut's face in skimage's astronaut.png, hairline to chin (hand-measured).
ASTRONAUT_FACE = np.array([180.0, 50.0, 270.0, 187.0])


# --------------------------------------------------------------------------- helpers


def iou(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def covered(box, face) -> float:
    """Share of ``face``'s area inside ``box``."""
    iw = max(0.0, min(box[2], face[2]) - max(box[0], face[0]))
    ih = max(0.0, min(box[3], face[3]) - max(box[1], face[1]))
    return iw * ih / ((face[2] - face[0]) * (face[3] - face[1]))


def assert_face_boxed(regions, face) -> None:
    """Some box covers the whole (hand-measured) face and sits on it: merged boxes are the
    union of a face's confident candidates, so they are larger than the face, never smaller
    (IoU 0.4 still refuses a box shifted by a letterbox or scale error)."""
    assert max((covered(b, face) for b in regions.xyxy if iou(b, face) >= 0.4), default=0.0) >= 0.99


def photo(relpath: str) -> np.ndarray:
    """An RGB photo of the evaluation data, or skip."""
    import cv2

    path = DATA / relpath
    if not path.is_file():
        pytest.skip(f"evaluation photo {path} absent (set REDACT_DATA_DIR to the shared data folder)")
    return np.ascontiguousarray(cv2.imread(str(path), cv2.IMREAD_COLOR)[:, :, ::-1])


def need_models(names) -> None:
    missing = [n for n in names if not is_installed(n)]
    if missing:
        pytest.skip(f"models {missing} not in the cache; run `redact models fetch {' '.join(missing)}`")


_DETECTORS: dict = {}


def detector(profile) -> FaceDetector:
    """One detector per profile for the whole module (loading models takes a while)."""
    profile = Profile(profile)
    if profile not in _DETECTORS:
        from redact.detectors.faces import PLANS

        need_models(PLANS[profile].models)
        _DETECTORS[profile] = FaceDetector(profile)
    return _DETECTORS[profile]


def assert_valid(regions: Regions) -> None:
    assert isinstance(regions, Regions)
    assert regions.xyxy.dtype == np.float32 and regions.xyxy.shape == (len(regions), 4)
    assert np.all(regions.kind == Kind.FACE)
    assert np.all(regions.track_id == -1)
    assert np.all((regions.score >= 0) & (regions.score <= 1))
    assert np.all(regions.xyxy[:, 2:] >= regions.xyxy[:, :2])


# --------------------------------------------------------------------------- real detector


@pytest.mark.parametrize("profile", PROFILES)
def test_astronaut_face_is_boxed(profile):
    frame = photo("faces/skimage_astronaut.png")
    regions = detector(profile).detect(frame)
    assert_valid(regions)
    assert_face_boxed(regions, ASTRONAUT_FACE)


@pytest.mark.parametrize("profile", PROFILES)
def test_group_photo_yields_many_faces(profile):
    frame = photo("faces/ultralight_group_photos/10.jpg")
    regions = detector(profile).detect(frame)
    assert_valid(regions)
    assert int((regions.score >= 0.5).sum()) >= 15


@pytest.mark.parametrize("profile", PROFILES)
def test_black_frame_has_no_face(profile):
    regions = detector(profile).detect(np.zeros((720, 1280, 3), np.uint8))
    assert len(regions) == 0


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (5, 7), (1080, 1920), (1920, 1080), (33, 2000)])
def test_odd_frame_sizes(profile, shape):
    rng = np.random.default_rng(sum(shape))
    frame = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    assert_valid(detector(profile).detect(frame))


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("canvas, at", [((1080, 1920), (1300, 450)), ((1920, 1080), (60, 1300)),
                                        ((600, 2000), (1450, 40))])
def test_boxes_land_on_the_face_in_non_square_frames(profile, canvas, at):
    """Letterbox, padding and scale are undone exactly: the box follows the face."""
    face = photo("faces/skimage_astronaut.png")
    frame = np.zeros((*canvas, 3), np.uint8)
    x, y = at
    frame[y:y + face.shape[0], x:x + face.shape[1]] = face
    regions = detector(profile).detect(frame)
    assert_face_boxed(regions, ASTRONAUT_FACE + np.array([x, y, x, y]))


def test_frame_is_not_modified():
    frame = photo("faces/skimage_astronaut.png")
    before = frame.copy()
    detector(Profile.BALANCED).detect(frame)
    np.testing.assert_array_equal(frame, before)


def test_non_contiguous_frame_gives_the_same_faces():
    frame = photo("faces/skimage_astronaut.png")
    det = detector(Profile.BALANCED)
    wide = np.zeros((frame.shape[0], frame.shape[1] * 2, 3), np.uint8)
    wide[:, ::2] = frame
    view = wide[:, ::2]
    assert not view.flags.c_contiguous
    np.testing.assert_allclose(det.detect(view).xyxy, det.detect(frame).xyxy, atol=1e-3)


def test_changing_frame_sizes_gives_stable_results():
    """cv2.dnn ONNX networks break when their input shape changes; each shape gets its own."""
    det = detector(Profile.BALANCED)
    face = photo("faces/skimage_astronaut.png")
    first = det.detect(face).xyxy.copy()
    for side in range(96, 96 + 32 * (CENTERFACE_NETS + 1), 32):
        det.detect(np.zeros((side, side + 64, 3), np.uint8))
    np.testing.assert_allclose(det.detect(face).xyxy, first, atol=1e-3)


def test_build_detectors_and_attributes():
    need_models(["centerface", "blazeface_full_range"])
    det, heads = build_detectors(Kind.FACE, Profile.BALANCED)
    assert isinstance(det, FaceDetector) and heads.kinds == (Kind.FACE,)
    assert det.kinds == (Kind.FACE,)
    assert set(det.models) == {"centerface", "blazeface_full_range"}
    assert FaceDetector("fast").models == ("blazeface_full_range", "centerface")


@pytest.mark.parametrize("frame, error", [
    (np.zeros((10, 10, 3), np.float32), "dtype uint8"),
    (np.zeros((10, 10), np.uint8), r"\(H, W, 3\)"),
    (np.zeros((10, 10, 4), np.uint8), "drop alpha"),
    (np.zeros((0, 10, 3), np.uint8), "at least 1x1"),
    ([[1, 2, 3]], "numpy array"),
])
def test_bad_frames_are_refused(frame, error):
    need_models(["centerface", "blazeface_full_range"])
    with pytest.raises((ValueError, TypeError), match=error):
        detector(Profile.FAST).detect(frame)


def test_missing_model_says_how_to_fetch(tmp_path):
    with pytest.raises(ModelMissingError, match="redact models fetch"):
        FaceDetector(Profile.BALANCED, models_dir=tmp_path)


@pytest.mark.parametrize("name, spec", [
    ("blazeface_full_range", (192, (4,), (1,))),
    ("blazeface_back", (256, (16, 32), (2, 6))),
    ("blazeface_short_range", (128, (8, 16), (2, 6))),
])
def test_anchor_count_matches_the_model_outputs(name, spec):
    import cv2

    from redact.detectors.models import model_path

    need_models([name])
    size, strides, per_cell = spec
    net = cv2.dnn.readNetFromTFLite(str(model_path(name)))
    net.setInput(np.zeros((1, 3, size, size), np.float32))
    logits, regressors = net.forward(net.getUnconnectedOutLayersNames())
    anchors = k.anchor_centers(size, np.array(strides, np.int64), np.array(per_cell, np.int64))
    assert anchors.shape[0] == logits.size == regressors.shape[1]
    if name == BLAZEFACE_FULL_RANGE.model:
        assert (size, strides, per_cell) == (BLAZEFACE_FULL_RANGE.input_size, BLAZEFACE_FULL_RANGE.strides,
                                             BLAZEFACE_FULL_RANGE.per_cell)


# --------------------------------------------------------------------------- pure helpers


@given(length=st.integers(1, 5000), tile=st.integers(1, 2000), overlap=st.floats(0.0, 0.9))
def test_tiles_cover_the_length_with_overlap(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    assert starts[0] == 0 and starts == sorted(starts)
    assert min(length, starts[-1] + tile) == length
    for a, b in zip(starts, starts[1:]):
        assert a + tile - b >= overlap * tile - 1  # starts are rounded to whole pixels


@given(w=st.integers(1, 4000), h=st.integers(1, 4000), stretch=st.sampled_from([1.0, 1.5]))
def test_centerface_view_size_keeps_the_budget(w, h, stretch):
    view = CenterFaceView(400_000, stretch=stretch)
    width, height = view.size(w, h)
    assert width >= 1 and height >= 1
    assert width * height <= 400_000 * 1.01 + width + height
    assert height <= max(1, round(h * view.max_upscale))
    assert FacePlan(centerface=(view,)).models == ("blazeface_full_range", "centerface")


# --------------------------------------------------------------------------- Numba vs NumPy


def ref_anchor_centers(size, strides, per_cell):
    parts = []
    for stride, n in zip(strides, per_cell):
        cells = -(-size // stride)
        y, x = np.mgrid[0:cells, 0:cells]
        centers = np.stack([(x + 0.5) / cells, (y + 0.5) / cells], axis=-1).reshape(-1, 2)
        parts.append(np.repeat(centers, n, axis=0))
    return np.concatenate(parts).astype(np.float32)


def ref_decode_blazeface(logits, regressors, anchors, size, threshold, affine):
    score = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -100, 100)))
    keep = logits.astype(np.float64) >= math.log(threshold / (1 - threshold))
    cx = anchors[:, 0] * size + regressors[:, 0]
    cy = anchors[:, 1] * size + regressors[:, 1]
    hw, hh = np.abs(regressors[:, 2]) / 2, np.abs(regressors[:, 3]) / 2
    ax, bx, ay, by = affine
    xyxy = np.stack([ax * (cx - hw) + bx, ay * (cy - hh) + by, ax * (cx + hw) + bx, ay * (cy + hh) + by], 1)
    return xyxy[keep], score[keep]


def ref_decode_centerface(heatmap, scale, offset, threshold, affine):
    ys, xs = np.nonzero(heatmap >= threshold)  # row-major, as the kernel scans
    h = 4 * np.exp(scale[0, ys, xs].astype(np.float64))
    w = 4 * np.exp(scale[1, ys, xs].astype(np.float64))
    cy = 4 * (ys + offset[0, ys, xs] + 0.5)
    cx = 4 * (xs + offset[1, ys, xs] + 0.5)
    ax, bx, ay, by = affine
    xyxy = np.stack([ax * (cx - w / 2) + bx, ay * (cy - h / 2) + by,
                     ax * (cx + w / 2) + bx, ay * (cy + h / 2) + by], 1)
    return xyxy, heatmap[ys, xs]


def float32_iou(a, b) -> float:
    """IoU in float32 arithmetic, as the kernel computes it on float32 boxes (a float64 IoU
    differs at denormal sizes, which the hypothesis tests do reach)."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def ref_nms_clusters(xyxy, score, thr):
    """Greedy IoU clusters, seeds by descending score (ties by index): [(seed, members)]."""
    order = np.argsort(-score, kind="stable")
    used = np.zeros(len(score), bool)
    clusters = []
    for i in order:
        if used[i]:
            continue
        members = [i] + [j for j in order if not used[j] and j != i and float32_iou(xyxy[i], xyxy[j]) >= thr]
        used[members] = True
        clusters.append((i, members))
    return clusters


def ref_weighted_nms(xyxy, score, thr):
    """Each cluster: the bounding box of its seed and of members scoring >= half the seed's."""
    boxes, scores = [], []
    for i, members in ref_nms_clusters(xyxy, score, thr):
        confident = [j for j in members if np.float64(score[j]) >= 0.5 * np.float64(score[i])]
        chosen = xyxy[confident]
        boxes.append(np.concatenate([chosen[:, :2].min(0), chosen[:, 2:].max(0)]))
        scores.append(score[i])
    return np.array(boxes, np.float32).reshape(-1, 4), np.array(scores, np.float32)


def both(kernel):
    """The compiled kernel and its pure-Python body (what NUMBA_DISABLE_JIT=1 runs)."""
    py_func = getattr(kernel, "py_func", None)  # absent when JIT is already disabled
    return [kernel] if py_func is None else [kernel, py_func]


@pytest.mark.parametrize("spec", [(192, (4,), (1,)), (256, (16, 32), (2, 6)), (128, (8, 16), (2, 6))])
def test_anchor_centers_match_reference(spec):
    size, strides, per_cell = spec
    args = (size, np.array(strides, np.int64), np.array(per_cell, np.int64))
    for fn in both(k.anchor_centers):
        np.testing.assert_allclose(fn(*args), ref_anchor_centers(*spec), atol=1e-7)


# No subnormal numbers: OpenCV's DNN sets the CPU to flush them to zero (FTZ/DAZ) in the
# threads it runs on, so kernel and reference would disagree depending on test order; no
# detector produces such scores or coordinates.
_float = lambda lo, hi, **kw: st.floats(lo, hi, allow_subnormal=False, **kw)  # noqa: E731
boxes_arrays = st.integers(0, 40).flatmap(lambda n: st.tuples(
    st.lists(st.tuples(_float(-50, 500), _float(-50, 500), _float(0, 200), _float(0, 200)),
             min_size=n, max_size=n),
    st.lists(_float(0, 1, width=32), min_size=n, max_size=n)))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), threshold=st.floats(0.01, 0.99),
       affine=st.tuples(st.floats(0.1, 10), st.floats(-500, 500), st.floats(0.1, 10), st.floats(-500, 500)))
def test_decode_blazeface_matches_reference(seed, threshold, affine):
    rng = np.random.default_rng(seed)
    anchors = k.anchor_centers(192, np.array([4], np.int64), np.array([1], np.int64))
    logits = rng.normal(0, 4, anchors.shape[0]).astype(np.float32)
    regressors = rng.normal(0, 20, (anchors.shape[0], 16)).astype(np.float32)
    affine = np.array(affine, np.float64)
    want_xyxy, want_score = ref_decode_blazeface(logits, regressors, anchors, 192, threshold, affine)
    for fn in both(k.decode_blazeface):
        out_xyxy = np.empty((anchors.shape[0], 4), np.float32)
        out_score = np.empty(anchors.shape[0], np.float32)
        n = fn(logits, regressors, anchors, 192, threshold, affine, out_xyxy, out_score)
        assert n == len(want_score)
        np.testing.assert_allclose(out_xyxy[:n], want_xyxy, rtol=1e-5, atol=1e-2)
        np.testing.assert_allclose(out_score[:n], want_score, rtol=1e-6)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), threshold=st.floats(0.0, 1.0),
       shape=st.tuples(st.integers(1, 30), st.integers(1, 30)),
       affine=st.tuples(st.floats(0.1, 10), st.floats(-500, 500), st.floats(0.1, 10), st.floats(-500, 500)))
def test_decode_centerface_matches_reference(seed, threshold, shape, affine):
    rng = np.random.default_rng(seed)
    heatmap = rng.random(shape, dtype=np.float32)
    scale = rng.normal(1, 1, (2, *shape)).astype(np.float32)
    offset = rng.random((2, *shape), dtype=np.float32)
    affine = np.array(affine, np.float64)
    want_xyxy, want_score = ref_decode_centerface(heatmap, scale, offset, threshold, affine)
    for fn in both(k.decode_centerface):
        out_xyxy = np.empty((heatmap.size, 4), np.float32)
        out_score = np.empty(heatmap.size, np.float32)
        n = fn(heatmap, scale, offset, threshold, affine, out_xyxy, out_score)
        assert n == len(want_score)
        np.testing.assert_allclose(out_xyxy[:n], want_xyxy, rtol=1e-5, atol=1e-2)
        np.testing.assert_array_equal(out_score[:n], want_score)


@settings(max_examples=100, deadline=None)
@given(data=boxes_arrays, thr=st.floats(0.0, 1.0))
def test_weighted_nms_matches_reference(data, thr):
    raw, scores = data
    xyxy = np.array([[x, y, x + w, y + h] for x, y, w, h in raw], np.float32).reshape(-1, 4)
    score = np.array(scores, np.float32)
    want_xyxy, want_score = ref_weighted_nms(xyxy, score, thr)
    for fn in both(k.weighted_nms):
        out_xyxy = np.empty_like(xyxy)
        out_score = np.empty_like(score)
        n = fn(xyxy, score, thr, out_xyxy, out_score)
        assert n == len(want_score)
        np.testing.assert_allclose(out_xyxy[:n], want_xyxy, rtol=1e-5, atol=1e-3)
        np.testing.assert_array_equal(out_score[:n], want_score)


@settings(max_examples=150, deadline=None)
@given(data=boxes_arrays, thr=st.floats(0.0, 1.0))
def test_weighted_nms_box_covers_its_seed_and_confident_members(data, thr):
    """A merged box must never be smaller than the best box it replaces (redaction covers;
    an averaged box can leave the edge of the seed's face showing)."""
    raw, scores = data
    xyxy = np.array([[x, y, x + w, y + h] for x, y, w, h in raw], np.float32).reshape(-1, 4)
    score = np.array(scores, np.float32)
    clusters = ref_nms_clusters(xyxy, score, thr)
    for fn in both(k.weighted_nms):
        out_xyxy = np.empty_like(xyxy)
        out_score = np.empty_like(score)
        n = fn(xyxy, score, thr, out_xyxy, out_score)
        assert n == len(clusters)
        for box, (seed, members) in zip(out_xyxy[:n], clusters):
            covered = [j for j in members if np.float64(score[j]) >= 0.5 * np.float64(score[seed])]
            assert seed in covered
            for j in covered:
                assert np.all(box[:2] <= xyxy[j, :2]) and np.all(box[2:] >= xyxy[j, 2:]), (box, xyxy[j])


def test_weighted_nms_merges_one_face_and_keeps_two():
    xyxy = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60], [0, 1, 10, 11]], np.float32)
    score = np.array([0.9, 0.3, 0.5, 0.6], np.float32)
    out_xyxy, out_score = np.empty_like(xyxy), np.empty_like(score)
    n = k.weighted_nms(xyxy, score, 0.5, out_xyxy, out_score)
    assert n == 2
    # 0.6 >= 0.9 / 2 widens the box downwards; 0.3 is suppressed without widening it.
    np.testing.assert_array_equal(out_xyxy[0], [0, 0, 10, 11])
    np.testing.assert_array_equal(out_score[:n], score[[0, 2]])
    np.testing.assert_array_equal(out_xyxy[1], xyxy[2])


# --------------------------------------------------------------------------- mirrored views


@pytest.mark.parametrize("stretch", [1.0, 1.5])
def test_mirrored_view_is_the_plain_view_of_the_flipped_frame(stretch):
    """A mirrored view must look at the flipped frame and put its boxes back where the faces
    are: its candidates equal the plain view's on the flipped frame, flipped back (same
    scores, boxes to 0.01 px), and the off-centre face is boxed where it is. A texture band
    makes the frame asymmetric, so the plain view of the frame as it is answers otherwise
    (a mirror flag that is ignored fails here)."""
    need_models(["centerface"])
    face = photo("faces/skimage_astronaut.png")
    frame = np.zeros((720, 1280, 3), np.uint8)
    x, y = 700, 150
    frame[y:y + face.shape[0], x:x + face.shape[1]] = face
    frame[:150] = np.random.default_rng(1).integers(0, 256, (150, 1280, 3), dtype=np.uint8)

    def view(mirror):
        return FaceDetector(plan=FacePlan(blazeface_whole=False,
                                          centerface=(CenterFaceView(400_000, stretch=stretch, mirror=mirror),)))

    mirrored = view(True).detect(frame)
    assert_valid(mirrored)
    # Placed where the face is (one view alone: 0.9 of the hand-measured face, not all of it).
    at = ASTRONAUT_FACE + np.array([x, y, x, y])
    assert max(covered(b, at) for b in mirrored.xyxy if iou(b, at) >= 0.4) >= 0.9
    plain = view(False)
    flipped = plain.detect(np.ascontiguousarray(frame[:, ::-1]))
    back = np.stack([1280 - flipped.xyxy[:, 2], flipped.xyxy[:, 1], 1280 - flipped.xyxy[:, 0], flipped.xyxy[:, 3]], 1)
    assert len(mirrored) == len(flipped) > 0
    np.testing.assert_allclose(np.sort(mirrored.score), np.sort(flipped.score), atol=1e-5)
    for box in mirrored.xyxy:
        assert np.abs(back - box).max(axis=1).min() < 0.01
    as_is = plain.detect(frame)
    assert len(as_is) != len(mirrored) or not np.allclose(np.sort(as_is.score), np.sort(mirrored.score), atol=1e-5)


def test_balanced_finds_a_squeezed_turned_face():
    """A WIDER FACE val photo squashed to 416x416 by its source: a man's face turned to his
    left, 37x72 px. The plain CenterFace view covers 9% of it; balanced's 1.5x-wide mirrored
    view, which runs on photos, finds it (WIDER >= 32 px recall 0.916 -> 0.976,
    `benchmarks/eval_detect.py`)."""
    frame = photo("faces/wider_val/squashed416/2_Demonstration_Political_Rally_2_752.jpg")
    face = (138.0, 77.0, 175.0, 149.0)
    regions = detector(Profile.BALANCED).for_stills().detect(frame)
    assert max(covered(b, face) for b in regions.xyxy) >= 0.8


def test_balanced_runs_its_mirrored_view_on_photos_only():
    """The stretched mirrored view pays for itself on photos (native-aspect group photos:
    >= 32 px recall 0.985 without it, 1.000 with) but costs video half the face detector's
    time for no exposure measured on six clips (`benchmarks/face_views.py`, `exposure.py`):
    video frames skip it, photos run it, sharing the same networks."""
    need_models(["centerface"])
    video = FaceDetector(Profile.BALANCED)
    still = video.for_stills()
    assert not any(v.mirror for v in video.centerface_views)
    assert any(v.mirror and v.stretch > 1 for v in still.centerface_views)
    assert still._center is video._center  # no second copy of the network
    assert still.for_stills() is still and FaceDetector(Profile.FAST).for_stills().centerface_views == \
        FaceDetector(Profile.FAST).centerface_views


def test_a_photo_is_redacted_with_the_photo_views(tmp_path):
    """`redact IMAGE` runs the stills-only views: the squeezed, turned face above, which only
    the mirrored view finds, is hidden in the output file."""
    import cv2

    from redact import Policy, redact_image

    frame = photo("faces/wider_val/squashed416/2_Demonstration_Political_Rally_2_752.jpg")
    need_models(["centerface", "blazeface_full_range"])
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    cv2.imwrite(str(src), frame[:, :, ::-1])
    redact_image(src, dst, Policy(kinds={Kind.FACE}), detectors=[FaceDetector(Profile.BALANCED)])
    out = cv2.imread(str(dst))[:, :, ::-1]
    x0, y0, x1, y1 = 138, 77, 175, 149
    assert (out[y0:y1, x0:x1] != frame[y0:y1, x0:x1]).any(axis=2).mean() >= 0.8


# --------------------------------------------------------------------------- runtimes


@pytest.mark.parametrize("runtime", ["onnxruntime", "cv2.dnn"])
def test_both_runtimes_find_the_same_faces(runtime):
    """CenterFace under ONNX Runtime (any input size, one session) and under cv2.dnn (one
    network per size) give the same boxes, at every view of balanced, on a real group photo."""
    need_models(["centerface", "blazeface_full_range"])
    if runtime == "onnxruntime":
        pytest.importorskip("onnxruntime", reason="ONNX Runtime not installed (pip install onnxruntime)")
    from redact.detectors import describe_models

    frame = photo("faces/ultralight_group_photos/10.jpg")
    reference = FaceDetector(Profile.BALANCED, runtime="cv2.dnn").detect(frame)
    detector = FaceDetector(Profile.BALANCED, runtime=runtime)
    found = detector.detect(frame)
    assert len(found) == len(reference) >= 15
    np.testing.assert_allclose(found.xyxy, reference.xyxy, atol=0.5)
    assert {m["name"]: m.get("runtime") for m in describe_models([detector])}["centerface"] == runtime


def test_onnx_runtime_runs_centerface_at_any_size_once_its_declared_shape_is_dropped():
    """CenterFace's file declares a 10x3x32x32 input, which ONNX Runtime enforces; with the
    declaration dropped (in memory, the file untouched) it runs a 416x1056 input."""
    ort = pytest.importorskip("onnxruntime", reason="ONNX Runtime not installed (pip install onnxruntime)")
    need_models(["centerface"])
    from redact.detectors.models import model_path
    from redact.detectors.runtime import free_input_shape

    path = model_path("centerface")
    before = path.read_bytes()
    blob = np.zeros((1, 3, 416, 1056), np.float32)
    as_declared = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with pytest.raises(Exception, match="(?i)dimension"):
        as_declared.run(None, {as_declared.get_inputs()[0].name: blob})
    freed = ort.InferenceSession(free_input_shape(before), providers=["CPUExecutionProvider"])
    heatmap = freed.run(None, {freed.get_inputs()[0].name: blob})[0]
    assert heatmap.shape == (1, 1, 104, 264)
    assert path.read_bytes() == before
    assert len(free_input_shape(before)) < len(before)


def test_centerface_runs_with_its_weights_as_constants_and_the_same_outputs():
    """CenterFace's file lists its 194 weights as graph inputs (overridable), so ONNX Runtime
    folded none of them (no batch norm fused: 2.1x slower). `OnnxNet` drops those inputs in
    memory; the outputs stay the file's own."""
    ort = pytest.importorskip("onnxruntime", reason="ONNX Runtime not installed (pip install onnxruntime)")
    need_models(["centerface"])
    from redact.detectors.models import model_path
    from redact.detectors.runtime import ONNXRUNTIME, OnnxNet, free_input_shape

    path = model_path("centerface")
    as_filed = ort.InferenceSession(free_input_shape(path.read_bytes()), providers=["CPUExecutionProvider"])
    assert len(as_filed.get_overridable_initializers()) == 194
    net = OnnxNet(path, ONNXRUNTIME, any_size=True)
    assert net._session.get_overridable_initializers() == []
    blob = np.random.default_rng(0).uniform(-1, 1, (1, 3, 320, 544)).astype(np.float32)
    for ours, theirs in zip(net.forward_all(blob), as_filed.run(None, {as_filed.get_inputs()[0].name: blob})):
        np.testing.assert_allclose(ours, theirs, atol=1e-4)


def test_no_face_box_lies_inside_a_face_box_that_scores_as_high(data_dir):
    # Hamilton, frames 30 and 33: a man in profile close to the camera. CenterFace gave his
    # face a box and boxes inside it (0.21 inside 0.68, 0.1 inside 0.61); they hide nothing
    # more on the frame, but each started a track of its own, held and moved after the face.
    from media import read_video

    from redact.core.geometry import nested

    frames = read_video(data_dir / "videos" / "face_recognition_short_hamilton_clip.mp4")[0]
    found = [detector("balanced").detect(frames[i]) for i in (30, 33)]
    assert [nested(r.xyxy, r.score).tolist() for r in found] == [[False] * len(r) for r in found]
    # The man's face is still hidden: a box over the middle of his face on both frames.
    assert all(any(b[0] <= 360 <= b[2] and b[1] <= 240 <= b[3] for b in r.xyxy) for r in found)
