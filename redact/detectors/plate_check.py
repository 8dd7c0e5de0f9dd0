"""The plate check: which of the text detector's boxes hold characters, failing closed.

`redact.detectors.plates` finds text; this decides which text boxes to keep, reading them
with `redact.detectors.text_reader.TextReader`. Every rule here keeps a box when in doubt:
boxes too small to read, boxes past the reading budget and boxes where legible text was a
frame ago are kept unread, and a text that reads as nothing gets a second chance before it
is dropped. The settings are `redact.detectors.plates.PlatePlan`'s ``read_*`` fields.
"""
from __future__ import annotations

import numpy as np

from ..core.geometry import box_areas, iou_matrix, overlap_areas
from .resize import resize
from .text_reader import TextReader

#: Two text boxes are the same text (seen in two views) when this share of the smaller one
#: lies in the other.
_SAME_TEXT = 0.7
#: A text's second reading is also tried this share of its height inside its box's edges.
_INNER = 0.15
_INWARD = np.array([1, 1, -1, -1], np.float32)
#: A text box at least this IoU with one legible in the previous frame is the same text,
#: when the two frames' 32x18 grey thumbnails differ by less than `_SAME_SCENE` grey levels
#: on average (measured on frames 3 apart: median 0.3-6.3 on three shared clips, egoblur's
#: moving camera the highest; 20 pairs of OpenALPR photos: 28 to 43 at the median).
_SAME_PLACE, _SAME_SCENE = 0.5, 12.0


class PlateCheck:
    """Keeps the text boxes of a frame that hold characters (and every box it cannot judge).

    Parameters
    ----------
    plan : PlatePlan
        Its ``read_min_height``, ``read_min_chars``, ``read_min_prob`` and ``read_max``.
    models_dir : path, optional
        Model cache (see `redact.detectors.models.models_dir`).

    Notes
    -----
    Remembers the previous frame's legible text: use one per stream and thread (as each
    `PlateDetector` holds one).
    """

    def __init__(self, plan, models_dir=None):
        self.plan = plan
        self.reader = TextReader(models_dir)
        self.models = self.reader.models
        self.runtime = self.reader.runtime
        # Text boxes kept as legible in the previous frame, and (shape, thumbnail) of it.
        self._before: tuple = (np.zeros((0, 4), np.float32), None)

    def keep(self, frame: np.ndarray, text: np.ndarray, score: np.ndarray) -> np.ndarray:
        """Which text boxes (un-grown, frame pixels, with their detector ``score``) to keep.

        The views find the same text at several scales; it is read in its most confident
        box and, when that reads as nothing, again in two other cuts: the box shrunk inward
        (a box that took in the plate's border reads as nothing, its inside as the plate)
        and the box of another view most different in height. On
        ``plates/openalpr_benchmarks`` the second chance keeps 4 of 222 plates. The verdict
        holds for every box lying mostly on the one read.
        """
        plan = self.plan
        heights = text[:, 3] - text[:, 1]
        areas = np.maximum(box_areas(text), 1e-6)
        keep = heights < plan.read_min_height
        thumb = resize(frame, 32, 18).astype(np.float32).mean(axis=2)
        reused = self._where_legible_before(frame, thumb, text) & ~keep
        keep |= reused
        todo = ~keep
        groups: list = []  # (boxes of one text, the box read first, the other view's box)
        while todo.any() and len(groups) < plan.read_max:
            first = int(np.flatnonzero(todo)[np.argmax(score[todo])])
            same = todo & (overlap_areas(text, text[first]) >= _SAME_TEXT * np.minimum(areas, areas[first]))
            same[first] = True
            groups.append((same, first, int(np.argmax(np.where(same, np.abs(heights - heights[first]), -1.0)))))
            todo &= ~same
        keep |= todo  # text left over when the reading budget is spent stays obscured

        # One batch of first readings, then one of second chances for the texts that failed.
        first_read = self._legible(frame, [text[first] for _, first, _ in groups])
        failed = [g for g, ok in zip(groups, first_read) if not ok]
        second = self._legible(frame, [cut for _, first, other in failed
                                       for cut in (text[first] + _INNER * heights[first] * _INWARD, text[other])])
        read = np.zeros(len(text), bool)
        for (same, _, _), ok in zip(groups, first_read):
            keep[same] = ok
            read |= same
        for k, (same, _, _) in enumerate(failed):
            keep[same] = second[2 * k] or second[2 * k + 1]
        self._before = (text[(read & keep) | reused], (frame.shape, thumb))
        return keep

    def _where_legible_before(self, frame, thumb, text) -> np.ndarray:
        """Boxes at the place of text legible in the previous frame, when this frame looks like
        it (a video's next frame, not another photo): the same text moved a little, which the
        reader's memory of looks misses once it moves. Kept unread."""
        boxes, scene = self._before
        if scene is None or scene[0] != frame.shape or float(np.abs(thumb - scene[1]).mean()) >= _SAME_SCENE:
            return np.zeros(len(text), bool)
        return np.asarray((iou_matrix(text, boxes) >= _SAME_PLACE).any(axis=1))

    def _legible(self, frame: np.ndarray, boxes: list) -> np.ndarray:
        if not boxes:
            return np.zeros(0, bool)
        return self.reader.legible(frame, np.asarray(boxes, np.float32).reshape(-1, 4),
                                   self.plan.read_min_chars, self.plan.read_min_prob)
