"""People and vehicles, one box per object: NanoDet-g on COCO and MediaPipe's SSD MobileNetV2
on Open Images, each on its views of the frame, their boxes merged.

NanoDet-g (`redact.detectors.nanodet`) looks at the whole frame; the SSD, where a plan runs
it, at the whole frame and four tiles (`PLANS`).

The network (Apache-2.0, from the npm package ``@mediapipe/objectron``; see
`redact.detectors.models`) is the TensorFlow Object Detection API's SSD MobileNetV2 trained on 24
Open Images classes, among them Person, Car, Vehicle and Bicycle. It takes a 300x300 RGB
view scaled to [-1, 1] and gives, for each of 1917 fixed anchor boxes, four box offsets
and 24 class logits (a sigmoid each; class 0 is the background). `ssd_anchors` rebuilds
the anchors as the API's ``ssd_anchor_generator`` makes them and `decode_boxes` applies
the offsets, in NumPy.

One 300x300 look at a whole frame misses small people (PETS09: 0.83 of the people at IoU
0.5), so `ObjectDetector` also looks at overlapping tiles and merges what the views found
into one box per object (`merge_views`): a person cut by a tile's edge is the same person
as the whole-frame box, or the other tile's.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from ..core.geometry import box_areas, intersection_matrix, tile_rects
from ..core.profile import Profile
from ..core.types import Kind, Regions, check_frame
from .models import model_path
from .nanodet import INPUT_SIZE as NANODET_SIZE
from .nanodet import NANODET_MODEL, NanoDetNet
from .resize import resize
from .runtime import LITERT, TfliteNet

#: Registry names of the network and its class names.
SSD_MODEL, LABEL_MODEL = "ssd_mobilenetv2_oidv4", "ssd_oidv4_labelmap"
#: Side of the network's square input.
INPUT_SIZE = 300
#: Cells per side of the six feature maps the anchors sit on (300 px input, strides 16-512).
FEATURE_MAPS = (19, 10, 5, 3, 2, 1)
#: Anchor aspect ratios (width / height); the training configuration writes 1/3 as 0.3333.
ASPECT_RATIOS = (1.0, 2.0, 0.5, 3.0, 0.3333)
#: The box coder's divisors of the centre (y, x) and log-size (h, w) offsets.
BOX_SCALES = (10.0, 10.0, 5.0, 5.0)
#: Open Images classes reported, per kind. "Vehicle" is the class of the cars, vans, buses,
#: trucks and motorbikes not labelled Car; a bicycle is a vehicle too (its rider is a Person).
KIND_LABELS = {Kind.PERSON: ("Person",), Kind.VEHICLE: ("Car", "Vehicle", "Bicycle")}


#: Two boxes of one kind are one object when this share of the smaller lies inside the other,
#: the smaller is at least `NESTED_HEIGHT` as tall and `NESTED_AREA` as large (`merge_views`).
NESTED_SHARE, NESTED_HEIGHT, NESTED_AREA = 0.8, 0.75, 0.5
#: A person box at least this many times as tall as wide is upright (`ObjectPlan.squat_score`).
UPRIGHT = 1.3
#: A person box holding this share of each of two or more other person boxes is a box around a
#: group, each of whom has a box of their own: it is dropped (`people_only`).
GROUP_SHARE = 0.7
#: ... when those boxes together span this share of its width (`people_only`).
GROUP_SPAN = 0.8
#: A shorter person box inside another whose top lies within this share of the other's height
#: from the other's top is that person's upper body (`people_only`); a child in front of an
#: adult stands on the same ground, with the top lower down.
TOP_SHARE = 0.1


def people_only(xyxy: np.ndarray, score: np.ndarray, squat_score: float, stronger_stay: bool = False) -> np.ndarray:
    """Which person boxes stand for one person: not squat and weak (see
    `ObjectPlan.squat_score`), not a box around two or more others (`GROUP_SHARE`), not the
    upper body of someone boxed whole (`TOP_SHARE`).

    Nothing the dropped group and upper-body boxes held goes unboxed: the people in them
    have boxes of their own.

    With ``stronger_stay``, a box around others stays when it scores at least as high as
    each of them, and a box inside another under the same top when it scores at least as
    high as that one: a network scores a group's box, or a person's upper half, below the
    person's own box, while a person close to the camera, boxed whole and surely, holds the
    people behind them (on COCO's photos the group rule dropped such people, and the two
    tests 9 of 108 people >= 64 px; see `ObjectPlan.still_stronger_stay`).

    >>> boxes = np.array([[0, 0, 30, 100], [40, 0, 70, 100], [0, 0, 70, 100], [100, 0, 130, 30],
    ...                   [2, 2, 28, 50]], np.float32)
    >>> people_only(boxes, np.array([0.6, 0.6, 0.5, 0.4, 0.6]), 0.5).tolist()
    [True, True, False, False, False]
    >>> people_only(boxes, np.array([0.6, 0.6, 0.9, 0.4, 0.7]), 0.5, stronger_stay=True).tolist()
    [True, True, True, False, False]
    """
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    score = np.asarray(score, np.float64).reshape(-1)
    w, h = xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]
    keep = (h >= UPRIGHT * w) | (score >= squat_score)
    inter = intersection_matrix(xyxy, xyxy)
    # The upper body of a person boxed whole: inside the whole box, under the same top.
    inside = inter >= NESTED_SHARE * np.maximum(w * h, 1e-9)[None, :]
    np.fill_diagonal(inside, False)
    same_top = np.abs(xyxy[:, None, 1] - xyxy[None, :, 1]) <= TOP_SHARE * h[:, None]
    shorter = h[None, :] < NESTED_HEIGHT * h[:, None]
    upper = inside & same_top & shorter & keep[:, None]      # [i, j]: j is i's upper body
    if stronger_stay:
        upper &= score[None, :] < score[:, None]
    keep &= ~np.any(upper, axis=0)
    # A box around a group: it holds two or more boxes that together span its width.
    held = inter >= GROUP_SHARE * np.maximum(w * h, 1e-9)[None, :]   # [i, j]: i holds j
    np.fill_diagonal(held, False)
    held &= keep[None, :]
    for i in np.flatnonzero(keep & (held.sum(axis=1) >= 2)):
        if stronger_stay and score[i] >= score[held[i]].max():
            continue
        members = xyxy[held[i]]
        if members[:, 2].max() - members[:, 0].min() >= GROUP_SPAN * w[i]:
            keep[i] = False
    return keep


def ssd_anchors(feature_maps=FEATURE_MAPS, min_scale: float = 0.2, max_scale: float = 0.95,
                aspect_ratios=ASPECT_RATIOS, reduce_lowest: bool = True) -> np.ndarray:
    """The SSD's anchor boxes ``(cy, cx, h, w)``, in input-normalised units.

    As the TensorFlow Object Detection API's ``ssd_anchor_generator`` (and MediaPipe's
    ``SsdAnchorsCalculator``) makes them: layer ``i`` of ``n`` has scale ``min_scale + (max_scale
    - min_scale) * i / (n - 1)``; each cell of an ``s`` x ``s`` map, row by row, holds one box
    per aspect ratio ``a`` (``h = scale / sqrt(a)``, ``w = scale * sqrt(a)``) and one more of
    ratio 1 at the scale between this layer's and the next one's (1.0 after the last); the
    lowest layer holds only three, ``(0.1, 1)``, ``(scale, 2)``, ``(scale, 0.5)``. Cell centres
    are at ``(i + 0.5) / s``.

    >>> a = ssd_anchors()
    >>> a.shape
    (1917, 4)
    >>> a[0].astype(float).round(4).tolist()  # first cell of the 19x19 map, 0.1 square
    [0.0263, 0.0263, 0.1, 0.1]
    >>> a[-1].astype(float).round(4).tolist()  # the 1x1 map's last box: sqrt(0.95 * 1.0), square
    [0.5, 0.5, 0.9747, 0.9747]
    """
    n = len(feature_maps)
    scales = [min_scale + (max_scale - min_scale) * i / (n - 1) for i in range(n)] + [1.0]
    out = []
    for layer, size in enumerate(feature_maps):
        if layer == 0 and reduce_lowest:
            shapes = [(0.1, 1.0), (scales[0], 2.0), (scales[0], 0.5)]
        else:
            shapes = [(scales[layer], a) for a in aspect_ratios]
            shapes.append((math.sqrt(scales[layer] * scales[layer + 1]), 1.0))
        hw = np.array([(s / math.sqrt(a), s * math.sqrt(a)) for s, a in shapes])
        centres = (np.arange(size) + 0.5) / size
        cy, cx = np.meshgrid(centres, centres, indexing="ij")
        grid = np.stack([cy.ravel(), cx.ravel()], axis=1)
        boxes = np.concatenate([np.repeat(grid, len(shapes), axis=0), np.tile(hw, (size * size, 1))], axis=1)
        out.append(boxes)
    return np.concatenate(out).astype(np.float32)


def decode_boxes(encodings: np.ndarray, anchors: np.ndarray, scales=BOX_SCALES) -> np.ndarray:
    """Boxes ``x0, y0, x1, y1`` (input-normalised) from the SSD's offsets ``ty, tx, th, tw``.

    The Faster R-CNN box coder: ``cy = ty / 10 * ha + cya``, ``h = exp(th / 5) * ha`` (and
    the same for x and w).

    >>> anchors = np.array([[0.5, 0.5, 0.2, 0.4]], np.float32)
    >>> decode_boxes(np.zeros((1, 4), np.float32), anchors).astype(float).round(3).tolist()
    [[0.3, 0.4, 0.7, 0.6]]
    """
    enc = np.asarray(encodings, np.float32).reshape(-1, 4)
    anchors = np.asarray(anchors, np.float32).reshape(-1, 4)
    cy = enc[:, 0] / scales[0] * anchors[:, 2] + anchors[:, 0]
    cx = enc[:, 1] / scales[1] * anchors[:, 3] + anchors[:, 1]
    # Clipped before exp: a garbage offset must not overflow to inf.
    h = np.exp(np.clip(enc[:, 2] / scales[2], -10.0, 10.0)) * anchors[:, 2]
    w = np.exp(np.clip(enc[:, 3] / scales[3], -10.0, 10.0)) * anchors[:, 3]
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


@dataclass(frozen=True)
class ObjectPlan:
    """How one profile looks for people and vehicles.

    Parameters
    ----------
    tile_grid : int
        Tiles per side beside the whole frame (0: the whole frame only).
    tile_share : float
        Tile side as a share of the frame's side; 2/3 in a 2x2 grid makes neighbours share
        half a tile, so an object narrower than a third of the frame is whole in a tile.
    score : float
        Least class probability of a detection. Low, because a missed bystander is the
        worst failure; the tiles' extra look adds recall, merging removes the duplicates.
    nms_iou : float
        Boxes of one kind overlapping a better one by more than this IoU are the same object.
    cut_share : float
        A box cut by a tile's inner edge is a part of the object whole in another view:
        it goes when this share of it lies inside a box kept before it.
    squat_score : float
        Least probability of a person box less than `UPRIGHT` times as tall as wide: the
        network takes rocks, cones and bags for low-scored squat people; people who sit or
        lie score higher.
    ssd : bool
        Run the SSD (on the whole frame and ``tile_grid``'s tiles).
    nanodet_grid : int or None
        Run NanoDet-g (`redact.detectors.nanodet`) too: on the whole frame (0 or 1), or the
        whole frame and a ``nanodet_grid`` x ``nanodet_grid`` grid of tiles as the SSD's;
        None: not at all. Its boxes and the SSD's are merged as one more view's.
    nanodet_score : float
        Least class probability of a NanoDet detection.
    still_sizes : tuple of int
        On still images only (`ObjectDetector.for_stills`): NanoDet's whole-frame view again
        at each of these input sides (multiples of 32, beside its 416), for people only; the
        views' boxes are merged as the tiles' are. A photo is one frame, and a larger input
        finds people the 416 view misses (sitting, small, half hidden).
    still_stronger_stay : bool
        On still images only: `people_only`'s ``stronger_stay`` (a person box that outscores
        the boxes it holds is a person, not a group's box).
    """

    tile_grid: int = 2
    tile_share: float = 2.0 / 3.0
    score: float = 0.35
    nms_iou: float = 0.45
    cut_share: float = 0.5
    squat_score: float = 0.5
    ssd: bool = True
    nanodet_grid: int | None = None
    nanodet_score: float = 0.3
    still_sizes: tuple = ()
    still_stronger_stay: bool = False


#: Plans per profile (measured figures in `ObjectDetector`): NanoDet-g on the whole frame in
#: ``fast`` and ``balanced`` (it finds more people and vehicles than the SSD on five views, in
#: a third of the time); ``thorough`` adds the SSD on the whole frame and four tiles, whose
#: boxes join NanoDet's (more small vehicles, a few more people, the union of both networks).
#: Measured and not adopted: NanoDet on tiles too (a little more recall, 1.8-1.9 person boxes
#: per person and 2-4 times the time), the SSD's whole frame beside NanoDet (adds nothing on
#: people); for the SSD, boxes down to a score of 0.25 (0.55 of COCO's people >= 64 px
#: against 0.38, four times the false boxes on PETS09, a person on the astronaut's flag).
#: Photos (``still_*``) in ``balanced`` and ``thorough``: the 640 px view; ``fast`` keeps one
#: view, as its faces do (a camera's frames, `redact.detectors.faces.PLANS`).
#: Not on video, even when people are obscured or kept: on PETS09 the 640 view adds boxes on
#: signs and cones (false rows 2.2 -> 3.3 a frame), ID switches 4.0 -> 5.1 per person and the
#: incident's subject shown 34.8% -> 31.0% (``docs/measurements.md``, "The photos' person
#: views on video").
PLANS = {
    Profile.FAST: ObjectPlan(ssd=False, nanodet_grid=1),
    Profile.BALANCED: ObjectPlan(ssd=False, nanodet_grid=1, still_sizes=(640,), still_stronger_stay=True),
    Profile.THOROUGH: ObjectPlan(ssd=True, nanodet_grid=1, still_sizes=(640,), still_stronger_stay=True),
}


def view_rects(width: int, height: int, plan: ObjectPlan, grid: int | None = None) -> list:
    """``(x0, y0, x1, y1)`` of the views: the whole frame, then the tiles row by row
    (``grid`` per side, default the plan's ``tile_grid``)."""
    grid = plan.tile_grid if grid is None else grid
    views = [(0, 0, width, height)]
    if grid > 1:
        tw, th = max(1, round(width * plan.tile_share)), max(1, round(height * plan.tile_share))
        # Neighbours overlap so that ``grid`` tiles span the frame (`tile_starts`).
        overlap = 1.0 - (1.0 - plan.tile_share) / (plan.tile_share * (grid - 1))
        views += tile_rects(width, height, tw, th, max(0.0, overlap))
    return views


def cut_edges(xyxy: np.ndarray, view: tuple, width: int, height: int, margin: float = 0.01) -> np.ndarray:
    """Whether each box (frame pixels) touches one of the view's edges that lie inside the
    frame: an object running on past that edge, seen only in part.

    >>> cut_edges(np.array([[10, 10, 99, 50], [10, 10, 50, 50]], np.float32), (0, 0, 100, 100), 200, 100).tolist()
    [True, False]
    """
    x0, y0, x1, y1 = view
    mx, my = margin * (x1 - x0), margin * (y1 - y0)
    cut = np.zeros(len(xyxy), bool)
    if x0 > 0:
        cut |= xyxy[:, 0] <= x0 + mx
    if y0 > 0:
        cut |= xyxy[:, 1] <= y0 + my
    if x1 < width:
        cut |= xyxy[:, 2] >= x1 - mx
    if y1 < height:
        cut |= xyxy[:, 3] >= y1 - my
    return cut


def merge_views(xyxy: np.ndarray, score: np.ndarray, kind: np.ndarray, cut: np.ndarray,
                nms_iou: float = 0.5, cut_share: float = 0.5) -> tuple:
    """One box per object from detections pooled from several views of a frame.

    Boxes are grouped per kind, whole boxes before cut ones (`cut_edges`), each by
    descending score: a box joins the group whose box it overlaps by more than ``nms_iou``
    IoU (the best one), or the group whose box it is nested in or holds at about the same
    size (`NESTED_SHARE`, `NESTED_HEIGHT`, `NESTED_AREA`: one object seen tighter or looser
    by two views), a cut box also the group ``cut_share`` of it lies inside (it is the
    part of an object that another view saw whole); otherwise it starts a group. A group's
    box is the score-weighted mean of its whole boxes (box fusion: the views' estimates of
    one object differ by a few pixels each way, and their mean is nearer the object than
    the best-scored one); a group of cut boxes only (an object too large for any tile and
    missed by the whole frame) is their union.

    Returns
    -------
    keep : int64 (K,)
        The first (best) row of each group, ascending; its score and kind stand for the group.
    boxes : float32 (K, 4)
        The groups' boxes, in the order of ``keep``.

    >>> boxes = np.array([[0, 0, 10, 30], [0, 0, 6, 30], [50, 0, 60, 30], [2, 0, 12, 30]], np.float32)
    >>> keep, out = merge_views(boxes, np.array([0.6, 0.9, 0.5, 0.6]), np.zeros(4, np.int8),
    ...                         np.array([False, True, False, False]))
    >>> keep.tolist()                    # the cut part (row 1) lies inside the whole box
    [0, 2]
    >>> out[0].tolist()                  # rows 0 and 3 fused
    [1.0, 0.0, 11.0, 30.0]
    """
    from .._kernels.boxes import group_views  # numba (~1 s): on first detection only

    xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
    score = np.asarray(score, np.float64).reshape(-1)
    cut = np.asarray(cut, bool).reshape(-1)
    order = np.lexsort((-score, cut))
    first = np.zeros(len(order), np.int64)
    boxes = np.zeros((len(order), 4))
    groups = group_views(xyxy, box_areas(xyxy).astype(np.float64), (xyxy[:, 3] - xyxy[:, 1]).astype(np.float64),
                         score, np.asarray(kind).reshape(-1), cut, order, float(nms_iou), float(cut_share),
                         NESTED_SHARE, NESTED_HEIGHT, NESTED_AREA, first, boxes)
    rank = np.argsort(first[:groups], kind="stable")
    return first[:groups][rank], boxes[:groups].astype(np.float32)[rank]


def _labels(path) -> list:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]


class ObjectDetector:
    """People (`Kind.PERSON`) and vehicles (`Kind.VEHICLE`) in RGB frames, one box each.

    The SSD alone (the whole frame and four tiles), measured with ``benchmarks/eval_people.py``
    (``balanced``, 2 cores shared with other jobs, 2026-12-06; as
    `redact.detectors.persons.PersonDetector`'s instances): PETS09, all 795 frames, 0.923 of
    the people get a box of their own (IoU >= 0.5), 1.29 person boxes per person (duplicates
    in groups, cones, unlabelled far people); COCO (64 photos) 0.315 of the people >= 64 px,
    the network being weak on photos of crowds and close-ups; vehicles on the same photos 6
    of 12 at least 40 px wide. Merging: on the first 200 PETS frames the five views unmerged
    give 0.979 of the people some box among 11 boxes a person; merged (`merge_views`,
    `people_only`) 0.90-0.92 with 1.3.

    Against NanoDet-g (``--objects``, every 4th PETS frame, the same day, machine loaded 3x;
    the time is of this detector alone on 15 frames of 1280x720, interleaved, medians):

    ===============  =====  =========  =======  ==============  ===
    networks         PETS   COCO >=64  rows/GT  vehicles >=40   ms
    ===============  =====  =========  =======  ==============  ===
    SSD + 4 tiles    0.923  0.315      1.28     6/12 (<40 9)    415
    NanoDet          0.938  0.769      1.37     10/12 (<40 5)   140
    both             0.935  0.796      1.59     10/12 (<40 9)   482
    NanoDet + tiles  0.947  0.815      1.76     10/12 (<40 10)  944
    ===============  =====  =========  =======  ==============  ===

    On still images (`for_stills`; ``redact IMAGE``), ``balanced`` and ``thorough`` also look
    at the whole photo at 640 px (`ObjectPlan.still_sizes`) and keep a person box that
    outscores the boxes it holds (``still_stronger_stay``): COCO's people >= 64 px, one PERSON
    row each at IoU >= 0.5, 0.769 -> 0.889 in ``balanced`` (all sizes 0.575 -> 0.687), false
    PERSON rows 0.42 -> 0.67 a photo, no duplicate rows (``benchmarks/eval_people.py
    --skip-pets``, against ``--coco-as-video``; the other views tried are in
    ``docs/measurements.md``, "People in photos").

    Parameters
    ----------
    profile : Profile or str
        ``fast``, ``balanced`` (default) or ``thorough``; see `PLANS`.
    models_dir : path, optional
        Model cache (see `redact.detectors.models.models_dir`).
    kinds : iterable of Kind
        What to report: `Kind.PERSON`, `Kind.VEHICLE` or both (default).
    plan : ObjectPlan, optional
        Settings to use instead of the profile's (for experiments and benchmarks).

    Raises
    ------
    redact.detectors.models.ModelMissingError
        When the network is not in the cache, with the command that fetches it.
    ImportError
        When the LiteRT runtime (``ai-edge-litert``, for the SSD) or ONNX Runtime (for
        NanoDet) is not installed.

    Notes
    -----
    The runtime is not thread-safe: use one detector per thread.
    """

    def __init__(self, profile: Profile = Profile.BALANCED, models_dir=None, *,
                 kinds=(Kind.PERSON, Kind.VEHICLE), plan: ObjectPlan | None = None):
        self.profile = Profile(profile)
        self.plan = PLANS[self.profile.detectors] if plan is None else plan
        self.kinds = tuple(Kind(k) for k in kinds)
        unknown = [k for k in self.kinds if k not in KIND_LABELS]
        if unknown:
            raise ValueError(f"ObjectDetector: kinds must be among {[k.name for k in KIND_LABELS]}, got {unknown}")
        if not self.plan.ssd and self.plan.nanodet_grid is None:
            raise ValueError("ObjectDetector: the plan runs no network (ssd False, nanodet_grid None)")
        self.models: tuple = ()
        self.runtimes: dict = {}
        self.still = False  # video frames; see `for_stills`
        self._models_dir = models_dir
        self._still_twin: ObjectDetector | None = None
        self._net: TfliteNet | None = None
        self._nanodet: NanoDetNet | None = None
        self._nanodet_any_size: NanoDetNet | None = None  # photos' larger views (`for_stills`)
        if self.plan.ssd:
            self._load_ssd(models_dir)
        if self.plan.nanodet_grid is not None:
            self._nanodet = NanoDetNet(models_dir, self.kinds)
            self.models += (NANODET_MODEL,)
            self.runtimes[NANODET_MODEL] = self._nanodet.runtime

    def _load_ssd(self, models_dir) -> None:
        labels = _labels(model_path(LABEL_MODEL, models_dir))
        columns, column_kind = [], []
        for kind in self.kinds:
            for label in KIND_LABELS[kind]:
                columns.append(labels.index(label))
                column_kind.append(int(kind))
        self._columns = np.asarray(columns, np.int64)
        self._column_kind = np.asarray(column_kind, np.int8)
        self._net = TfliteNet(model_path(SSD_MODEL, models_dir))
        self.models += (SSD_MODEL, LABEL_MODEL)
        self.runtimes[SSD_MODEL] = LITERT
        self._anchors = ssd_anchors()
        # A class probability above ``score`` is a logit above this.
        self._logit = float(np.log(self.plan.score / (1.0 - self.plan.score)))

    def for_stills(self) -> "ObjectDetector":
        """This detector for still images: the plan's ``still_sizes`` views and
        ``still_stronger_stay`` rule apply too (``self`` when the plan has neither, or runs no
        NanoDet, or people are not asked for).

        Made once and kept: it shares this detector's networks (use both from one thread)
        and loads NanoDet a second time, able to take any input size (`NanoDetNet`
        ``any_size``), for the larger views only: at 416 px the file's fixed-size graph runs
        faster (87 against 97 ms a 720p frame, interleaved, loaded machine)."""
        plan = self.plan
        if (self.still or self._nanodet is None or Kind.PERSON not in self.kinds
                or not (plan.still_sizes or plan.still_stronger_stay)):
            return self
        if self._still_twin is None:
            twin = copy.copy(self)
            twin.still = True
            if plan.still_sizes:
                twin._nanodet_any_size = NanoDetNet(self._models_dir, (Kind.PERSON,), any_size=True)
            self._still_twin = twin
        return self._still_twin

    def detect(self, frame: np.ndarray) -> Regions:
        """People and vehicles in one frame.

        Parameters
        ----------
        frame : ndarray, uint8, shape (H, W, 3)
            RGB, any size from 1x1.

        Returns
        -------
        Regions
            One box per object (float frame pixels), its class probability as the score,
            ``track_id`` -1: persons first, then vehicles, each by descending score.
        """
        frame = check_frame(frame)
        height, width = frame.shape[:2]
        found, views = [], []
        if self._net is not None:
            views = view_rects(width, height, self.plan)
            found = [self._view(frame, view) for view in views]
        if self._nanodet is not None:
            more = view_rects(width, height, self.plan, self.plan.nanodet_grid)
            found += [self._nanodet_view(frame, view) for view in more]
            views += more
            if self.still:
                for size in self.plan.still_sizes:
                    found.append(self._nanodet_view(frame, (0, 0, width, height), size))
                    views.append((0, 0, width, height))
        xyxy = np.concatenate([f[0] for f in found])
        score = np.concatenate([f[1] for f in found])
        kind = np.concatenate([f[2] for f in found])
        cut = np.concatenate([cut_edges(f[0], view, width, height) for f, view in zip(found, views)])
        keep, boxes = merge_views(xyxy, score, kind, cut, self.plan.nms_iou, self.plan.cut_share)
        score, kind = score[keep], kind[keep]
        person = np.flatnonzero(kind == Kind.PERSON)
        good = np.ones(len(keep), bool)
        good[person] = people_only(boxes[person], score[person], self.plan.squat_score,
                                   stronger_stay=self.still and self.plan.still_stronger_stay)
        boxes, score, kind = boxes[good], score[good], kind[good]
        order = np.lexsort((-score, kind))
        return Regions(boxes[order], score[order], kind[order], np.full(len(order), -1))

    def _nanodet_view(self, frame: np.ndarray, view: tuple, size: int = NANODET_SIZE) -> tuple:
        """As `_view`, with NanoDet at input side ``size`` (other than 416: people only)."""
        net = self._nanodet if size == NANODET_SIZE else self._nanodet_any_size
        assert net is not None
        xyxy, score, kind = net.find(frame, view, self.plan.nanodet_score, size)
        keep, boxes = merge_views(xyxy, score, kind, np.zeros(len(score), bool), self.plan.nms_iou)
        return boxes, score[keep], kind[keep]

    def _view(self, frame: np.ndarray, view: tuple) -> tuple:
        """Boxes (frame pixels), scores and kinds the network finds in one view, above the
        plan's score, one box per object (`merge_views` within the view)."""
        x0, y0, x1, y1 = view
        crop = resize(frame[y0:y1, x0:x1], INPUT_SIZE, INPUT_SIZE)
        tensor = (crop.astype(np.float32) * np.float32(1 / 127.5) - np.float32(1.0))[None]
        assert self._net is not None
        out = self._net.forward(tensor)
        logits = out["raw_outputs/class_predictions"].reshape(-1, out["raw_outputs/class_predictions"].shape[-1])
        logits = logits[:, self._columns]
        # Every class above the score, each its own detection: a cyclist is a person and a bicycle.
        rows, cols = np.nonzero(logits > self._logit)
        if not len(rows):
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int8)
        norm = decode_boxes(out["raw_outputs/box_encodings"].reshape(-1, 4)[rows], self._anchors[rows])
        xyxy = (norm * np.array([x1 - x0, y1 - y0, x1 - x0, y1 - y0], np.float32)
                + np.array([x0, y0, x0, y0], np.float32))
        xyxy = np.clip(xyxy, [x0, y0, x0, y0], [x1, y1, x1, y1]).astype(np.float32)
        score = (1.0 / (1.0 + np.exp(-logits[rows, cols]))).astype(np.float32)
        kind = self._column_kind[cols]
        keep, boxes = merge_views(xyxy, score, kind, np.zeros(len(rows), bool), self.plan.nms_iou)
        return boxes, score[keep], kind[keep]
