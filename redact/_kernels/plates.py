"""Decoding of a probability map into per-component boxes (plate and person detectors).

The detectors label the thresholded map with ``cv2.connectedComponents``; the kernel here
then gathers, in one pass over the map, each component's bounding box, size and the mean
probability inside it (DB's box score), which cv2's own statistics do not provide.
"""
import numpy as np

from ._jit import jit


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
            if x < out_box[k, 0]:
                out_box[k, 0] = x
            if x + 1 > out_box[k, 2]:
                out_box[k, 2] = x + 1
            if y < out_box[k, 1]:
                out_box[k, 1] = y
            if y + 1 > out_box[k, 3]:
                out_box[k, 3] = y + 1
    for k in range(1, n_labels):
        out_score[k] = total[k] / out_count[k] if out_count[k] > 0 else 0.0
