"""The motion gate against an obviously-correct reference: whatever the tracked boxes (on the
frame, off it, huge, degenerate), motion outside their grown boxes is never ignored."""
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from redact.core.types import Kind, Regions
from redact.pipeline.motion import CHANGED_SHARE, FACE_BODY, THUMB_WIDTH, MotionGate

KINDS = [Kind.FACE, Kind.PLATE, Kind.PERSON, Kind.OTHER]


def reference_excused(shape, xyxy, kinds):
    """(H, W) True where motion is explained by a tracked box: each box grown (faces by
    FACE_BODY, others by half their size each side), one pixel of margin, rounded outward.
    Built by comparing every pixel's index with the bounds: no slicing, so nothing wraps."""
    height, width = shape
    rows, cols = np.mgrid[0:height, 0:width]
    excused = np.zeros(shape, bool)
    for (x0, y0, x1, y1), kind in zip(np.asarray(xyxy, np.float64), kinds):
        w, h = x1 - x0, y1 - y0
        side, above, below = FACE_BODY if kind == Kind.FACE else (0.5, 0.5, 0.5)
        gx0, gx1, gy0, gy1 = x0 - side * w, x1 + side * w, y0 - above * h, y1 + below * h
        excused |= ((rows >= np.floor(gy0) - 1) & (rows < np.ceil(gy1) + 1)
                    & (cols >= np.floor(gx0) - 1) & (cols < np.ceil(gx1) + 1))
    return excused


@st.composite
def scenes(draw):
    """A small grey frame (no wider than the thumbnail, so the gate compares it 1:1), a random
    set of changed pixels, and tracked boxes placed relative to the frame, often off it."""
    width = draw(st.integers(1, THUMB_WIDTH))
    height = draw(st.integers(1, 80))
    density = draw(st.sampled_from([0.0, 0.003, 0.01, 0.05, 0.3, 1.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    changed = np.random.default_rng(seed).random((height, width)) < density
    n = draw(st.integers(0, 4))
    span = st.floats(-3, 3)
    size = st.one_of(st.floats(0, 4), st.just(0.0))
    boxes, kinds = [], []
    for _ in range(n):
        if draw(st.integers(0, 9)) == 0:  # huge: growth must not overflow or wrap
            x0, y0 = draw(st.floats(-1e30, 1e30)), draw(st.floats(-1e30, 1e30))
            w, h = draw(st.floats(0, 1e30)), draw(st.floats(0, 1e30))
        else:
            x0, y0 = draw(span) * width, draw(span) * height
            w, h = draw(size) * width, draw(size) * height
        boxes.append([x0, y0, x0 + w, y0 + h])
        kinds.append(draw(st.sampled_from(KINDS)))
    tracked = Regions.from_boxes(np.array(boxes, np.float32).reshape(-1, 4),
                                 kind=np.array(kinds, np.int8).reshape(-1))
    return changed, tracked


def settled_gate(still):
    """A gate that has analysed ``still``, its first frame."""
    gate = MotionGate()
    assert gate.needs_detection(still, Regions.empty())  # the first frame is always analysed
    gate.detected()
    return gate


def gate_decision(changed, tracked):
    still = np.zeros((*changed.shape, 3), np.uint8)
    gate = settled_gate(still)
    moved = still.copy()
    moved[changed] = 255
    return gate.needs_detection(moved, tracked)


@settings(max_examples=300, deadline=None)
@given(scenes())
@example(  # a wide box just above the frame: its grown bottom's slice end, -1, wrapped to row 53
    (np.isin(np.arange(54), range(10, 40))[:, None].repeat(96, 1),
     Regions.from_boxes([[0, -13, 96, -6]], kind=Kind.PLATE)))
def test_gate_never_ignores_motion_outside_the_grown_tracked_boxes(scene):
    changed, tracked = scene
    unexplained = changed & ~reference_excused(changed.shape, tracked.xyxy, tracked.kind)
    must_detect = unexplained.mean() > CHANGED_SHARE
    got = gate_decision(changed, tracked)
    if must_detect:
        assert got, f"{int(unexplained.sum())} moved pixels outside every tracked box were ignored"
    assert got == must_detect  # and it excuses exactly the grown boxes, no less


def test_gate_sees_motion_below_a_box_predicted_off_the_top_of_a_real_frame():
    """640x360 frame, thumbnail 96x54: a held track predicted above the frame used to excuse
    the motion of almost the whole frame (a negative slice end wraps around)."""
    still = np.full((360, 640, 3), 90, np.uint8)
    gate = settled_gate(still)
    newcomer = still.copy()
    newcomer[150:300, 200:300] = 250
    above = Regions.from_boxes([[0, -90, 640, -40]], kind=Kind.OTHER)
    assert gate.needs_detection(newcomer, above)
    left = Regions.from_boxes([[-90, 0, -40, 360]], kind=Kind.OTHER)
    assert gate.needs_detection(newcomer, left)


@pytest.mark.parametrize("box", [[-1e30, -1e30, 1e30, 1e30], [3e38, 3e38, 3.4e38, 3.4e38]])
def test_gate_survives_huge_boxes(box):
    still = np.full((36, 64, 3), 90, np.uint8)
    gate = settled_gate(still)
    moved = still.copy()
    moved[10:30, 10:30] = 250
    covers = box[0] < 0
    assert bool(gate.needs_detection(moved, Regions.from_boxes([box], kind=Kind.FACE))) is (not covers)
