"""The one place where float boxes become pixel boxes.

Pixel boxes are half-open ``[x0, x1) x [y0, y1)``. Rounding is always outward (floor the
minimum, ceil the maximum) so a box never loses its last row or column, then clipped to the
frame. Every other module calls `pixel_boxes`; none rounds on its own.
"""
from __future__ import annotations

import math

import numpy as np


def pad_boxes(xyxy, pad) -> np.ndarray:
    """Grow each float box by ``pad`` times its own width and height on every side.

    >>> pad_boxes([[10, 10, 20, 30]], 0.5).tolist()
    [[5.0, 0.0, 25.0, 40.0]]
    """
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    pad = np.broadcast_to(np.asarray(pad, dtype=np.float64), (xyxy.shape[0],))
    if np.any(pad < 0):
        raise ValueError(f"pad: expected >= 0, got {pad.min()}")
    dx = (xyxy[:, 2] - xyxy[:, 0]) * pad
    dy = (xyxy[:, 3] - xyxy[:, 1]) * pad
    return np.stack([xyxy[:, 0] - dx, xyxy[:, 1] - dy, xyxy[:, 2] + dx, xyxy[:, 3] + dy], axis=1)


def pixel_boxes(xyxy, width: int, height: int) -> np.ndarray:
    """Float ``x0, y0, x1, y1`` boxes to clipped, half-open int32 pixel boxes.

    A box entirely off the frame, or of zero area, comes out empty (``x0 == x1`` or
    ``y0 == y1``); callers skip those.

    >>> pixel_boxes([[0.2, 0.7, 9.1, 9.0], [-5, -5, -1, 3]], 8, 8).tolist()
    [[0, 0, 8, 8], [0, 0, 0, 3]]
    """
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    out = np.empty(xyxy.shape, dtype=np.int32)
    lo = np.floor(xyxy[:, :2])
    hi = np.ceil(xyxy[:, 2:])
    out[:, 0] = np.clip(lo[:, 0], 0, width)
    out[:, 1] = np.clip(lo[:, 1], 0, height)
    out[:, 2] = np.clip(hi[:, 0], 0, width)
    out[:, 3] = np.clip(hi[:, 1], 0, height)
    # A box left of the frame clips to x0 = x1 = 0: empty, never "one column wide".
    out[:, 2] = np.maximum(out[:, 2], out[:, 0])
    out[:, 3] = np.maximum(out[:, 3], out[:, 1])
    return out


def tile_starts(length: int, tile: int, overlap: float) -> list:
    """Evenly spread tile origins covering ``[0, length)``, neighbours sharing >= ``overlap``.

    >>> tile_starts(100, 100, 0.25), tile_starts(250, 100, 0.25)
    ([0], [0, 75, 150])
    """
    if length <= tile:
        return [0]
    count = math.ceil((length - tile) / (tile * (1.0 - overlap))) + 1
    return [round(k * (length - tile) / (count - 1)) for k in range(count)]


def tile_rects(width: int, height: int, tile_w: int, tile_h: int, overlap: float) -> list:
    """``(x0, y0, x1, y1)`` of overlapping tiles covering a ``width`` x ``height`` frame,
    row by row (see `tile_starts`).

    >>> tile_rects(250, 80, 100, 100, 0.25)
    [(0, 0, 100, 80), (75, 0, 175, 80), (150, 0, 250, 80)]
    """
    return [(x, y, min(width, x + tile_w), min(height, y + tile_h))
            for y in tile_starts(height, tile_h, overlap) for x in tile_starts(width, tile_w, overlap)]


def box_areas(xyxy) -> np.ndarray:
    """Area of each float box (0 for an inverted one).

    >>> box_areas(np.array([[0, 0, 4, 2], [3, 3, 1, 1]], np.float32)).tolist()
    [8.0, 0.0]
    """
    xyxy = np.asarray(xyxy)
    return np.maximum(xyxy[:, 2] - xyxy[:, 0], 0) * np.maximum(xyxy[:, 3] - xyxy[:, 1], 0)


def intersection_matrix(a, b) -> np.ndarray:
    """Area every ``xyxy`` row of ``a`` shares with every row of ``b``.

    >>> intersection_matrix([[0, 0, 2, 2]], [[1, 0, 3, 2], [5, 5, 6, 6]]).tolist()
    [[2.0, 0.0]]
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ix = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    iy = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    return np.clip(ix, 0, None) * np.clip(iy, 0, None)


def iou_matrix(a, b) -> np.ndarray:
    """IoU of every ``xyxy`` row of ``a`` with every row of ``b`` (0 where both are empty).

    >>> iou_matrix([[0, 0, 2, 2]], [[1, 0, 3, 2], [5, 5, 6, 6]]).round(3).tolist()
    [[0.333, 0.0]]
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    inter = intersection_matrix(a, b)
    union = box_areas(a)[:, None] + box_areas(b)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def contained(a, b) -> np.ndarray:
    """Whether every ``xyxy`` row of ``a`` lies wholly inside (edges included) every row of ``b``.

    >>> contained([[1, 1, 2, 2], [0, 0, 5, 5]], [[0, 0, 4, 4]]).tolist()
    [[True], [False]]
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)[:, None, :]
    b = np.asarray(b, np.float64).reshape(-1, 4)[None, :, :]
    return ((a[..., 0] >= b[..., 0]) & (a[..., 1] >= b[..., 1]) & (a[..., 2] <= b[..., 2])
            & (a[..., 3] <= b[..., 3]))


def overlap_areas(xyxy, box) -> np.ndarray:
    """Area each float box shares with one ``box`` (``x0, y0, x1, y1``).

    >>> overlap_areas(np.array([[0, 0, 4, 2], [5, 5, 6, 6]], np.float32), (2, 1, 10, 10)).tolist()
    [2.0, 1.0]
    """
    xyxy = np.asarray(xyxy)
    iw = np.minimum(xyxy[:, 2], box[2]) - np.maximum(xyxy[:, 0], box[0])
    ih = np.minimum(xyxy[:, 3], box[3]) - np.maximum(xyxy[:, 1], box[1])
    return np.clip(iw, 0, None) * np.clip(ih, 0, None)


def centres_inside(a, b) -> np.ndarray:
    """Whether the centre of every ``xyxy`` row of ``a`` lies inside every row of ``b`` (edges
    included), as a ``len(a) x len(b)`` matrix.

    >>> centres_inside([[0, 0, 2, 2], [8, 8, 9, 9]], [[0, 0, 4, 4], [1, 1, 3, 3]]).tolist()
    [[True, True], [False, False]]
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    cx, cy = (0.5 * (a[:, 0] + a[:, 2]))[:, None], (0.5 * (a[:, 1] + a[:, 3]))[:, None]
    return (cx >= b[None, :, 0]) & (cx <= b[None, :, 2]) & (cy >= b[None, :, 1]) & (cy <= b[None, :, 3])


def nested(xyxy, score) -> np.ndarray:
    """Which boxes lie wholly inside another box (edges included) that scores higher, or as
    high and comes first: dropping them leaves the union of the boxes, and of their padded
    boxes, as it is. (A box listed before a larger box of equal score is kept.)

    >>> nested([[0, 0, 10, 10], [2, 2, 8, 8], [5, 5, 12, 12], [2, 2, 8, 8]], [0.9, 0.3, 0.2, 0.95]).tolist()
    [False, True, False, False]
    """
    a = np.asarray(xyxy, np.float64).reshape(-1, 4)
    s = np.asarray(score, np.float64).reshape(-1)
    inside = contained(a, a)
    index = np.arange(len(a))
    # Row i is covered by column j when j scores higher, or as high and comes first.
    ranks = (s[None, :] > s[:, None]) | ((s[None, :] == s[:, None]) & (index[None, :] < index[:, None]))
    return (inside & ranks).any(axis=1)


#: A box lies on a vehicle when its centre is inside the vehicle's box and it is no wider than
#: this many times the vehicle and no taller than the vehicle (a billboard behind a small car
#: is not on it).
MAX_WIDTH_SHARE = 1.1


def on_vehicle(xyxy: np.ndarray, vehicles: np.ndarray) -> np.ndarray:
    """For each box, the index of the vehicle box it lies on, or -1.

    A box lies on a vehicle when its centre is inside the vehicle's box and it is not larger
    than the vehicle (`MAX_WIDTH_SHARE`); of several such vehicles the smallest (a car in
    front of a bus: the plate is the car's).

    >>> vehicles = np.array([[0, 0, 200, 100], [50, 40, 120, 100]], np.float32)
    >>> on_vehicle(np.array([[70, 80, 100, 90], [10, 10, 30, 20], [300, 0, 330, 10]], np.float32), vehicles).tolist()
    [1, 0, -1]
    """
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    vehicles = np.asarray(vehicles, np.float64).reshape(-1, 4)
    out = np.full(len(xyxy), -1, np.int64)
    if not len(xyxy) or not len(vehicles):
        return out
    inside = centres_inside(xyxy, vehicles)
    inside &= (xyxy[:, 2:3] - xyxy[:, 0:1]) <= MAX_WIDTH_SHARE * (vehicles[None, :, 2] - vehicles[None, :, 0])
    inside &= (xyxy[:, 3:4] - xyxy[:, 1:2]) <= (vehicles[None, :, 3] - vehicles[None, :, 1])
    area = np.where(inside, box_areas(vehicles)[None, :], np.inf)
    found = inside.any(axis=1)
    out[found] = np.argmin(area[found], axis=1)
    return out
