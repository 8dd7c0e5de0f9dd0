"""The SSD person and vehicle detector: anchors, box decoding, tiles merged, real frames."""
import json
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conftest import require_models, shared_data
from redact import Kind, Regions
from redact.core.geometry import box_areas, intersection_matrix, iou_matrix
from redact.detectors.objects import (
    NESTED_AREA,
    NESTED_HEIGHT,
    NESTED_SHARE,
    ObjectPlan,
    cut_edges,
    decode_boxes,
    merge_views,
    people_only,
    ssd_anchors,
    view_rects,
)

SSD_MODELS = ("ssd_mobilenetv2_oidv4", "ssd_oidv4_labelmap")
#: First anchor of each layer: 19x19x3, then 10x10, 5x5, 3x3, 2x2, 1x1 at 6 boxes a cell.
LAYER_START = (0, 1083, 1683, 1833, 1887, 1911)


def test_anchor_count_and_layer_layout():
    anchors = ssd_anchors()
    assert anchors.shape == (1917, 4)
    assert LAYER_START[-1] + 6 == 1917


@pytest.mark.parametrize("index, expected", [
    # (cy, cx, h, w), worked by hand from the TF OD API's generator.
    (0, (0.5 / 19, 0.5 / 19, 0.1, 0.1)),                                   # lowest layer: 0.1, 1:1
    (1, (0.5 / 19, 0.5 / 19, 0.2 / math.sqrt(2), 0.2 * math.sqrt(2))),     # scale 0.2, 2:1 wide
    (2, (0.5 / 19, 0.5 / 19, 0.2 * math.sqrt(2), 0.2 / math.sqrt(2))),     # scale 0.2, 1:2 tall
    (3, (0.5 / 19, 1.5 / 19, 0.1, 0.1)),                                   # next cell to the right
    (3 * 19, (1.5 / 19, 0.5 / 19, 0.1, 0.1)),                              # next row
    (1083, (0.05, 0.05, 0.35, 0.35)),                                      # layer 1: scale 0.35
    (1083 + 3, (0.05, 0.05, 0.35 / math.sqrt(3), 0.35 * math.sqrt(3))),    # 3:1 wide
    (1083 + 5, (0.05, 0.05, math.sqrt(0.35 * 0.5), math.sqrt(0.35 * 0.5))),  # between 0.35 and 0.5
    (1911, (0.5, 0.5, 0.95, 0.95)),                                        # the 1x1 layer
    (1916, (0.5, 0.5, math.sqrt(0.95), math.sqrt(0.95))),                  # between 0.95 and 1.0
])
def test_anchors_match_hand_worked_values(index, expected):
    np.testing.assert_allclose(ssd_anchors()[index], expected, rtol=2e-4)


def test_decoding_a_known_anchor():
    """Anchor 1084 (layer 1, first cell, 2:1): centre (0.05, 0.05), h 0.35/sqrt 2, w 0.35 sqrt 2.
    Offsets ty 1, tx -2, th 5 ln 2, tw 0 with scales 10, 10, 5, 5: the centre moves by a tenth
    of the height down and a fifth of the width left, the height doubles."""
    anchors = ssd_anchors()
    ha, wa = 0.35 / math.sqrt(2), 0.35 * math.sqrt(2)
    enc = np.zeros((1917, 4), np.float32)
    enc[1084] = (1.0, -2.0, 5 * math.log(2), 0.0)
    box = decode_boxes(enc[1084:1085], anchors[1084:1085])[0]
    cy, cx, h, w = 0.05 + 0.1 * ha, 0.05 - 0.2 * wa, 2 * ha, wa
    np.testing.assert_allclose(box, (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), atol=1e-6)
    # Zero offsets give the anchors themselves, as corners.
    corners = decode_boxes(np.zeros((1917, 4), np.float32), anchors)
    np.testing.assert_allclose(corners[:, 2] - corners[:, 0], anchors[:, 3], atol=1e-6)
    np.testing.assert_allclose(0.5 * (corners[:, 1] + corners[:, 3]), anchors[:, 0], atol=1e-6)


def test_garbage_offsets_stay_finite():
    enc = np.full((1917, 4), 1e30, np.float32)
    assert np.all(np.isfinite(decode_boxes(enc, ssd_anchors())))


def test_views_are_the_frame_and_four_overlapping_tiles():
    views = view_rects(768, 576, ObjectPlan())
    assert views == [(0, 0, 768, 576), (0, 0, 512, 384), (256, 0, 768, 384), (0, 192, 512, 576),
                     (256, 192, 768, 576)]
    assert view_rects(768, 576, ObjectPlan(tile_grid=0)) == [(0, 0, 768, 576)]


def test_a_box_is_cut_only_by_the_tile_edges_inside_the_frame():
    tile = (256, 0, 768, 384)              # top right: its left and bottom edges are inside the frame
    boxes = np.array([[257, 10, 300, 100],  # on the left edge
                      [700, 300, 768, 383],  # on the bottom edge (and the frame's right edge)
                      [700, 0, 768, 100],    # on the frame's top and right edges only
                      [400, 100, 450, 200]], np.float32)
    assert cut_edges(boxes, tile, 768, 576).tolist() == [True, True, False, False]


def test_person_cut_by_a_tile_edge_merges_with_the_whole_frame_box():
    whole = [100, 50, 140, 150]            # the whole frame's box of the person
    tile_whole = [102, 52, 142, 152]       # a tile that holds all of them: fused with it
    cut_part = [100, 50, 125, 150]         # a tile whose edge runs through them at x = 125
    other = [160, 50, 200, 150]            # someone beside them
    xyxy = np.array([whole, tile_whole, cut_part, other], np.float32)
    keep, boxes = merge_views(xyxy, np.array([0.5, 0.5, 0.9, 0.6]), np.zeros(4, np.int8),
                              np.array([False, False, True, False]))
    assert keep.tolist() == [0, 3]         # one box per person; the cut part (best score) went
    np.testing.assert_allclose(boxes[0], [101, 51, 141, 151])  # the score-weighted mean of the two
    np.testing.assert_allclose(boxes[1], other)


def test_two_cut_halves_become_one_box():
    """A person too wide for the tiles, missed whole: each tile has a part, overlapping in the
    band the tiles share; one box, their union, comes out."""
    left, right = [100, 50, 180, 150], [150, 52, 240, 149]
    keep, boxes = merge_views(np.array([left, right], np.float32), np.array([0.6, 0.5]), np.zeros(2, np.int8),
                              np.array([True, True]), cut_share=0.3)
    assert keep.tolist() == [0]
    np.testing.assert_allclose(boxes[0], [100, 50, 240, 150])


def test_merging_keeps_kinds_apart_and_nested_boxes_together():
    person = [100, 50, 140, 150]
    car = [98, 48, 142, 152]               # same place, another kind: both stay
    nested = [104, 55, 138, 148]           # a tighter box of the same person: IoU 0.79, merged
    group = [60, 50, 200, 150]             # around several people: IoU 0.29, a box of its own here
    xyxy = np.array([person, car, nested, group], np.float32)
    keep, _ = merge_views(xyxy, np.array([0.6, 0.6, 0.5, 0.4]), np.array([2, 4, 2, 2], np.int8),
                          np.zeros(4, bool))
    assert keep.tolist() == [0, 1, 3]
    # Nested with a different height (a child in front of an adult) is not the same person.
    child = [105, 100, 135, 150]
    keep, _ = merge_views(np.array([person, child], np.float32), np.array([0.6, 0.6]), np.zeros(2, np.int8),
                          np.zeros(2, bool))
    assert keep.tolist() == [0, 1]


def test_group_boxes_and_weak_squat_boxes_are_not_people():
    a, b = [0, 0, 30, 100], [40, 0, 70, 100]
    group = [0, 0, 70, 100]                # holds both a and b: dropped, they keep their own boxes
    rock = [100, 70, 130, 100]             # as wide as tall, weak: a lookalike
    sitting = [140, 50, 200, 100]          # as wide as tall, strong: a person
    upper = [2, 3, 28, 55]                 # a's upper body, under a's top: not a second person
    child = [5, 60, 25, 100]               # in front of a, on the same ground: a person
    keep = people_only(np.array([a, b, group, rock, sitting, upper, child], np.float32),
                       np.array([0.6, 0.6, 0.6, 0.4, 0.7, 0.6, 0.6]), squat_score=0.5)
    assert keep.tolist() == [True, True, False, False, True, False, True]


def test_on_photos_a_sure_box_holding_others_is_a_person_in_front_of_them():
    """COCO 4134's two front people, each boxed at 0.9 and each holding the smaller boxes of
    people behind them (0.3-0.6) across their width: the group rule took them for group
    boxes; ``stronger_stay`` (photos) keeps them, and still drops a group box scored below
    its members and an upper-body box scored below its person."""
    front = [0, 0, 100, 200]
    behind = [[5, 40, 35, 110], [60, 40, 95, 110]]
    a, b = [200, 0, 230, 100], [240, 0, 270, 100]
    group = [200, 0, 270, 100]
    upper = [202, 3, 228, 55]
    boxes = np.array([front, *behind, a, b, group, upper], np.float32)
    score = np.array([0.9, 0.4, 0.5, 0.6, 0.6, 0.5, 0.55])
    assert people_only(boxes, score, 0.5).tolist() == [False, True, True, True, True, False, False]
    assert people_only(boxes, score, 0.5, stronger_stay=True).tolist() == [True, True, True, True, True, False, False]


@pytest.fixture(scope="module")
def detector():
    require_models(*SSD_MODELS)
    from redact.detectors.objects import ObjectDetector

    return ObjectDetector("balanced", plan=ObjectPlan())   # the SSD alone, on five views


def pets_frame(index: int):
    import av

    video = shared_data() / "videos" / "opencv_vtest_pedestrians.avi"
    gt = shared_data() / "people" / "pets09_s2l1" / "gt_boxes.json"
    if not (video.is_file() and gt.is_file()):
        pytest.skip(f"evaluation data not found at {shared_data()} (set REDACT_DATA_DIR)")
    with av.open(str(video)) as container:
        for i, frame in enumerate(container.decode(video=0), start=1):
            if i == index:
                rgb = frame.to_ndarray(format="rgb24")
                break
    entry = json.loads(gt.read_text())["images"][f"PETS09-S2L1/{index:06d}"]
    boxes = np.array([b["bbox"] for b in entry["boxes"] if not b.get("ignore")], np.float64).reshape(-1, 4)
    return rgb, np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)


def test_real_pets_frame_one_box_per_walker_and_the_vehicles(detector):
    """PETS09 frame 41: a group of four, a pair, a walker at the right edge, two parked vans."""
    rgb, gt = pets_frame(41)
    before = rgb.copy()
    found = detector.detect(rgb)
    np.testing.assert_array_equal(rgb, before)
    assert isinstance(found, Regions) and set(found.kind.tolist()) <= {int(Kind.PERSON), int(Kind.VEHICLE)}
    people = found.of_kind(Kind.PERSON)
    iou = iou_matrix(gt, people.xyxy)
    assert (iou.max(axis=1) >= 0.5).mean() >= 0.7, iou.max(axis=1).round(2)
    # Every walker is covered by some box, and no two person boxes are the same box twice.
    assert np.all(iou.max(axis=1) >= 0.3)
    self_iou = iou_matrix(people.xyxy, people.xyxy)
    np.fill_diagonal(self_iou, 0)
    assert self_iou.max() <= 0.6
    assert len(people) <= 1.5 * len(gt)
    vans = found.of_kind(Kind.VEHICLE)
    assert len(vans) >= 1 and np.all(vans.xyxy[:, 1] < 130)   # the vans parked at the top
    assert np.all(found.score >= detector.plan.score) and np.all(found.track_id == -1)


def test_blank_and_tiny_frames_give_nothing(detector):
    for shape in [(1, 1, 3), (5, 7, 3), (300, 300, 3), (33, 2000, 3)]:
        assert len(detector.detect(np.full(shape, 128, np.uint8))) == 0


def test_missing_model_names_the_npm_package(tmp_path):
    from redact.detectors.models import ModelMissingError
    from redact.detectors.objects import ObjectDetector

    with pytest.raises(ModelMissingError, match=r"npm pack @mediapipe/objectron@0\.4\.1675468480"):
        ObjectDetector("balanced", models_dir=tmp_path, plan=ObjectPlan())


def test_vehicle_kind_is_asked_for_like_the_others(tmp_path):
    """``--detect vehicle`` parses; each combination builds one SSD pass; the manifest and
    `redact verify` name vehicles."""
    from redact.app.cli import _kinds
    from redact.record.verify import _NOUNS

    assert _kinds("face,vehicle") == (frozenset({Kind.FACE, Kind.VEHICLE}), ())
    assert "vehicle" in _NOUNS and Kind.VEHICLE.name.lower() == "vehicle"
    Regions.from_boxes([[0, 0, 10, 10]], kind=Kind.VEHICLE)   # a valid row kind
    require_models(*SSD_MODELS, "nanodet_g_416", "selfie_segmentation", "blazeface_full_range", "centerface")
    from redact.detectors import build_detectors

    def built(kinds, profile):
        return [(type(d).__name__, set(d.kinds)) for d in build_detectors(kinds, profile)]

    assert built({Kind.VEHICLE}, "fast") == [("ObjectDetector", {Kind.VEHICLE})]
    assert ("HeadDetector", {Kind.FACE, Kind.VEHICLE}) in built({Kind.FACE, Kind.VEHICLE}, "balanced")
    runs = built({Kind.PERSON, Kind.VEHICLE}, "fast")
    assert runs == [("PersonDetector", {Kind.PERSON, Kind.FACE, Kind.SILHOUETTE, Kind.VEHICLE})]


def merge_views_reference(xyxy, score, kind, cut, nms_iou=0.5, cut_share=0.5):
    """`merge_views` as it was in NumPy, row by row (the kernel `group_views` must agree)."""
    xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
    score = np.asarray(score, np.float64).reshape(-1)
    cut = np.asarray(cut, bool).reshape(-1)
    order = np.lexsort((-score, cut))
    area = box_areas(xyxy)
    first: list = []          # each group's first row
    boxes: list = []          # each group's current box
    weight_sum: list = []     # each group's summed weight of whole boxes (0: cut boxes only)
    weighted: list = []       # each group's score-weighted sum of whole boxes
    for i in map(int, order):
        same = [g for g in range(len(first)) if kind[first[g]] == kind[i]]
        group = -1
        if same:
            current = np.asarray([boxes[g] for g in same], np.float64)
            iou = iou_matrix(xyxy[i:i + 1], current)[0]
            inter = intersection_matrix(xyxy[i:i + 1], current)[0]
            inside = inter / max(float(area[i]), 1e-9)
            # One box nested in the other at about the same size: the same object seen
            # tighter or looser by two views (two people differ in place, not in looseness).
            nested = inter / np.maximum(np.minimum(area[i], box_areas(current)), 1e-9)
            h_i, h_k = xyxy[i, 3] - xyxy[i, 1], current[:, 3] - current[:, 1]
            a_k = box_areas(current)
            alike = ((np.minimum(h_i, h_k) >= NESTED_HEIGHT * np.maximum(h_i, h_k))
                     & (np.minimum(area[i], a_k) >= NESTED_AREA * np.maximum(area[i], a_k)))
            if iou.max() > nms_iou:
                group = same[int(np.argmax(iou))]
            elif np.any((nested > NESTED_SHARE) & alike):
                group = same[int(np.argmax(np.where(alike, nested, 0.0)))]
            elif cut[i] and inside.max() > cut_share:
                group = same[int(np.argmax(inside))]
        if group < 0:
            first.append(i)
            boxes.append(xyxy[i].astype(np.float64))
            weight_sum.append(0.0 if cut[i] else score[i])
            weighted.append(np.zeros(4) if cut[i] else score[i] * xyxy[i].astype(np.float64))
            continue
        if not cut[i]:
            weight_sum[group] += score[i]
            weighted[group] = weighted[group] + score[i] * xyxy[i].astype(np.float64)  # as NumPy 2 does
            boxes[group] = weighted[group] / weight_sum[group]
        elif weight_sum[group] == 0.0:
            boxes[group] = np.concatenate([np.minimum(boxes[group][:2], xyxy[i, :2]),
                                           np.maximum(boxes[group][2:], xyxy[i, 2:])])
    rank = np.argsort(first, kind="stable")
    keep = np.asarray(first, np.int64)[rank]
    out = np.asarray(boxes, np.float32).reshape(-1, 4)[rank]
    return keep, out


@st.composite
def pooled_views(draw):
    """Boxes as several views of a crowd give them: near-duplicates, nested ones, cut ones."""
    n = draw(st.integers(0, 40))
    centre = st.floats(0, 300, width=32)
    side = st.floats(0, 120, width=32)
    rows = []
    for _ in range(n):
        if rows and draw(st.booleans()):  # another view's estimate of an earlier object
            x0, y0, x1, y1 = rows[draw(st.integers(0, len(rows) - 1))]
            jitter = st.floats(-8, 8, width=32)
            x0, y0, x1, y1 = x0 + draw(jitter), y0 + draw(jitter), x1 + draw(jitter), y1 + draw(jitter)
            rows.append([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)])
        else:
            x, y, w, h = draw(centre), draw(centre), draw(side), draw(side)
            rows.append([x, y, x + w, y + h])
    xyxy = np.array(rows, np.float32).reshape(-1, 4)
    score = np.array(draw(st.lists(st.floats(0.125, 1, width=32), min_size=n, max_size=n)), np.float32)
    kind = np.array(draw(st.lists(st.sampled_from([int(Kind.PERSON), int(Kind.VEHICLE)]), min_size=n, max_size=n)),
                    np.int8)
    cut = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)
    return xyxy, score, kind, cut


NESTED_VIEWS = (np.array([[0, 0, 40, 20], [0, 0, 10, 20], [0, 0, 5, 20]], np.float32),
                np.array([0.9, 0.8, 0.7], np.float32), np.zeros(3, np.int8), np.zeros(3, bool))
TIED_VIEWS = (np.array([[0, 0, 10, 10], [4, 0, 14, 10], [2, 0, 12, 10]], np.float32),
              np.array([0.9, 0.8, 0.7], np.float32), np.zeros(3, np.int8), np.zeros(3, bool))


@settings(deadline=None, max_examples=300)
@given(views=pooled_views(), nms_iou=st.sampled_from([0.3, 0.5]), cut_share=st.sampled_from([0.5, 0.7]))
@example(views=NESTED_VIEWS, nms_iou=0.5, cut_share=0.5)   # the third box nests in the second, alike
@example(views=TIED_VIEWS, nms_iou=0.5, cut_share=0.5)     # the third ties between the first two: the first wins
def test_merge_views_kernel_agrees_with_the_numpy_reference(views, nms_iou, cut_share):
    xyxy, score, kind, cut = views
    keep, boxes = merge_views(xyxy, score, kind, cut, nms_iou, cut_share)
    want_keep, want_boxes = merge_views_reference(xyxy, score, kind, cut, nms_iou, cut_share)
    assert keep.tolist() == want_keep.tolist()
    np.testing.assert_array_equal(boxes, want_boxes)
