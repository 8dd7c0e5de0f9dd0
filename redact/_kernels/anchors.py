"""Face detector output decoding and box merging.

``anchor_centers``      SSD anchor centres of a BlazeFace model (MediaPipe layout)
``decode_blazeface``    anchors + regressors + logits -> boxes above a score, in frame pixels
``decode_centerface``   CenterFace heatmap/scale/offset maps -> boxes above a score
``weighted_nms``        greedy clustering by IoU; each cluster becomes the union of its confident members

Coordinates leave the decoders already in frame pixels: each decoder takes the affine map
``frame = input * a + b`` (per axis) of the pass that produced the raw outputs, so letterbox,
tile offset and scale are undone in one place. Output arrays are preallocated by the caller
with one row per candidate; the functions return how many rows they filled.
"""
import math

import numpy as np

from ._jit import jit
from .boxes import iou


@jit
def anchor_centers(input_size, strides, per_cell):
    """Anchor centres, float32 (N, 2) as ``(cx, cy)`` in [0, 1] of the model input.

    MediaPipe's SSD anchors with ``fixed_anchor_size``: every anchor of a cell has the same
    centre and unit size, so only the centres matter. Layers sharing a stride are already
    folded into ``per_cell`` (e.g. BlazeFace back: strides (16, 32), per_cell (2, 6)).
    Order: stride group, then row, column, anchor, as the model's outputs are laid out.
    """
    total = 0
    for k in range(strides.shape[0]):
        cells = (input_size + strides[k] - 1) // strides[k]
        total += cells * cells * per_cell[k]
    out = np.empty((total, 2), np.float32)
    i = 0
    for k in range(strides.shape[0]):
        cells = (input_size + strides[k] - 1) // strides[k]
        for y in range(cells):
            for x in range(cells):
                for _ in range(per_cell[k]):
                    out[i, 0] = (x + 0.5) / cells
                    out[i, 1] = (y + 0.5) / cells
                    i += 1
    return out


@jit
def decode_blazeface(logits, regressors, anchors, input_size, threshold, affine, out_xyxy, out_score):
    """Boxes of the anchors whose sigmoid score reaches ``threshold``.

    Parameters
    ----------
    logits : float32 (N,)
        Raw classifier outputs.
    regressors : float32 (N, >=4)
        ``dx, dy, w, h`` in model-input pixels (then keypoints, unused here).
    anchors : float32 (N, 2)
        From `anchor_centers`.
    input_size : int
        Side of the square model input, pixels.
    threshold : float
        Minimum score in (0, 1).
    affine : float64 (4,)
        ``ax, bx, ay, by``: frame ``x = ax * input_x + bx``, ``y = ay * input_y + by``.
    out_xyxy : float32 (N, 4), out_score : float32 (N,)
        Filled from row 0.

    Returns
    -------
    int
        Rows filled.
    """
    # Compare logits, not probabilities: one log instead of N exps.
    cut = math.log(threshold / (1.0 - threshold))
    ax, bx, ay, by = affine[0], affine[1], affine[2], affine[3]
    n = 0
    for i in range(logits.shape[0]):
        z = logits[i]
        if z < cut:
            continue
        cx = anchors[i, 0] * input_size + regressors[i, 0]
        cy = anchors[i, 1] * input_size + regressors[i, 1]
        # A (rare) negative size would give an inverted box, which Regions refuses.
        hw = 0.5 * abs(regressors[i, 2])
        hh = 0.5 * abs(regressors[i, 3])
        out_xyxy[n, 0] = ax * (cx - hw) + bx
        out_xyxy[n, 1] = ay * (cy - hh) + by
        out_xyxy[n, 2] = ax * (cx + hw) + bx
        out_xyxy[n, 3] = ay * (cy + hh) + by
        # Clipped like MediaPipe does, so exp() cannot overflow.
        out_score[n] = 1.0 / (1.0 + math.exp(-min(max(z, -100.0), 100.0)))
        n += 1
    return n


@jit
def decode_centerface(heatmap, scale, offset, threshold, affine, out_xyxy, out_score):
    """Boxes of the heatmap cells whose score reaches ``threshold``.

    Parameters
    ----------
    heatmap : float32 (H, W)
        Face-centre scores at stride 4.
    scale : float32 (2, H, W)
        Log of box height and width, in units of the stride.
    offset : float32 (2, H, W)
        Sub-cell offset of the centre (y, x), in units of the stride.
    threshold : float
        Minimum score.
    affine : float64 (4,)
        ``ax, bx, ay, by`` from model-input pixels to frame pixels.
    out_xyxy : float32 (H*W, 4), out_score : float32 (H*W,)
        Filled from row 0.

    Returns
    -------
    int
        Rows filled.
    """
    ax, bx, ay, by = affine[0], affine[1], affine[2], affine[3]
    n = 0
    for y in range(heatmap.shape[0]):
        for x in range(heatmap.shape[1]):
            s = heatmap[y, x]
            if s < threshold:
                continue
            h = 4.0 * math.exp(scale[0, y, x])
            w = 4.0 * math.exp(scale[1, y, x])
            cy = 4.0 * (y + offset[0, y, x] + 0.5)
            cx = 4.0 * (x + offset[1, y, x] + 0.5)
            out_xyxy[n, 0] = ax * (cx - 0.5 * w) + bx
            out_xyxy[n, 1] = ay * (cy - 0.5 * h) + by
            out_xyxy[n, 2] = ax * (cx + 0.5 * w) + bx
            out_xyxy[n, 3] = ay * (cy + 0.5 * h) + by
            out_score[n] = s
            n += 1
    return n


#: Members of a `weighted_nms` cluster scoring at least this share of its seed's score are
#: "confident": the merged box covers every one of them.
CONFIDENT_SHARE = 0.5


@jit
def weighted_nms(xyxy, score, iou_threshold, out_xyxy, out_score):
    """Merge overlapping boxes into one per face, never smaller than the boxes it replaces.

    Boxes are taken by descending score (ties by index). Each not-yet-used box seeds a
    cluster of every unused box whose IoU with it is at least ``iou_threshold``; the cluster
    becomes one box with the seed's score: the union (bounding box) of the seed and of every
    member scoring at least `CONFIDENT_SHARE` of the seed's score. Members below that are
    suppressed without widening it. MediaPipe's weighted NMS averages the cluster instead,
    which can shrink the box below the seed's own; for redaction a merged box must cover
    each confident detection of the face, so the seed (the best box) is always inside it.

    Parameters
    ----------
    xyxy : float32 (N, 4), score : float32 (N,)
        Candidates.
    iou_threshold : float
        Cluster membership.
    out_xyxy : float32 (N, 4), out_score : float32 (N,)
        Filled from row 0, by descending score.

    Returns
    -------
    int
        Rows filled.
    """
    n = xyxy.shape[0]
    order = np.argsort(-score, kind="mergesort")
    used = np.zeros(n, np.bool_)
    m = 0
    for oi in range(n):
        i = order[oi]
        if used[i]:
            continue
        # The seed always belongs to its own cluster, even when it is empty (IoU 0).
        used[i] = True
        confident = CONFIDENT_SHARE * score[i]
        x0, y0, x1, y1 = xyxy[i, 0], xyxy[i, 1], xyxy[i, 2], xyxy[i, 3]
        for oj in range(oi + 1, n):
            j = order[oj]
            if used[j]:
                continue
            # The seed's own box xyxy[i], not x0..y1: those widen as members join.
            if iou(xyxy[i, 0], xyxy[i, 1], xyxy[i, 2], xyxy[i, 3],
                   xyxy[j, 0], xyxy[j, 1], xyxy[j, 2], xyxy[j, 3]) < iou_threshold:
                continue
            used[j] = True
            if score[j] >= confident:
                x0 = min(x0, xyxy[j, 0])
                y0 = min(y0, xyxy[j, 1])
                x1 = max(x1, xyxy[j, 2])
                y1 = max(y1, xyxy[j, 3])
        out_xyxy[m, 0] = x0
        out_xyxy[m, 1] = y0
        out_xyxy[m, 2] = x1
        out_xyxy[m, 3] = y1
        out_score[m] = score[i]
        m += 1
    return m
