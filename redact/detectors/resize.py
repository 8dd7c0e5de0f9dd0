"""The one resize the detectors use to bring a view to a network's input."""
from __future__ import annotations

import numpy as np


def resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` at ``width`` x ``height``: averaged over areas when it shrinks both ways (no
    aliasing of small faces and characters), bilinear otherwise. cv2 maps pixel edges to
    pixel edges, so the scale per axis is exactly ``width / image width``.
    """
    import cv2

    h, w = image.shape[:2]
    shrink = width < w and height < h
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
