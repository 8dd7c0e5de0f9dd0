"""Kernels over labelled components of a probability map or mask (plate and person detectors).

The detectors label a thresholded map with ``cv2.connectedComponents``. `component_stats`
then gathers, in one pass over the map, each component's bounding box, size and the mean
probability inside it (DB's box score), which cv2's own statistics do not provide.

`split_components` splits components between seed boxes (the person detector's instances).
A frame-level person mask often joins several people into one connected component (people
walking side by side, a group photo). Pedestrian boxes found independently are the seeds:
each pixel of a component goes to the nearest seed of that component, when one is near
enough, and the rest of the component stays a separate, unassigned part. One pass over the
label image.

Callers (`redact.detectors.plates`, `redact.detectors.persons`) validate and allocate
``out``. The NumPy references are in ``tests/test_plates.py`` (`component_stats`) and
``tests/test_persons.py`` (`split_components`).
"""
import numpy as np

from ._jit import jit, jit_inline


@jit_inline
def _take_pixel(box, k, x, y):
    """Grow half-open box row ``k`` of ``box`` (K, 4) to hold pixel ``(x, y)``."""
    if x < box[k, 0]:
        box[k, 0] = x
    if x + 1 > box[k, 2]:
        box[k, 2] = x + 1
    if y < box[k, 1]:
        box[k, 1] = y
    if y + 1 > box[k, 3]:
        box[k, 3] = y + 1


@jit
def split_components(labels, n_labels, seeds, seed_label, reach, out_owner, out_seed, out_seed_count):
    """Which seed takes each pixel of a component, and the extent of each seed's pixels.

    Parameters
    ----------
    labels : int32 (H, W)
        Component labels ``0 .. n_labels - 1``; 0 is the background and is skipped.
    n_labels : int
        Number of labels, background included.
    seeds : float64 (K, 4)
        Seed boxes ``x0, y0, x1, y1`` in label-image pixels, each with positive size.
    seed_label : int64 (K,)
        Component each seed belongs to (``1 .. n_labels - 1``), or -1 for none.
    reach : float
        A pixel may join a seed when its centre lies inside the seed box grown about its
        centre by this factor (1: inside the box). Among the seeds in reach, the nearest in
        box-normalised Chebyshev distance wins, the first seed on ties.
    out_owner : int32 (H, W)
        Written: ``k + 1`` where seed ``k`` took the pixel, 0 elsewhere (background, and
        component pixels no seed reached).
    out_seed : int32 (K, 4)
        Written: half-open extent of the pixels each seed took; ``x0 = W, y0 = H, x1 = y1 = 0``
        when it took none.
    out_seed_count : int64 (K,)
        Written: number of pixels each seed took.
    """
    height, width = labels.shape
    n_seeds = seeds.shape[0]
    for k in range(n_seeds):
        out_seed[k, 0] = width
        out_seed[k, 1] = height
        out_seed[k, 2] = 0
        out_seed[k, 3] = 0
        out_seed_count[k] = 0
    # Seeds grouped by component (CSR), so a pixel only looks at its own component's seeds.
    start = np.zeros(n_labels + 1, np.int64)
    for k in range(n_seeds):
        lab = seed_label[k]
        if 0 < lab < n_labels:
            start[lab + 1] += 1
    for lab in range(n_labels):
        start[lab + 1] += start[lab]
    fill = start.copy()
    members = np.empty(max(1, start[n_labels]), np.int64)
    for k in range(n_seeds):
        lab = seed_label[k]
        if 0 < lab < n_labels:
            members[fill[lab]] = k
            fill[lab] += 1
    cx = np.empty(n_seeds, np.float64)
    cy = np.empty(n_seeds, np.float64)
    hw = np.empty(n_seeds, np.float64)
    hh = np.empty(n_seeds, np.float64)
    for k in range(n_seeds):
        cx[k] = 0.5 * (seeds[k, 0] + seeds[k, 2])
        cy[k] = 0.5 * (seeds[k, 1] + seeds[k, 3])
        hw[k] = 0.5 * (seeds[k, 2] - seeds[k, 0])
        hh[k] = 0.5 * (seeds[k, 3] - seeds[k, 1])
    for y in range(height):
        py = y + 0.5
        for x in range(width):
            out_owner[y, x] = 0
            lab = labels[y, x]
            if lab <= 0:
                continue
            px = x + 0.5
            best = -1
            best_d = reach
            for m in range(start[lab], start[lab + 1]):
                k = members[m]
                d = max(abs(px - cx[k]) / hw[k], abs(py - cy[k]) / hh[k])
                if d <= best_d and (best < 0 or d < best_d):
                    best = k
                    best_d = d
            if best >= 0:
                out_owner[y, x] = best + 1
                out_seed_count[best] += 1
                _take_pixel(out_seed, best, x, y)


@jit
def component_stats(labels, prob, n_labels, out_box, out_score, out_count):
    """Bounding box, mean probability and size of every labelled component.

    Parameters
    ----------
    labels : int32 (H, W)
        Component labels ``0 .. n_labels - 1``; 0 is the background and is skipped.
    prob : float32 (H, W)
        Probability map the labels were thresholded from.
    n_labels : int
        Number of labels, background included.
    out_box : int32 (n_labels, 4)
        Written: half-open ``x0, y0, x1, y1`` of each component (row 0 untouched).
    out_score : float32 (n_labels,)
        Written: mean of ``prob`` over each component's pixels (row 0 untouched).
    out_count : int64 (n_labels,)
        Written: number of pixels of each component (row 0 untouched).
    """
    height, width = labels.shape
    total = np.zeros(n_labels, np.float64)
    for k in range(1, n_labels):
        out_count[k] = 0
        out_box[k, 0] = width
        out_box[k, 1] = height
        out_box[k, 2] = 0
        out_box[k, 3] = 0
    for y in range(height):
        for x in range(width):
            k = labels[y, x]
            if k <= 0:
                continue
            total[k] += prob[y, x]
            out_count[k] += 1
            _take_pixel(out_box, k, x, y)
    for k in range(1, n_labels):
        out_score[k] = total[k] / out_count[k] if out_count[k] > 0 else 0.0
