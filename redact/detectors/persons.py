"""Person detector: a person segmentation network and a pedestrian detector, united.

No package registry ships a permissively licensed person *detector* that runs in
``cv2.dnn`` (MediaPipe's pose detector, the nearest, is stored sparse and ``cv2.dnn``
cannot read it). Two offline sources together cover the cases, measured on COCO and
PETS09 (see `PersonDetector`):

* MediaPipe selfie segmentation (Apache-2.0, 256x256 input) gives a person mask of the
  whole frame and, for smaller people, of overlapping tiles, pasted into one frame-level
  map. It finds people in any pose when they fill a good part of the view.
* OpenCV's HOG pedestrian detector (Dalal-Triggs, shipped in OpenCV) finds upright people
  down to about 60 px tall when the frame is scaled up, where the segmentation fades.

People come out as instances, one `Kind.PERSON` row per person where the two agree
(`person_instances`): the map's connected parts, each split between the HOG boxes on it,
so a tracker can follow one person and a policy can keep one person visible. Whatever
of the map no HOG box takes stays a row of its own (people HOG missed, and fragments):
the rows' union still covers the whole mask, so bystanders stay hidden.

Every person row (not a silhouette) also yields a `Kind.FACE` box over its head end, so a person whose face
the face detector missed still has the head obscured with the face style.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.geometry import centres_inside, pad_boxes, tile_rects
from ..core.profile import Profile
from ..core.types import Kind, Regions, check_frame
from .models import model_path
from .objects import ObjectDetector
from .resize import resize

#: Registry name of the segmentation network.
SEGMENT_MODEL = "selfie_segmentation"
#: Side of the segmentation network's square input.
SEGMENT_SIZE = 256
#: A sprawling mask part is cut until its boxes are filled or no longer than this (map pixels,
#: `tight_pieces`): finer pieces would follow the map's own blur, and each is a row to track.
PIECE_SIDE = 16
#: At most this many pieces per part, and (shared among a frame's sprawling parts) per frame:
#: every piece is a row the tracker pairs with every other (a lattice-like mask of 1 px lines
#: gave 4 000 rows and 42 s a frame of tracking). Past the budget a part's boxes are left as
#: they are (still covering it).
PART_PIECES, FRAME_PIECES = 32, 256
#: A part left over around a lone seed joins it when it covers this share of the seed's box.
SURROUND_SHARE = 0.8
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
    hog_pixels : int
        When set, the scale is lowered so the scaled frame has at most this many pixels,
        bounding HOG's time on large frames (whose people are larger too).
    hog_threshold : float
        HOG's SVM margin (``hitThreshold``): lower finds more people and more lookalikes.
    hog_scale_step : float
        Ratio between HOG's pyramid levels; larger is faster and misses more.
    head_share : float
        Height of the head box as a share of a standing person's box.
    mask_side : int
        Longest side of the frame-level person map the views are pasted into (frames
        larger than this are mapped at a reduced scale).
    hog_margin : tuple of float
        Share of a HOG box's width and height trimmed from each side: HOG's 64x128 window
        holds a 32x96 person with 16 px of context around.
    hog_nms : float
        HOG boxes overlapping a better one by more than this IoU (or lying within it by more
        than ``1 - (1 - hog_nms) / 2`` of their area) are the same person.
    seed_reach : float
        A mask pixel belongs to a HOG person when it lies inside the person's box grown by
        this factor about its centre; farther pixels of the same mask part stay a part of
        their own.
    detail_share : float
        A HOG box alone on a mask part and shorter than this share of the part's height is
        taken for a detail of that one person and dropped (the part covers it).
    instances : bool
        Take the instances (one box per person) from the box networks of
        `redact.detectors.objects` (NanoDet-g, and the SSD where the profile runs it)
        instead of HOG; the segmentation's parts that their boxes leave out are
        `Kind.SILHOUETTE` rows (`unboxed_parts`).
    cover_pad : float
        With ``instances``: mask pixels within this share of a box's size around it count
        as covered by the box, because the person style pads every box by at least that
        much (`redact.core.policy.Style`'s default padding, 0.1): the box need not grow over them.
    part_fill : float
        With ``instances``: a mask part left to itself that fills less than this share of its
        rectangle is given as the rectangles of `tight_pieces` (0: one rectangle per part).
        On PETS09 the segmentation marks kerbs, a tarpaulin and a stretch of road, and a
        part's rectangle around such a strip or a group was a slab over the scene.
    """

    segment_grids: tuple = (1,)
    tile_overlap: float = 0.25
    segment_threshold: float = 0.3
    min_mask_pixels: int = 12
    hog_upscale: float = 0.0
    hog_pixels: int = 0
    hog_threshold: float = 0.0
    hog_scale_step: float = 1.05
    head_share: float = 0.25
    mask_side: int = 1024
    hog_margin: tuple = (0.2, 0.1)
    hog_nms: float = 0.4
    seed_reach: float = 1.0
    detail_share: float = 0.5
    instances: bool = False
    cover_pad: float = 0.1
    part_fill: float = 0.5


#: Plans per profile; the measured figures are in `PersonDetector`. Every profile takes its
#: instances (one box per person) from `redact.detectors.objects` (NanoDet-g on the whole
#: frame; ``thorough`` adds the SSD on the frame and four tiles; see its ``PLANS``) and keeps
#: the segmentation's mask as the safety net under them:
#: ``fast`` the mask of the frame and of a 3x3 grid, ``balanced`` a 4x4 grid too,
#: ``thorough`` 2x2 as well. (HOG, the instances before the SSD, remains for `HeadDetector`'s
#: comparison and for plans that ask for it.)
PLANS = {
    Profile.FAST: PersonPlan(segment_grids=(1, 3), instances=True),
    Profile.BALANCED: PersonPlan(segment_grids=(1, 3, 4), instances=True),
    Profile.THOROUGH: PersonPlan(segment_grids=(1, 2, 3, 4), instances=True),
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


#: Heads are for the people whose face the face detector may miss: far, small, from behind.
#: A head box taller than this share of the frame is guessed from the box of someone close to
#: the camera (a speaker cut by the frame's bottom, a group boxed as one), whose face the face
#: detectors find at that size; their guess covered whole frames of the Hamilton clip in grey.
MAX_HEAD_SHARE = 0.3
#: A head box is the face detector's when one of its faces is centred in it and is this share
#: of the head box's width: a standing person's face is 0.3-0.5 of their box's width, a close
#: person's (their box cut by the frame's bottom, the head box grown to the whole width) 0.3,
#: and down to 0.15 with arms out, sitting or bending (the box widens, the face does not). A
#: smaller face is one of several people in one box, a larger one is someone in front. From
#: 0.25 down to 0.15 on WIDER val (balanced, faces): head boxes 249 -> 172, over-redaction
#: 16.7% -> 13.3%, recall of faces 16-32 px and >= 32 px unchanged (0.974, 0.988).
FACE_IN_HEAD = (0.15, 0.7)
#: ... and only a face scored this much or more. On PETS09 (people 64-128 px tall, seen from
#: above) the face detector puts its smallest boxes (9-13 px, scores 0.10-0.43) on most heads;
#: taking them for the faces dropped the head boxes and left the heads around them shown:
#: heads hidden in the default mode (`benchmarks/eval_people.py --default-heads 4`) 0.955 at
#: the head detector's start, 0.555 with every face counted.
FACE_SURE = 0.5


def found_as_faces(heads: np.ndarray, faces: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Which head boxes (`head_boxes`) hold a face the face detector found surely
    (`FACE_IN_HEAD`, a score of `FACE_SURE` or more).

    That face's box hides the person's face; the head box, whose height is guessed from the
    person's box, only adds grey over shoulders and background (a full-width slab over a
    close-up speaker). A head with no such face stays: it is what covers a head seen from
    behind, turned away or too small for the face detector, and a head where the face
    detector only half-believes a face is there (its smallest boxes, on heads seen from above).

    >>> heads = np.array([[22, 6, 374, 226], [0, 0, 300, 60]], np.float32)
    >>> faces = np.array([[184, 17, 291, 157], [10, 5, 40, 40]], np.float32)
    >>> found_as_faces(heads, faces, np.array([0.9, 0.9])).tolist()
    [True, False]
    >>> found_as_faces(heads, faces, np.array([0.2, 0.9])).tolist()
    [False, False]
    """
    heads = np.asarray(heads, np.float64).reshape(-1, 4)
    sure = np.asarray(scores, np.float64).reshape(-1) >= FACE_SURE
    faces = np.asarray(faces, np.float64).reshape(-1, 4)[sure]
    if not len(heads) or not len(faces):
        return np.zeros(len(heads), bool)
    share = (faces[:, 2] - faces[:, 0])[:, None] / np.maximum(heads[:, 2] - heads[:, 0], 1e-6)[None, :]
    low, high = FACE_IN_HEAD
    return np.asarray((centres_inside(faces, heads) & (share >= low) & (share <= high)).any(axis=0))


def suppress(xyxy: np.ndarray, score: np.ndarray, iou: float) -> np.ndarray:
    """Indices of the boxes kept by greedy non-maximum suppression, best score first.

    A box is dropped when its IoU with a kept box exceeds ``iou``, or when more than
    ``(1 + iou) / 2`` of its own area lies inside a kept box (HOG finds one person at two
    pyramid levels as a box inside a box, whose IoU can be low).

    >>> suppress(np.array([[0, 0, 10, 20], [1, 1, 10, 19], [30, 0, 40, 20]], np.float32),
    ...          np.array([0.9, 0.8, 0.7], np.float32), 0.4).tolist()
    [0, 2]
    """
    order = np.argsort(-score, kind="stable")
    area = np.maximum(xyxy[:, 2] - xyxy[:, 0], 0) * np.maximum(xyxy[:, 3] - xyxy[:, 1], 0)
    kept: list = []
    inside = (1.0 + iou) / 2.0
    for i in order:
        if kept:
            k = np.asarray(kept)
            ix = np.minimum(xyxy[k, 2], xyxy[i, 2]) - np.maximum(xyxy[k, 0], xyxy[i, 0])
            iy = np.minimum(xyxy[k, 3], xyxy[i, 3]) - np.maximum(xyxy[k, 1], xyxy[i, 1])
            inter = np.maximum(ix, 0) * np.maximum(iy, 0)
            union = area[k] + area[i] - inter
            if np.any(inter > iou * union) or np.any(inter > inside * area[i]):
                continue
        kept.append(int(i))
    return np.asarray(sorted(kept), np.int64)


def _parts(mask: np.ndarray, prob: np.ndarray, fill: float = 0.0) -> tuple:
    """Boxes (int map pixels) and mean probabilities of the 8-connected parts of ``mask``.

    With ``fill`` > 0, a part filling less than that share of its box is given as the boxes
    of `tight_pieces` instead (each with the part's probability): together they hold every
    pixel of the part, and little else.
    """
    import cv2

    from .._kernels.components import component_stats  # numba (~1 s): on first detection only

    n, labels = cv2.connectedComponents(mask.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    box = np.zeros((n, 4), np.int32)
    score = np.zeros(n, np.float32)
    count = np.zeros(n, np.int64)
    component_stats(labels, prob, n, box, score, count)
    box, score, count = box[1:], score[1:], count[1:]
    area = (box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1])
    dense = count >= fill * area
    if dense.all():
        return box, score
    sprawling = np.flatnonzero(~dense)
    boxes, scores = [box[dense]], [score[dense]]
    budget = max(1, min(PART_PIECES, FRAME_PIECES // len(sprawling)))
    for k in sprawling:
        x0, y0, x1, y1 = box[k]
        pieces = tight_pieces(labels[y0:y1, x0:x1] == k + 1, fill, max_pieces=budget) + [x0, y0, x0, y0]
        boxes.append(pieces.astype(np.int32))
        scores.append(np.full(len(pieces), score[k], np.float32))
    return np.concatenate(boxes), np.concatenate(scores)


def tight_pieces(pixels: np.ndarray, fill: float, min_side: int = PIECE_SIDE,
                 max_pieces: int = PART_PIECES) -> np.ndarray:
    """Boxes (half-open ``x0, y0, x1, y1`` int pixels of ``pixels``) that hold every True pixel.

    A box around the pixels is kept when they fill at least ``fill`` of it or it is no longer
    than ``min_side`` either way; otherwise it is cut in two across its longer side and each
    half is boxed again, largest first, until there are ``max_pieces`` boxes (then the boxes
    not yet cut are kept as they are). A mask part that runs along a kerb or round a group
    (its rectangle mostly empty) becomes a few boxes along it instead of one slab over the scene.

    >>> band = np.eye(64, dtype=bool)  # a diagonal line, 64 pixels in a 64 x 64 box
    >>> pieces = tight_pieces(band, 0.5)
    >>> len(pieces), int(sum((b[2] - b[0]) * (b[3] - b[1]) for b in pieces))
    (4, 1024)
    """
    if not (0 <= fill <= 1 and min_side >= 1 and max_pieces >= 1):
        raise ValueError(f"tight_pieces: expected 0 <= fill <= 1, min_side >= 1 and max_pieces >= 1, got "
                         f"{fill!r}, {min_side!r}, {max_pieces!r}")

    def boxed(part, ox, oy):
        rows, cols = np.flatnonzero(part.any(axis=1)), np.flatnonzero(part.any(axis=0))
        if not len(rows):
            return None
        y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        return part[y0:y1, x0:x1], ox + x0, oy + y0

    out: list[tuple] = []
    todo = [b for b in [boxed(pixels, 0, 0)] if b is not None]
    while todo:
        # Largest first, so a budget spent leaves the small boxes uncut, not the slab.
        todo.sort(key=lambda b: b[0].size)
        part, ox, oy = todo.pop()
        h, w = part.shape
        if max(h, w) <= min_side or part.mean() >= fill or len(out) + len(todo) + 2 > max_pieces:
            out.append((ox, oy, ox + w, oy + h))
            continue
        halves = ([(part[:, : w // 2], ox, oy), (part[:, w // 2:], ox + w // 2, oy)] if w >= h
                  else [(part[: h // 2], ox, oy), (part[h // 2:], ox, oy + h // 2)])
        todo += [b for b in (boxed(*half) for half in halves) if b is not None]
    return np.array(out, np.int64).reshape(-1, 4)


def person_instances(prob, scale: float, seeds: np.ndarray, seed_score: np.ndarray,
                     plan: PersonPlan) -> tuple:
    """Person instances from a frame-level person map and pedestrian boxes.

    The thresholded map is cut into 8-connected parts. HOG boxes (the seeds) on a part
    split it: each seed takes the part's pixels within its reach (the nearest seed wins)
    and becomes one instance, the box of the seed and its pixels. What no seed took is cut
    into parts again, each a row of its own: a person HOG missed, or a fragment of the
    mask (fail closed: obscured as a bystander). A lone seed much shorter than its part is
    dropped as a detail of that part's person (``plan.detail_share``). Seeds on no part
    are instances as they are. Nothing is lost: the rows' union covers every mask pixel
    and every seed kept, and a dropped seed lies inside a part's box.

    Parameters
    ----------
    prob : float32 (h, w) or None
        Person probability of the frame at ``scale`` (None: no segmentation).
    scale : float
        Map pixels per frame pixel.
    seeds, seed_score : float32 (K, 4), (K,)
        Pedestrian boxes in frame pixels and their scores.
    plan : PersonPlan

    Returns
    -------
    xyxy : float32 (N, 4)
        Seeded instances (in seed order), then the parts no seed took, in frame pixels.
    score : float32 (N,)
        The seed's score, or the part's mean probability.
    seeded : bool (N,)
        True for the seeded instances.
    """
    import cv2

    from .._kernels.components import split_components  # numba (~1 s): on first detection only

    seeds = np.asarray(seeds, np.float32).reshape(-1, 4)
    seed_score = np.asarray(seed_score, np.float32).reshape(-1)
    if prob is None:
        return seeds.copy(), seed_score.copy(), np.ones(len(seeds), bool)
    mask = (prob > plan.segment_threshold).view(np.uint8)
    n_labels, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=cv2.CV_32S)
    part_box = np.stack([stats[:, 0], stats[:, 1], stats[:, 0] + stats[:, 2], stats[:, 1] + stats[:, 3]], axis=1)
    mh, mw = labels.shape
    # Seeds in map pixels; each belongs to the part with most pixels inside its box, when
    # that part fills at least a tenth of it.
    map_seeds = np.clip(seeds.astype(np.float64) * scale, 0.0, [mw, mh, mw, mh])
    seed_label = np.full(len(seeds), -1, np.int64)
    for k, (x0, y0, x1, y1) in enumerate(map_seeds):
        ix0, iy0, ix1, iy1 = math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1)
        if ix1 <= ix0 or iy1 <= iy0 or x1 - x0 <= 0 or y1 - y0 <= 0:
            continue
        counts = np.bincount(labels[iy0:iy1, ix0:ix1].ravel(), minlength=n_labels)
        counts[0] = 0
        best = int(np.argmax(counts))
        if counts[best] >= 0.1 * (ix1 - ix0) * (iy1 - iy0):
            seed_label[k] = best
    # A lone seed much shorter than the part it lies inside is a detail of that person
    # (HOG fires on a limb, a flag, a torso), not a second person: the part stays whole
    # and the seed goes; its box is inside the part's, so no pixel is lost.
    keep = np.ones(len(seeds), bool)
    labelled = seed_label[seed_label > 0]
    for k in map(int, np.flatnonzero(seed_label > 0)):
        lab = seed_label[k]
        if np.count_nonzero(labelled == lab) != 1:
            continue
        x0, y0, x1, y1 = map_seeds[k]
        px0, py0, px1, py1 = part_box[lab]
        if (y1 - y0 < plan.detail_share * (py1 - py0) and x0 >= px0 and y0 >= py0
                and x1 <= px1 and y1 <= py1):
            keep[k] = False
    seeds, seed_score, map_seeds, seed_label = seeds[keep], seed_score[keep], map_seeds[keep], seed_label[keep]
    owner = np.empty_like(labels)
    seed_px = np.zeros((len(seeds), 4), np.int32)
    seed_count = np.zeros(len(seeds), np.int64)
    split_components(labels, n_labels, map_seeds, seed_label, plan.seed_reach, owner, seed_px, seed_count)
    inst = seeds.astype(np.float64).copy()
    took = seed_count > 0
    px = seed_px[took].astype(np.float64) / scale
    inst[took, :2] = np.minimum(inst[took, :2], px[:, :2])
    inst[took, 2:] = np.maximum(inst[took, 2:], px[:, 2:])
    # What no seed took, parted anew: a part that joined a seeded person to one HOG missed
    # leaves the second as a part of its own.
    rest_box, rest_score = _parts((labels > 0) & (owner == 0), prob)
    rest = rest_box.astype(np.float64) / scale
    # A part left around the one seed of its component (the silhouette beyond HOG's box:
    # head, arms, a coat) is that person: it joins the instance. A part *beside* the seed
    # (a second person HOG missed) does not surround the seed's box and stays its own row.
    merged = np.zeros(len(rest), bool)
    lone = [k for k in range(len(seeds)) if seed_label[k] > 0 and np.count_nonzero(seed_label == seed_label[k]) == 1]
    for r, box in enumerate(rest):
        for k in lone:
            sx0, sy0, sx1, sy1 = seeds[k]
            iw, ih = min(box[2], sx1) - max(box[0], sx0), min(box[3], sy1) - max(box[1], sy0)
            if iw > 0 and ih > 0 and iw * ih >= SURROUND_SHARE * (sx1 - sx0) * (sy1 - sy0):
                inst[k, :2] = np.minimum(inst[k, :2], box[:2])
                inst[k, 2:] = np.maximum(inst[k, 2:], box[2:])
                merged[r] = True
                break
    rest, rest_score = rest[~merged], rest_score[~merged]
    xyxy = np.concatenate([inst, rest])
    score = np.concatenate([seed_score, rest_score]).astype(np.float32)
    seeded = np.arange(len(xyxy)) < len(seeds)
    # Rounded outward to float32 so a box never shrinks by the cast.
    out = xyxy.astype(np.float32)
    out[:, :2] = np.where(out[:, :2] > xyxy[:, :2], np.nextafter(out[:, :2], np.float32(-np.inf)), out[:, :2])
    out[:, 2:] = np.where(out[:, 2:] < xyxy[:, 2:], np.nextafter(out[:, 2:], np.float32(np.inf)), out[:, 2:])
    return out, score, seeded


def unboxed_parts(prob, scale: float, boxes: np.ndarray, plan: PersonPlan) -> tuple:
    """The parts of a frame-level person map that lie outside every person box.

    Mask pixels within ``plan.cover_pad`` of a box's size around it are the box's: the
    style's padding obscures them with it. What is left (someone the boxes missed, an arm
    or a shadow past a box's padding, a thing that only looks like a person) is cut into
    8-connected parts. Nothing is lost under a padding of at least ``plan.cover_pad``: the
    padded boxes and parts cover every mask pixel (a map pixel only partly inside a padded
    box counts as outside).

    Parameters
    ----------
    prob : float32 (h, w) or None
        Person probability of the frame at ``scale`` (None: no segmentation).
    scale : float
        Map pixels per frame pixel.
    boxes : float32 (K, 4)
        One box per person, frame pixels.
    plan : PersonPlan

    Returns
    -------
    xyxy : float32 (N, 4)
        The parts' boxes in frame pixels, rounded outward.
    score : float32 (N,)
        Their mean probability.
    """
    if prob is None:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    mask = prob > plan.segment_threshold
    mh, mw = mask.shape
    for x0, y0, x1, y1 in pad_boxes(boxes, plan.cover_pad) * scale:
        # Only the map pixels wholly inside the padded box: rounded inward.
        ix0, iy0 = max(0, math.ceil(x0)), max(0, math.ceil(y0))
        ix1, iy1 = min(mw, math.floor(x1)), min(mh, math.floor(y1))
        if ix1 > ix0 and iy1 > iy0:
            mask[iy0:iy1, ix0:ix1] = False
    part_px, part_score = _parts(mask, prob, plan.part_fill)
    # Exact in float64, then rounded outward to float32 so a box never shrinks by the cast.
    parts = part_px.astype(np.float64) / scale
    out = parts.astype(np.float32)
    out[:, :2] = np.where(out[:, :2] > parts[:, :2], np.nextafter(out[:, :2], np.float32(-np.inf)), out[:, :2])
    out[:, 2:] = np.where(out[:, 2:] < parts[:, 2:], np.nextafter(out[:, 2:], np.float32(np.inf)), out[:, 2:])
    return out, part_score.astype(np.float32)


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

    The table above is of the HOG instances before the SSD. With the SSD's person boxes
    (``benchmarks/eval_people.py``, balanced, 2026-12-06; a GT person found when a PERSON row
    has IoU >= 0.5 with it): PETS 0.923 over every frame (HOG: 0.853), 1.29 PERSON rows per
    person plus 19 SILHOUETTE rows a frame; COCO 0.315 of the people >= 64 px (HOG: 0.185);
    bodies (persons and silhouettes) hide 0.994 of PETS's people and 0.981 of COCO's >= 64
    px (0.810 of all sizes); heads with the person rows 0.960 on PETS. Without the mask the
    SSD alone would hide 0.33 of COCO's people >= 64 px: the mask stays.

    With NanoDet-g's boxes in place of the SSD's (balanced, every 4th PETS frame, the same
    day; `redact.detectors.objects.ObjectDetector` compares the two): PETS 0.938 (SSD 0.923
    on the same frames), 1.37 PERSON rows per person (1.28); COCO 0.769 of the people >= 64
    px (0.315); bodies hide 0.992 of PETS's people (0.993) and 0.981 of COCO's >= 64 px
    (0.981; all sizes 0.832 against 0.810); heads with the person rows 0.974 (0.954).
    Photos (`for_stills`) add NanoDet's 640 px view: COCO 0.889 of the people >= 64 px (see
    `redact.detectors.objects.ObjectDetector`), bodies hide 1.000 of them (0.866 of all sizes).

    Parameters
    ----------
    profile : Profile or str
        ``fast``, ``balanced`` (default) or ``thorough``; see `PLANS`.
    models_dir : path, optional
        Model cache (see `redact.detectors.models.models_dir`).
    plan : PersonPlan, optional
        Settings to use instead of the profile's (for experiments and benchmarks).

    Raises
    ------
    redact.detectors.models.ModelMissingError
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

    kinds: tuple = (Kind.PERSON, Kind.FACE)

    def __init__(self, profile: Profile = Profile.BALANCED, models_dir=None, *,
                 plan: PersonPlan | None = None, vehicles: bool = False, objects=None):
        import cv2

        self.profile = Profile(profile)
        self.plan = PLANS[self.profile.detectors] if plan is None else plan
        self.models: tuple = (SEGMENT_MODEL,) if self.plan.segment_grids else ()
        self.runtimes: dict = {}
        self._net: Any = None  # a cv2.dnn.Net when the plan segments
        if self.plan.segment_grids:
            self._net = cv2.dnn.readNetFromTFLite(str(model_path(SEGMENT_MODEL, models_dir)))
        self._objects: Any = None  # an ObjectDetector when the plan takes instances from its networks
        if self.plan.instances or vehicles:
            kinds = ((Kind.PERSON,) if self.plan.instances else ()) + ((Kind.VEHICLE,) if vehicles else ())
            self._objects = ObjectDetector(self.profile, models_dir, kinds=kinds, plan=objects)
            self.models += self._objects.models
            self.runtimes = dict(self._objects.runtimes)
        silhouettes = self.plan.instances and self._net is not None
        self.kinds = ((Kind.PERSON, Kind.FACE) + ((Kind.SILHOUETTE,) if silhouettes else ())
                      + ((Kind.VEHICLE,) if vehicles else ()))
        self._hog: Any = None  # a cv2.HOGDescriptor when the plan runs HOG
        if self.plan.hog_upscale > 0:
            self._hog = cv2.HOGDescriptor()
            self._hog.setSVMDetector(cv2.HOGDescriptor.getDefaultPeopleDetector())
        self._still_twin: PersonDetector | None = None

    def for_stills(self) -> "PersonDetector":
        """This detector for still images: its box networks' stills views
        (`redact.detectors.objects.ObjectDetector.for_stills`). Made once and kept; it shares
        this detector's networks (use both from one thread). ``self`` when they have none."""
        if self._objects is None or self._objects.for_stills() is self._objects:
            return self
        if self._still_twin is None:
            twin = copy.copy(self)
            twin._objects = self._objects.for_stills()
            self._still_twin = twin
        return self._still_twin

    def detect(self, frame: np.ndarray) -> Regions:
        """People in one frame, one row per person instance, plus a head box for each row.

        Parameters
        ----------
        frame : ndarray, uint8, shape (H, W, 3)
            RGB, any size from 1x1.

        Returns
        -------
        Regions
            The bodies: `Kind.PERSON` boxes, one per person (the box networks'), then
            `Kind.SILHOUETTE` boxes, the mask's parts that no person box covers (people the
            networks missed, and lookalikes; `unboxed_parts`); then one `Kind.FACE` head box per
            person row; then `Kind.VEHICLE` boxes when asked. Float boxes in frame pixels,
            scores in [0, 1], ``track_id`` -1. (With a HOG plan, the instances of
            `person_instances` and the mask parts no instance took are all persons.)
        """
        frame = check_frame(frame)
        height, width = frame.shape[:2]
        scale = min(1.0, self.plan.mask_side / max(height, width))
        prob = None
        if self._net is not None:
            prob = np.zeros((max(1, math.ceil(height * scale)), max(1, math.ceil(width * scale))),
                            np.float32)
            for view in self._views(frame):
                self._segment(frame, view, scale, prob)
        objects = self._objects.detect(frame) if self._objects is not None else Regions.empty()
        if self.plan.instances:
            people = objects.of_kind(Kind.PERSON)
            rest, rest_score = unboxed_parts(prob, scale, people.xyxy, self.plan)
            bodies = Regions.concat([people, Regions.from_boxes(rest, kind=Kind.SILHOUETTE, score=rest_score)])
        else:
            seeds, seed_score = self._pedestrians(frame) if self._hog is not None else (
                np.zeros((0, 4), np.float32), np.zeros(0, np.float32))
            xyxy, score, _ = person_instances(prob, scale, seeds, seed_score, self.plan)
            bodies = Regions.from_boxes(xyxy, kind=Kind.PERSON, score=score)
        # Heads of person boxes only: a silhouette is obscured whole as a body already, and the
        # head end of a mask part beside a kept subject (its arm, its shadow) hid the subject.
        people = bodies.of_kind(Kind.PERSON)
        return Regions.concat([
            bodies,
            Regions.from_boxes(head_boxes(people.xyxy, self.plan.head_share), kind=Kind.FACE, score=people.score),
            objects.of_kind(Kind.VEHICLE),
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
            views += tile_rects(w, h, tw, th, self.plan.tile_overlap)
        return views

    def _segment(self, frame: np.ndarray, view: tuple, scale: float, prob_out: np.ndarray) -> None:
        """Paste one rectangle's person probabilities into the frame-level map (maximum).

        Mask parts smaller than ``min_mask_pixels`` network pixels are dropped first, so the
        frame-level map holds exactly the parts each view would have reported on its own.
        """
        import cv2

        x0, y0, x1, y1 = view
        crop = frame[y0:y1, x0:x1]
        resized = resize(crop, SEGMENT_SIZE, SEGMENT_SIZE)
        # MediaPipe's segmentation graphs feed RGB scaled to [0, 1].
        self._net.setInput(cv2.dnn.blobFromImage(resized, 1.0 / 255.0))
        prob = np.ascontiguousarray(self._net.forward().reshape(SEGMENT_SIZE, SEGMENT_SIZE), dtype=np.float32)
        mask = (prob > self.plan.segment_threshold).view(np.uint8)
        n_labels, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=cv2.CV_32S)
        if n_labels <= 1:
            return
        small = stats[:, cv2.CC_STAT_AREA] < self.plan.min_mask_pixels
        small[0] = True
        if small.all():
            return
        prob[small[labels]] = 0.0
        # The view in map pixels, rounded outward; cv2.resize maps edges to edges.
        mx0, my0 = math.floor(x0 * scale), math.floor(y0 * scale)
        mx1 = min(prob_out.shape[1], max(mx0 + 1, math.ceil(x1 * scale)))
        my1 = min(prob_out.shape[0], max(my0 + 1, math.ceil(y1 * scale)))
        size = (mx1 - mx0, my1 - my0)
        down = size[0] < SEGMENT_SIZE and size[1] < SEGMENT_SIZE
        pasted = cv2.resize(prob, size, interpolation=cv2.INTER_AREA if down else cv2.INTER_LINEAR)
        # Resampling smooths a weak part's pixels below the threshold; every map pixel that
        # a kept part touches stays above it, so the map's mask holds every view's parts.
        touched = cv2.resize((~small[labels]).astype(np.float32), size,
                             interpolation=cv2.INTER_AREA if down else cv2.INTER_LINEAR) > 0
        pasted[touched] = np.maximum(pasted[touched], np.nextafter(np.float32(self.plan.segment_threshold),
                                                                   np.float32(1)))
        np.maximum(prob_out[my0:my1, mx0:mx1], pasted, out=prob_out[my0:my1, mx0:mx1])

    def _pedestrians(self, frame: np.ndarray) -> tuple:
        """Boxes and scores of HOG's upright people over the whole frame (see `pedestrian_boxes`)."""
        found, margin = self._hog_windows(frame)
        return pedestrian_boxes(found, margin, self.plan)

    def _hog_windows(self, frame: np.ndarray) -> tuple:
        """HOG's raw detection windows ``x, y, w, h`` in frame pixels and their SVM margins."""
        import cv2

        plan = self.plan
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        scale = plan.hog_upscale
        if plan.hog_pixels:
            scale = min(scale, math.sqrt(plan.hog_pixels / gray.size))
        if scale != 1.0:
            gray = cv2.resize(gray, None, fx=scale, fy=scale,
                              interpolation=cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR)
        if gray.shape[0] < HOG_WINDOW_HEIGHT or gray.shape[1] < HOG_WINDOW_HEIGHT // 2:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
        found, margin = self._hog.detectMultiScale(gray, hitThreshold=plan.hog_threshold, winStride=(8, 8),
                                                   padding=(16, 16), scale=plan.hog_scale_step)
        found = np.asarray(found, np.float32).reshape(-1, 4) / scale
        return found, np.asarray(margin, np.float32).reshape(-1)


def pedestrian_boxes(found: np.ndarray, margin: np.ndarray, plan: PersonPlan) -> tuple:
    """HOG windows ``x, y, w, h`` trimmed to the person inside, one per person (`suppress`).

    Returns float32 ``xyxy`` (K, 4) and scores (K,): the SVM margin is unbounded, so a
    logistic squashes it into [0, 1].
    """
    found = np.asarray(found, np.float32).reshape(-1, 4)
    score = (1.0 / (1.0 + np.exp(-np.asarray(margin, np.float32).reshape(-1)))).astype(np.float32)
    mx, my = found[:, 2] * plan.hog_margin[0], found[:, 3] * plan.hog_margin[1]
    xyxy = np.stack([found[:, 0] + mx, found[:, 1] + my,
                     found[:, 0] + found[:, 2] - mx, found[:, 1] + found[:, 3] - my], axis=1)
    keep = suppress(xyxy, score, plan.hog_nms)
    return xyxy[keep].astype(np.float32), score[keep]


#: The plan of `HeadDetector`: the SSD's person boxes alone (`redact.detectors.objects`,
#: the whole frame and four tiles), whose boxes are person-shaped (the segmentation's parts
#: join a crowd into one wide part whose head end is most of a photo). Measured on every 20th
#: PETS09 frame (40 frames, 223 heads, the head test of ``benchmarks/eval_people.py``) beside
#: the balanced face detector, which alone hides 0.22 of them: the SSD's boxes 0.978 with a
#: head share of 0.25 (0.942 with 0.2), in 303 ms a frame; HOG's pedestrians (the plan before,
#: at 1.5x within 1 M pixels) 0.888 in 631 ms, both on the same 2 busy cores.
HEAD_PLAN = PersonPlan(segment_grids=(), instances=True)
#: The HOG plan it replaced, for comparisons (``HeadDetector(plan=HOG_HEAD_PLAN)``).
HOG_HEAD_PLAN = PersonPlan(segment_grids=(), hog_upscale=1.5, hog_pixels=1_000_000, hog_threshold=0.0,
                           hog_scale_step=1.1)
#: Profiles that run it. ``fast`` (and ``pi``) do not: five SSD calls would take most of a
#: detected frame's time there.
HEAD_PROFILES = (Profile.BALANCED, Profile.THOROUGH)


class HeadDetector:
    """Heads of people whose face the face detector may miss (seen from behind, turned
    away, or a head too small for it), as `Kind.FACE` boxes: the head end (`head_boxes`) of
    each person the box network finds, without the person's body (`HEAD_PLAN`), for people
    far enough that the head box is at most `MAX_HEAD_SHARE` of the frame, and whose face the
    face detector has not found (`found_as_faces`).

    `redact.detectors.build_detectors` runs it beside the face detector in ``balanced`` and
    ``thorough`` whenever faces are redacted and whole bodies are not (with `Kind.PERSON`,
    `PersonDetector` gives these boxes itself). On PETS09 (people 64-128 px tall, seen
    from above and behind) the face detector alone covers 22% of the heads, with this 98%.

    Parameters
    ----------
    profile, models_dir
        As `PersonDetector`.
    plan : PersonPlan, optional
        Instead of `HEAD_PLAN`.
    vehicles : bool
        Also report the vehicles the same SSD calls find (`Kind.VEHICLE`).
    """

    kinds: tuple = (Kind.FACE,)

    def __init__(self, profile: Profile = Profile.BALANCED, models_dir=None, *, plan: PersonPlan | None = None,
                 vehicles: bool = False):
        self.profile = Profile(profile)
        self._people = PersonDetector(self.profile, models_dir,
                                      plan=HEAD_PLAN if plan is None else plan, vehicles=vehicles)
        self.plan = self._people.plan
        self.models = self._people.models
        self.runtimes = self._people.runtimes
        if vehicles:
            self.kinds = (Kind.FACE, Kind.VEHICLE)

    def detect(self, frame: np.ndarray) -> Regions:
        """Head boxes (`Kind.FACE`) of the people in one RGB frame, then the vehicles when asked."""
        found = self._people.detect(frame)
        height = found.xyxy[:, 3] - found.xyxy[:, 1]
        near = (found.kind == Kind.FACE) & (height > MAX_HEAD_SHARE * frame.shape[0])
        return found.select(((found.kind == Kind.FACE) & ~near) | (found.kind == Kind.VEHICLE))

    def settle(self, own: Regions, others: Regions) -> Regions:
        """``own`` (this detector's regions on a frame) without the heads whose face another
        detector found on it (`found_as_faces`): that face's box hides it. Called by
        `redact.detectors.detect_all` once every detector has run, so the heads' network can
        run beside the face detector."""
        heads = np.flatnonzero(own.kind == Kind.FACE)
        faces = others.kind == Kind.FACE
        drop = heads[found_as_faces(own.xyxy[heads], others.xyxy[faces], others.score[faces])]
        return own.select(~np.isin(np.arange(len(own)), drop))
