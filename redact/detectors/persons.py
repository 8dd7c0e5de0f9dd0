"""Person detector: a person segmentation network and a pedestrian detector, united.

No package registry ships a permissively licensed person *detector* that runs in
``cv2.dnn`` (MediaPipe's pose detector, the nearest, is stored sparse and ``cv2.dnn``
cannot read it). Two offline sources together cover the cases, measured on COCO and
PETS09 (see `PersonDetector`):

* MediaPipe selfie segmentation (Apache-2.0, 256x256 input) gives a person mask of the
  whole frame and, for smaller people, of overlapping tiles; each connected part of the mask
  becomes a box. It finds people in any pose when they fill a good part of the view.
* OpenCV's HOG pedestrian detector (Dalal-Triggs, shipped in OpenCV) finds upright people
  down to about 60 px tall when the frame is scaled up, where the segmentation fades.

Every person box also yields a `Kind.FACE` box over its head end, so a person whose face
the face detector missed still has the head obscured with the face style.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import tile_starts
from ..models import model_path
from ..ops import check_frame
from ..policy import Profile
from ..types import Kind, Regions

#: Registry name of the segmentation network.
SEGMENT_MODEL = "selfie_segmentation"
#: Side of the segmentation network's square input.
SEGMENT_SIZE = 256
#: HOG's default detection window is 64x128 with the person about 96 px tall inside it.
HOG_WINDOW_HEIGHT = 128


@dataclass(frozen=True)
class PersonPlan:
    """How one profile looks for people.

    Parameters
    ----------
    segment_grids : tuple of int
        Segmentation passes: 1 is the whole frame, ``n`` > 1 an ``n`` x ``n`` grid of
        overlapping tiles (each squeezed to the network's 256x256 input).
    tile_overlap : float
        Share of a tile that its neighbour repeats, so a person cut by one edge is whole in
        the next tile.
    segment_threshold : float
        Mask probability above which a pixel belongs to a person. Low, because a missed
        bystander is the worst failure.
    min_mask_pixels : int
        Mask parts smaller than this many network pixels are noise.
    hog_upscale : float
        Scale of the frame before HOG (0: no HOG). Above 1 brings people shorter than the
        96 px that HOG's window expects into reach.
    hog_threshold : float
        HOG's SVM margin (``hitThreshold``): lower finds more people and more lookalikes.
    hog_scale_step : float
        Ratio between HOG's pyramid levels; larger is faster and misses more.
    head_share : float
        Height of the head box as a share of a standing person's box.
    """

    segment_grids: tuple = (1,)
    tile_overlap: float = 0.25
    segment_threshold: float = 0.3
    min_mask_pixels: int = 12
    hog_upscale: float = 0.0
    hog_threshold: float = 0.0
    hog_scale_step: float = 1.05
    head_share: float = 0.25


#: Plans per profile; the measured figures are in `PersonDetector`. ``fast``: the mask of the
#: frame and of a 3x3 grid, HOG on the frame as it is. ``balanced``: a 4x4 grid too, HOG on
#: the frame scaled 1.5x. ``thorough``: 2x2 as well, HOG with finer pyramid steps and a
#: lower margin.
PLANS = {
    Profile.FAST: PersonPlan(segment_grids=(1, 3), hog_upscale=1.0, hog_threshold=-0.5, hog_scale_step=1.1),
    Profile.BALANCED: PersonPlan(segment_grids=(1, 3, 4), hog_upscale=1.5, hog_threshold=0.0,
                                 hog_scale_step=1.1),
    Profile.THOROUGH: PersonPlan(segment_grids=(1, 2, 3, 4), hog_upscale=1.5, hog_threshold=-0.5,
                                 hog_scale_step=1.05),
}


def head_boxes(xyxy: np.ndarray, share: float) -> np.ndarray:
    """The head end of person boxes: full width, from the top down.

    A standing person's head is in the top ``share`` of the box. A box that is wide for its
    height (someone sitting, bending, or several people in one mask part) has no known
    head position, so its head box grows with the width, up to the whole box.

    >>> head_boxes(np.array([[0, 0, 40, 100], [0, 0, 100, 100]], np.float32), 0.25).tolist()
    [[0.0, 0.0, 40.0, 25.0], [0.0, 0.0, 100.0, 62.5]]
    """
    w = xyxy[:, 2] - xyxy[:, 0]
    h = xyxy[:, 3] - xyxy[:, 1]
    # A standing person is about 0.4 times as wide as tall, where share * w / 0.4 equals
    # share * h; wider boxes get proportionally taller head boxes.
    head = np.minimum(np.maximum(share * h, share * w / 0.4), h)
    out = xyxy.copy()
    out[:, 3] = xyxy[:, 1] + head
    return out


class PersonDetector:
    """People (and their heads) in RGB frames, at a speed/recall `Profile`.

    A person counts when 80 % of their box is hidden under the default style. Recall by
    box height in pixels, on ``shared/data/people/coco_val2017`` (64 photos, 179 people,
    ``benchmarks/eval_detect.py``) and on every 20th frame of ``people/pets09_s2l1`` (40
    frames of 768x576, 223 people; *heads*: the top 15 % of a person's box, middle 60 %,
    hidden by the `Kind.FACE` boxes), x86_64 on 2 cores shared with other jobs (median over
    32 COCO photos and 20 PETS frames, profiles interleaved):

    ==========  =====  =====  =====  =====  ======  =====  =====  =====  ======
    profile     COCO   <16    16-32  32-64  64-128  >=128  PETS   heads  ms/img
    ==========  =====  =====  =====  =====  ======  =====  =====  =====  ======
    fast        0.788  0.30   0.41   0.83   0.93    0.96   0.937  0.897  94
    balanced    0.816  0.30   0.41   0.90   0.98    0.97   0.996  0.987  227
    thorough    0.838  0.35   0.41   0.93   0.98    1.00   1.000  0.996  320
    ==========  =====  =====  =====  =====  ======  =====  =====  =====  ======

    The bucket columns are COCO's, with 20, 22, 29, 40 and 68 people; PETS has 9 people of
    32-64 px, 203 of 64-128 and 11 taller. People under 32 px tall are mostly missed. The price is
    over-redaction: the mask also takes in things next to people and some that only look
    like them, so about half of a COCO photo's pixels outside the (1.5x enlarged) people are
    obscured, a fifth of a PETS frame's.

    Parameters
    ----------
    profile : Profile or str
        ``fast``, ``balanced`` (default) or ``thorough``; see `PLANS`.
    models_dir : path, optional
        Model cache (see `redact.models.models_dir`).
    plan : PersonPlan, optional
        Settings to use instead of the profile's (for experiments and benchmarks).

    Raises
    ------
    redact.models.ModelMissingError
        When the segmentation model is not in the cache, with the command that fetches it.

    Notes
    -----
    ``cv2.dnn`` networks are not thread-safe: use one detector per thread.

    Examples
    --------
    >>> detector = PersonDetector("balanced")                       # doctest: +SKIP
    >>> detector.detect(np.zeros((720, 1280, 3), np.uint8))         # doctest: +SKIP
    Regions(n=0, {})
    """

    kinds = (Kind.PERSON, Kind.FACE)

    def __init__(self, profile: Profile = Profile.BALANCED, models_dir=None, *,
                 plan: PersonPlan | None = None):
        import cv2

        self.profile = Profile(profile)
        self.plan = PLANS[self.profile] if plan is None else plan
        self.models = (SEGMENT_MODEL,) if self.plan.segment_grids else ()
        self._net = None
        if self.plan.segment_grids:
            self._net = cv2.dnn.readNetFromTFLite(str(model_path(SEGMENT_MODEL, models_dir)))
        self._hog = None
        if self.plan.hog_upscale > 0:
            self._hog = cv2.HOGDescriptor()
            self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def detect(self, frame: np.ndarray) -> Regions:
        """People in one frame, plus a head box for each.

        Parameters
        ----------
        frame : ndarray, uint8, shape (H, W, 3)
            RGB, any size from 1x1.

        Returns
        -------
        Regions
            Kind `Kind.PERSON` boxes, then one `Kind.FACE` head box per person box, float
            boxes in frame pixels, scores in [0, 1], ``track_id`` -1.
        """
        frame = check_frame(frame)
        parts = [self._segment(frame, view) for view in self._views(frame)]
        if self._hog is not None:
            parts.append(self._pedestrians(frame))
        xyxy = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, 4), np.float32)
        score = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.float32)
        return Regions.concat([
            Regions.from_boxes(xyxy, kind=Kind.PERSON, score=score),
            Regions.from_boxes(head_boxes(xyxy, self.plan.head_share), kind=Kind.FACE, score=score),
        ])

    def _views(self, frame: np.ndarray) -> list:
        """Frame rectangles ``(x0, y0, x1, y1)`` that the segmentation looks at."""
        h, w = frame.shape[:2]
        views = []
        for grid in self.plan.segment_grids:
            if grid == 1:
                views.append((0, 0, w, h))
                continue
            tw = max(1, round(w * (1 + self.plan.tile_overlap) / grid))
            th = max(1, round(h * (1 + self.plan.tile_overlap) / grid))
            for y in tile_starts(h, th, self.plan.tile_overlap):
                for x in tile_starts(w, tw, self.plan.tile_overlap):
                    views.append((x, y, min(w, x + tw), min(h, y + th)))
        return views

    def _segment(self, frame: np.ndarray, view: tuple) -> tuple:
        """Boxes and mean mask probabilities of the person mask parts in one rectangle."""
        import cv2

        from .._kernels.plates import component_stats

        x0, y0, x1, y1 = view
        crop = frame[y0:y1, x0:x1]
        shrink = crop.shape[1] > SEGMENT_SIZE and crop.shape[0] > SEGMENT_SIZE
        resized = cv2.resize(crop, (SEGMENT_SIZE, SEGMENT_SIZE),
                             interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        # MediaPipe's segmentation graphs feed RGB scaled to [0, 1].
        self._net.setInput(cv2.dnn.blobFromImage(resized, 1.0 / 255.0))
        prob = np.ascontiguousarray(self._net.forward().reshape(SEGMENT_SIZE, SEGMENT_SIZE), dtype=np.float32)
        mask = (prob > self.plan.segment_threshold).view(np.uint8)
        n_labels, labels = cv2.connectedComponents(mask, connectivity=8, ltype=cv2.CV_32S)
        box = np.zeros((n_labels, 4), np.int32)
        score = np.zeros(n_labels, np.float32)
        count = np.zeros(n_labels, np.int64)
        component_stats(labels, prob, n_labels, box, score, count)
        keep = count[1:] >= self.plan.min_mask_pixels
        box, score = box[1:][keep].astype(np.float32), score[1:][keep]
        # cv2.resize maps pixel edges to pixel edges, so one scale per axis is exact.
        ax, ay = (x1 - x0) / SEGMENT_SIZE, (y1 - y0) / SEGMENT_SIZE
        xyxy = np.stack([box[:, 0] * ax + x0, box[:, 1] * ay + y0,
                         box[:, 2] * ax + x0, box[:, 3] * ay + y0], axis=1)
        return xyxy.astype(np.float32), score

    def _pedestrians(self, frame: np.ndarray) -> tuple:
        """Boxes and scores of HOG's upright pedestrians over the whole frame."""
        import cv2

        plan = self.plan
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        if plan.hog_upscale != 1.0:
            gray = cv2.resize(gray, None, fx=plan.hog_upscale, fy=plan.hog_upscale,
                              interpolation=cv2.INTER_LINEAR)
        if gray.shape[0] < HOG_WINDOW_HEIGHT or gray.shape[1] < HOG_WINDOW_HEIGHT // 2:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
        found, margin = self._hog.detectMultiScale(gray, hitThreshold=plan.hog_threshold, winStride=(8, 8),
                                                   padding=(16, 16), scale=plan.hog_scale_step)
        found = np.asarray(found, np.float32).reshape(-1, 4) / plan.hog_upscale
        # The SVM margin is unbounded; a logistic squashes it into a [0, 1] score.
        score = (1.0 / (1.0 + np.exp(-np.asarray(margin, np.float32).reshape(-1)))).astype(np.float32)
        xyxy = np.stack([found[:, 0], found[:, 1],
                         found[:, 0] + found[:, 2], found[:, 1] + found[:, 3]], axis=1)
        return xyxy.astype(np.float32), score
