"""Box kernels shared by the detectors and the tracker.

Boxes are ``x0, y0, x1, y1`` floats; callers validate them. The NumPy references are in
``tests/test_tracking.py`` and ``tests/test_objects.py``.
"""
import numpy as np

from ._jit import jit


@jit
def iou(ax0, ay0, ax1, ay1, bx0, by0, bx1, by1):
    """Intersection over union of box ``a`` and box ``b`` (0 when they share no area)."""
    ix = min(ax1, bx1) - max(ax0, bx0)
    iy = min(ay1, by1) - max(ay0, by0)
    # Disjoint or touching boxes (and zero-area ones) share nothing; this also keeps the
    # division below away from a zero union.
    if ix <= 0.0 or iy <= 0.0:
        return 0.0
    inter = ix * iy
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    # Finite boxes that overlap always have a positive union; a NaN union (non-finite
    # input) counts as no overlap.
    return inter / union if union > 0.0 else 0.0


@jit
def group_views(xyxy, area, height, score, kind, cut, order, nms_iou, cut_share, nested_share, nested_height,
                nested_area, first, boxes):
    """The grouping of `redact.detectors.objects.merge_views` (read its docstring): rows in
    ``order``, each joining the best group of its kind or starting one (on ties, the first
    group). ``area`` and ``height`` are the boxes' own, computed in float32 as the callers'
    NumPy does, then widened; groups are float64. Writes each group's first row into
    ``first`` and its box into ``boxes`` ((N, 4)); returns the number of groups. A loop here,
    not per row in NumPy: 50 pooled boxes cost 5 ms a call there (0.02 ms here), on the
    detection lane the frame waits for.

    The NumPy reference is `merge_views_reference` in ``tests/test_objects.py``.
    """
    n = order.shape[0]
    weight_sum = np.zeros(n)
    weighted = np.zeros((n, 4))
    groups = 0
    for r in range(n):
        i = order[r]
        bx0, by0, bx1, by1 = float(xyxy[i, 0]), float(xyxy[i, 1]), float(xyxy[i, 2]), float(xyxy[i, 3])
        a_i = max(bx1 - bx0, 0.0) * max(by1 - by0, 0.0)
        best_iou, at_iou = -1.0, -1
        any_nested, best_nested, at_nested = False, -1.0, -1
        best_inside, at_inside = -1.0, -1
        for g in range(groups):
            if kind[first[g]] != kind[i]:
                continue
            gx0, gy0, gx1, gy1 = boxes[g, 0], boxes[g, 1], boxes[g, 2], boxes[g, 3]
            ix = min(bx1, gx1) - max(bx0, gx0)
            iy = min(by1, gy1) - max(by0, gy0)
            inter = max(ix, 0.0) * max(iy, 0.0)
            a_g = max(gx1 - gx0, 0.0) * max(gy1 - gy0, 0.0)
            union = a_i + a_g - inter
            overlap = inter / union if union > 0.0 else 0.0
            if overlap > best_iou:
                best_iou, at_iou = overlap, g
            inside = inter / max(area[i], 1e-9)
            if inside > best_inside:
                best_inside, at_inside = inside, g
            nested = inter / max(min(area[i], a_g), 1e-9)
            h_g = gy1 - gy0
            alike = (min(height[i], h_g) >= nested_height * max(height[i], h_g)
                     and min(area[i], a_g) >= nested_area * max(area[i], a_g))
            if alike and nested > nested_share:
                any_nested = True
            candidate = nested if alike else 0.0
            if candidate > best_nested:
                best_nested, at_nested = candidate, g
        group = -1
        if at_iou >= 0 and best_iou > nms_iou:
            group = at_iou
        elif any_nested:
            group = at_nested
        elif cut[i] and at_inside >= 0 and best_inside > cut_share:
            group = at_inside
        if group < 0:
            first[groups] = i
            boxes[groups, 0], boxes[groups, 1], boxes[groups, 2], boxes[groups, 3] = bx0, by0, bx1, by1
            if not cut[i]:
                weight_sum[groups] = score[i]
                for k in range(4):
                    weighted[groups, k] = score[i] * boxes[groups, k]
            groups += 1
        elif not cut[i]:
            weight_sum[group] += score[i]
            for k in range(4):
                weighted[group, k] = weighted[group, k] + score[i] * xyxy[i, k]
                if weight_sum[group] > 0.0:  # scores are above a threshold; never divide by 0
                    boxes[group, k] = weighted[group, k] / weight_sum[group]
        elif weight_sum[group] == 0.0:
            boxes[group, 0] = min(boxes[group, 0], bx0)
            boxes[group, 1] = min(boxes[group, 1], by0)
            boxes[group, 2] = max(boxes[group, 2], bx1)
            boxes[group, 3] = max(boxes[group, 3], by1)
    return groups
