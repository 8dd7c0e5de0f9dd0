import numpy as np
import pytest

from redact.core.geometry import pad_boxes, pixel_boxes
from redact.core.types import Kind, Regions


def test_regions_validate_and_freeze():
    r = Regions.from_boxes([[0, 0, 2, 3], [1, 1, 4, 4]], kind=Kind.PLATE, score=0.5)
    assert len(r) == 2 and r.xyxy.dtype == np.float32 and (r.kind == Kind.PLATE).all()
    with pytest.raises(ValueError):
        r.xyxy[0, 0] = 5
    assert len(Regions.concat([r, Regions.empty(), r])) == 4
    assert len(r.of_kind(Kind.FACE)) == 0


@pytest.mark.parametrize("args, error", [
    (dict(xyxy=np.zeros((2, 3))), "expected shape \\(N, 4\\), got \\(2, 3\\)"),
    (dict(score=np.zeros(3)), "Regions.score: expected shape \\(2\\)"),
    (dict(kind=np.full(2, 9)), "Regions.kind: expected values"),
    (dict(kind=np.array([0, -1])), "Regions.kind: expected values"),   # the lookup reads bytes
    (dict(kind=np.array([0, -128])), "Regions.kind: expected values"),
])
def test_regions_errors(args, error):
    base = dict(xyxy=np.zeros((2, 4)), score=np.ones(2), kind=np.zeros(2), track_id=np.zeros(2))
    base.update(args)
    with pytest.raises(ValueError, match=error):
        Regions(**base)


def test_pixel_boxes_round_outward_and_clip():
    got = pixel_boxes([[0.5, 0.5, 2.01, 3.0], [-3, 2, 100, 2.2], [50, 50, 60, 60]], 10, 8)
    assert got.tolist() == [[0, 0, 3, 3], [0, 2, 10, 3], [10, 8, 10, 8]]


def test_pad_boxes():
    assert pad_boxes([[0, 0, 10, 20]], 0.1).tolist() == [[-1, -2, 11, 22]]
    with pytest.raises(ValueError, match="pad"):
        pad_boxes([[0, 0, 1, 1]], -0.5)
