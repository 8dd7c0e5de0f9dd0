"""A cheap check that forces detection when something new moves between detector runs.

With detect-every-N, tracking covers the objects already found; a newcomer would stay
unseen until the next scheduled detection. The gate compares a small grey copy of each
frame with the one the detectors last saw and asks for a detection as soon as enough
pixels changed *outside* the motion it can explain:

- the regions already tracked (a tracked face explains the motion of the body below it);
- with a look-ahead (``lookahead=True``), the things that were already moving when the
  detectors last looked (and found no face on them), within a distance that grows with
  the frames since. A face such a thing reveals before the next scheduled detection is
  found there and back-filled into the frames before it by the two-sided hold, so the
  skipped frames are covered. Live use, with no look-ahead, cannot back-fill and gets no
  such allowance.

A moving camera changes every pixel, so it simply detects every frame: slower, never less
safe.
"""
from __future__ import annotations

import numpy as np

from .types import Kind, Regions

#: Width of the grey thumbnail compared (small: fast, and blind to sensor noise).
THUMB_WIDTH = 96
#: Grey-level change that counts as motion on the thumbnail.
DIFF_LEVEL = 18
#: Share of thumbnail pixels that must change unexplained to force detection.
CHANGED_SHARE = 0.002
#: Motion explained by a tracked face: its person's body moves too. Grow a face box by these
#: multiples of its width (each side) and height (above, below) before ignoring motion there.
FACE_BODY = (1.5, 0.5, 7.0)
#: How far, in thumbnail pixels per frame, a thing seen moving at the last detection may
#: have gone and still explain the motion around it (2 px: crossing the frame in 1.6 s at
#: 30 fps).
EXAMINED_SPEED = 2


class MotionGate:
    """Decide, frame by frame, whether motion that nothing explains needs the detectors.

    Parameters
    ----------
    lookahead : bool
        Whether the pipeline back-fills the frames before a first detection (its look-ahead
        spans the frames between scheduled detections); only then does motion the detectors
        already saw explain itself.
    """

    def __init__(self, lookahead: bool = False):
        self.lookahead = lookahead
        self._reference = None  # thumbnail of the frame the detectors last analysed
        self._examined = None  # what moved in that frame, as the detectors saw it
        self._since = 0
        self._now = None  # thumbnail of the latest frame given to needs_detection
        self._before = None  # and of the one before it
        self._scale = 1.0

    def _thumb(self, rgb: np.ndarray) -> np.ndarray:
        import cv2

        h, w = rgb.shape[:2]
        self._scale = min(1.0, THUMB_WIDTH / w)
        size = (max(1, round(w * self._scale)), max(1, round(h * self._scale)))
        grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
        return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)

    def needs_detection(self, rgb: np.ndarray, tracked: Regions, scheduled: bool = False) -> bool:
        """Whether this frame needs the detectors: ``scheduled`` ones always do, others when
        pixels changed unexplained since the last analysed frame. Call it for every frame."""
        import cv2

        self._before, self._now = self._now, self._thumb(rgb)
        if scheduled or self._reference is None or self._now.shape != self._reference.shape:
            return True
        self._since += 1
        changed = _changed(self._now, self._reference)
        for (x0, y0, x1, y1), kind in zip(tracked.xyxy * self._scale, tracked.kind):
            w, h = x1 - x0, y1 - y0
            side, above, below = FACE_BODY if kind == Kind.FACE else (0.5, 0.5, 0.5)
            x0, x1, y0, y1 = x0 - side * w, x1 + side * w, y0 - above * h, y1 + below * h
            # One thumbnail pixel of margin: a tracked object's own edges move too.
            changed[max(0, int(y0) - 1):int(np.ceil(y1)) + 1, max(0, int(x0) - 1):int(np.ceil(x1)) + 1] = False
        if self._examined is not None:
            reach = 2 * EXAMINED_SPEED * self._since + 1
            seen = cv2.dilate(self._examined, np.ones((reach, reach), np.uint8))
            changed &= seen == 0
        return changed.mean() > CHANGED_SHARE

    def detected(self) -> None:
        """Record that the frame last given to `needs_detection` went through the detectors."""
        self._reference = self._now
        self._since = 0
        same = self._before is not None and self._before.shape == self._now.shape
        self._examined = (_changed(self._now, self._before).astype(np.uint8)
                          if self.lookahead and same else None)


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Thumbnail pixels whose grey level differs by more than DIFF_LEVEL."""
    return np.abs(a.astype(np.int16) - b) > DIFF_LEVEL
