"""Box kernels shared by the detectors and the tracker.

Boxes are ``x0, y0, x1, y1`` floats; callers validate them. The NumPy reference is in
``tests/test_tracking.py``.
"""
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
