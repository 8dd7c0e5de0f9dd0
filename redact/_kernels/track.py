"""Tracking kernels: box affinity, greedy and optimal association, constant-velocity prediction.

Boxes are float64 ``(N, 4)`` rows ``x0, y0, x1, y1``; kinds are int8. Callers
(`redact.pipeline.tracking`) validate inputs and allocate ``out``. Each kernel has a NumPy reference
in ``tests/test_tracking.py``.
"""
import math

import numpy as np

from ._jit import jit
from .boxes import iou


@jit
def affinity_matrix(tracks, track_kind, dets, det_kind, small, out):
    """How well each track (row) fits each detection (column), in [0, 1]; -1 across kinds.

    The affinity is the IoU. When every side of both boxes is shorter than ``small`` pixels
    it is at least ``1 - d / s``, with ``d`` the distance between the centres and ``s`` the
    longest side of either box: a few pixels of motion leave two small boxes with no
    overlap at all, yet they are plainly the same object.
    """
    for i in range(tracks.shape[0]):
        ax0, ay0, ax1, ay1 = tracks[i, 0], tracks[i, 1], tracks[i, 2], tracks[i, 3]
        for j in range(dets.shape[0]):
            if track_kind[i] != det_kind[j]:
                out[i, j] = -1.0
                continue
            bx0, by0, bx1, by1 = dets[j, 0], dets[j, 1], dets[j, 2], dets[j, 3]
            value = iou(ax0, ay0, ax1, ay1, bx0, by0, bx1, by1)
            size = max(ax1 - ax0, ay1 - ay0, bx1 - bx0, by1 - by0)
            if 0.0 < size < small:
                dx = 0.5 * ((ax0 + ax1) - (bx0 + bx1))
                dy = 0.5 * ((ay0 + ay1) - (by0 + by1))
                value = max(value, 1.0 - math.sqrt(dx * dx + dy * dy) / size)
            out[i, j] = value


@jit
def greedy_assign(affinity, threshold, det_track):
    """Pair tracks with detections, best affinity first; each used at most once.

    Writes into ``det_track`` (M,) the track row matched to each detection, or -1. Only
    pairs with ``affinity >= threshold`` match. Ties go to the pair first in row-major
    order (the stable sort keeps it), so the result is deterministic.

    Nearest first is the rule where it is used (a lost track found again by the closest
    detection); the tracker's main association is `optimal_assign`. A wrong pairing costs an
    identity or a velocity estimate, never coverage: every detection is output either way.
    """
    n, m = affinity.shape
    det_track[:] = -1
    if n == 0 or m == 0:
        return
    flat = np.ascontiguousarray(affinity).ravel()
    order = np.argsort(-flat, kind="mergesort")
    track_used = np.zeros(n, np.bool_)
    for k in order:
        if flat[k] < threshold:
            break
        i = k // m
        j = k % m
        if track_used[i] or det_track[j] >= 0:
            continue
        track_used[i] = True
        det_track[j] = i


@jit
def optimal_assign(affinity, threshold, det_track):
    """Pair tracks with detections so the summed affinity of the pairs is largest; each used
    at most once, only pairs with ``affinity >= threshold``.

    Writes into ``det_track`` (M,) the track row matched to each detection, or -1. Where
    people walk close together, best-first pairing takes the single best pair and leaves its
    neighbours the poor ones (one person's track on the other's box); the best whole
    assignment follows each of them (PETS09, every frame detected: ID switches per person
    5.79 -> 5.47, subject of an incident visible 33.5% -> 34.6% of its 200 frames).

    Hungarian algorithm with potentials (Kuhn-Munkres, O(K^2 L) for K <= L), minimising
    ``-w`` where ``w`` is the affinity of a pair at or above the threshold and 0 otherwise,
    on the matrix transposed so rows are the fewer side; pairs of ``w == 0`` are not matched.
    """
    n, m = affinity.shape
    det_track[:] = -1
    if n == 0 or m == 0:
        return
    flip = n > m
    rows, cols = (m, n) if flip else (n, m)
    cost = np.zeros((rows + 1, cols + 1), np.float64)  # 1-based, as the algorithm is written
    for i in range(n):
        for j in range(m):
            a = affinity[i, j]
            w = a if a >= threshold and a > 0.0 else 0.0
            if flip:
                cost[j + 1, i + 1] = -w
            else:
                cost[i + 1, j + 1] = -w
    u = np.zeros(rows + 1)
    v = np.zeros(cols + 1)
    owner = np.zeros(cols + 1, np.int64)  # row assigned to each column, 0: none
    way = np.zeros(cols + 1, np.int64)
    for r in range(1, rows + 1):
        owner[0] = r
        j0 = 0
        slack = np.full(cols + 1, np.inf)
        used = np.zeros(cols + 1, np.bool_)
        while True:
            used[j0] = True
            r0 = owner[j0]
            delta = np.inf
            j1 = 0
            for j in range(1, cols + 1):
                if not used[j]:
                    reduced = cost[r0, j] - u[r0] - v[j]
                    if reduced < slack[j]:
                        slack[j] = reduced
                        way[j] = j0
                    if slack[j] < delta:
                        delta = slack[j]
                        j1 = j
            for j in range(cols + 1):
                if used[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    slack[j] -= delta
            j0 = j1
            if owner[j0] == 0:
                break
        while j0 != 0:
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    for j in range(1, cols + 1):
        r = owner[j]
        if r == 0:
            continue
        i, d = (j - 1, r - 1) if flip else (r - 1, j - 1)
        if cost[r, j] < 0.0:  # a pair of positive weight at or above the threshold
            det_track[d] = i


@jit
def predict(box, velocity, age, growth, core, grown):
    """Where each track should be ``age`` frames after its last detection.

    ``core`` is the last detected box moved by ``velocity`` (centre pixels per frame) times
    ``age``, with its size kept; ``grown`` is ``core`` widened by ``growth * age`` of that
    size on every side, because the longer an object goes unseen the less sure its place.
    """
    for i in range(box.shape[0]):
        a = age[i]
        sx = velocity[i, 0] * a
        sy = velocity[i, 1] * a
        pad = growth * a
        px = pad * (box[i, 2] - box[i, 0])
        py = pad * (box[i, 3] - box[i, 1])
        core[i, 0] = box[i, 0] + sx
        core[i, 1] = box[i, 1] + sy
        core[i, 2] = box[i, 2] + sx
        core[i, 3] = box[i, 3] + sy
        grown[i, 0] = core[i, 0] - px
        grown[i, 1] = core[i, 1] - py
        grown[i, 2] = core[i, 2] + px
        grown[i, 3] = core[i, 3] + py


@jit
def weigh_person_shape(tracks, track_kind, dets, det_kind, person_kind, affinity):
    """Scale person-to-person affinities by how alike the two boxes' sizes are.

    Multiplies ``affinity[i, j]`` (in place) by ``sqrt(rh * rw)``, with ``rh`` and ``rw``
    the ratios (smaller over larger) of the heights and widths, when track ``i`` and
    detection ``j`` are both ``person_kind``; other pairs are untouched. A person's
    detector output also holds mask fragments and parts that join two people: they
    overlap the person's track about as much as the person's own box does, but differ in
    shape, and matching them stole the track (measured on PETS09: 101 -> 90 ID switches).
    """
    for i in range(tracks.shape[0]):
        if track_kind[i] != person_kind:
            continue
        wt = tracks[i, 2] - tracks[i, 0]
        ht = tracks[i, 3] - tracks[i, 1]
        for j in range(dets.shape[0]):
            if det_kind[j] != person_kind or affinity[i, j] <= 0.0:
                continue
            wd = dets[j, 2] - dets[j, 0]
            hd = dets[j, 3] - dets[j, 1]
            rw = min(wt, wd) / max(wt, wd) if max(wt, wd) > 0.0 else 1.0
            rh = min(ht, hd) / max(ht, hd) if max(ht, hd) > 0.0 else 1.0
            affinity[i, j] *= math.sqrt(rw * rh)
