"""A cheap check that forces detection when something new moves between detector runs.

With detect-every-N, tracking covers the objects already found; a newcomer would stay
unseen until the next scheduled detection. The gate compares a small grey copy of the
frame with the one the detectors last saw and asks for a detection as soon as enough
pixels changed *outside* the regions already tracked (a tracked face explains the motion of
the body below it). A moving camera changes every pixel, so it simply detects every frame:
slower, never less safe.

Motion the detectors already saw does *not* excuse itself: a walker whose face they could
not see may turn it to the camera for two frames between scheduled detections, and only a
detection on those frames finds it (no back-fill can: by the next detection it is gone).
"""
from __future__ import annotations

import numpy as np

from ..core.types import Kind, Regions

#: Width of the grey thumbnail compared (small: fast, and blind to sensor noise).
THUMB_WIDTH = 96
#: Grey-level change that counts as motion on the thumbnail.
DIFF_LEVEL = 18
#: Share of thumbnail pixels that must change outside tracked regions to force detection.
CHANGED_SHARE = 0.002
#: Motion explained by a tracked face: its person's body moves too. Grow a face box by these
#: multiples of its width (each side) and height (above, below) before ignoring motion there.
FACE_BODY = (1.5, 0.5, 7.0)


#: Motion left unanalysed (`MotionGate.moved_boxes`) is covered by each changed patch's box
#: grown by `MOVED_GROWTH` of its own size and `MOVED_MARGIN` thumbnail pixels on every side:
#: a newcomer that resembles the background changes only some of its pixels.
MOVED_GROWTH, MOVED_MARGIN = 0.5, 2.0


def _thumbnail(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """The small grey copy the gate compares, and its scale (thumbnail pixels per frame pixel)."""
    import cv2

    h, w = rgb.shape[:2]
    scale = min(1.0, THUMB_WIDTH / w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA), scale


class MotionGate:
    """Decide, frame by frame, whether motion outside tracked regions needs the detectors."""

    def __init__(self):
        self._reference = None  # thumbnail of the frame the detectors last analysed
        self._now = None  # thumbnail of the latest frame given to needs_detection
        self._scale = 1.0  # its scale
        #: Whether the frame last given to `needs_detection` changed outside the tracked
        #: regions since the last analysed one (also on a scheduled frame).
        self.moved = True

    def needs_detection(self, rgb: np.ndarray, tracked: Regions, scheduled: bool = False) -> bool:
        """Whether this frame needs the detectors: ``scheduled`` ones always do, others when
        pixels changed outside ``tracked`` since the last analysed frame (`moved` says
        whether they did, scheduled or not)."""
        self._now, self._scale = _thumbnail(rgb)
        changed = self._unexplained(self._now, self._scale, tracked)
        self.moved = changed is None or changed.mean() > CHANGED_SHARE
        return scheduled or self.moved

    def moved_boxes(self, tracked: Regions, rgb: np.ndarray | None = None) -> np.ndarray | None:
        """Where the motion is that would make `needs_detection` ask for the detectors on
        ``rgb`` (default: the frame last given to it): (N, 4) boxes in frame pixels, empty when
        it would not ask (no motion outside ``tracked``), None when it cannot tell (nothing
        analysed yet, or a failed detection since: the whole frame is unknown). Read-only:
        for a frame whose detection did not run in time (`redact.pipeline.live`), which must
        then be obscured there.
        """
        import cv2

        if rgb is None:
            now, scale = self._now, self._scale
        else:
            now, scale = _thumbnail(rgb)
        if now is None:
            return None
        changed = self._unexplained(now, scale, tracked)
        if changed is None:
            return None
        if changed.mean() <= CHANGED_SHARE:
            return np.zeros((0, 4), np.float64)
        _, _, stats, _ = cv2.connectedComponentsWithStats(changed.astype(np.uint8), connectivity=8)
        x, y, w, h = (stats[1:, i].astype(np.float64) for i in range(4))
        grow_x, grow_y = MOVED_GROWTH * w + MOVED_MARGIN, MOVED_GROWTH * h + MOVED_MARGIN
        # May reach past the frame's far edges (obscuring clips to the frame).
        return np.maximum(np.stack([x - grow_x, y - grow_y, x + w + grow_x, y + h + grow_y], axis=1) / scale, 0)

    def _unexplained(self, now: np.ndarray, scale: float, tracked: Regions) -> np.ndarray | None:
        """Thumbnail pixels changed since the reference outside ``tracked`` (grown, see
        `FACE_BODY`); None without a reference of this size."""
        if self._reference is None or now.shape != self._reference.shape:
            return None
        changed = np.abs(now.astype(np.int16) - self._reference) > DIFF_LEVEL
        height, width = changed.shape
        # float64: growing a huge float32 box must not overflow to inf. All boxes at once:
        # a crowd is a hundred tracked boxes a frame.
        x0, y0, x1, y1 = (tracked.xyxy.astype(np.float64) * scale).T
        w, h = x1 - x0, y1 - y0
        face = tracked.kind == Kind.FACE
        side, above, below = (np.where(face, grow, 0.5) for grow in FACE_BODY)
        # One thumbnail pixel of margin: a tracked object's own edges move too. Both ends
        # are clipped to the thumbnail: a negative end would wrap around as a slice index
        # (a box just off the top would excuse nearly the whole frame).
        rows = _span(y0 - above * h, y1 + below * h, height)
        cols = _span(x0 - side * w, x1 + side * w, width)
        for r0, r1, c0, c1 in zip(*rows, *cols):
            if r1 > r0 and c1 > c0:
                changed[r0:r1, c0:c1] = False
        return changed

    def detected(self, trusted: bool = True) -> None:
        """Record that the frame last given to `needs_detection` went through the detectors.

        ``trusted=False`` (a detector failed on it) forgets the reference instead, so the
        next frame is analysed again: nothing was learnt from this one.
        """
        self._reference = self._now if trusted else None


#: A shot change: the colour histograms of consecutive thumbnails differ by at least
#: `CUT_COLOUR` (Bhattacharyya distance), their grey levels by `CUT_GREY` on average, *and*
#: their shapes correlate less than `CUT_SHAPE` (normalised grey correlation: brightness and
#: contrast taken out). Measured on the shared clips (every frame pair): the Hamilton clip's
#: three cuts give 0.39-0.54, 27.7-30.4 and 0.01-0.23; within shots the extremes are 0.19
#: (a car park at dusk), 27.8 (a hand over a selfie camera, colour 0.13) and 0.63. A doorbell
#: switching to infrared, or a flash, changes colour and level but keeps the shapes (0.97 on
#: a Hamilton frame turned grey and brightened): not a cut, so its holds stay.
CUT_COLOUR, CUT_GREY, CUT_SHAPE = 0.3, 20.0, 0.4
CUT_THUMB = (64, 36)


class SceneCuts:
    """Tell a shot change between consecutive frames from motion within a shot.

    Across a cut, nothing of the previous shot is in view: its held boxes and predictions
    only hide the new shot (grey slabs where nobody is). A missed cut costs only that; a
    false one ends holds on a frame that is then analysed afresh, which is why both the
    colours and the grey levels must change.
    """

    def __init__(self):
        self._previous = None  # (hue-saturation histogram, grey thumbnail) of the last frame

    def is_cut(self, rgb: np.ndarray) -> bool:
        """Whether ``rgb`` starts a new shot (False for the first frame and after a size change)."""
        import cv2

        small = cv2.resize(np.ascontiguousarray(rgb), CUT_THUMB, interpolation=cv2.INTER_AREA)
        counts = cv2.calcHist([cv2.cvtColor(small, cv2.COLOR_RGB2HSV)], [0, 1], None, [16, 4], [0, 180, 0, 256])
        hist = (counts / max(float(counts.sum()), 1.0)).astype(np.float32)
        grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
        previous, self._previous = self._previous, (hist, grey)
        if previous is None:
            return False
        colour = cv2.compareHist(hist, previous[0], cv2.HISTCMP_BHATTACHARYYA)
        if colour < CUT_COLOUR or float(np.abs(grey - previous[1]).mean()) < CUT_GREY:
            return False
        return _shape_correlation(grey, previous[1]) < CUT_SHAPE


def _shape_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised cross-correlation of two grey thumbnails (1: same shapes, whatever the
    brightness and contrast; a flat thumbnail has no shape and correlates 0)."""
    a, b = a - a.mean(), b - b.mean()
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum()) / norm if norm > 0 else 0.0


def _span(lo: np.ndarray, hi: np.ndarray, size: int) -> tuple[list, list]:
    """Thumbnail rows (or columns) ``[start, stop)`` of each ``lo .. hi`` with one pixel of
    margin, rounded outward and clipped to ``0 .. size``; empty (stop <= start) when off the
    thumbnail.

    >>> _span(np.array([-5.0, 3.2]), np.array([-2.0, 7.5]), 10)
    ([0, 2], [0, 9])
    """
    start = np.clip(np.floor(lo) - 1, 0, size).astype(np.int64).tolist()
    stop = np.clip(np.ceil(hi) + 1, 0, size).astype(np.int64).tolist()
    return start, stop
