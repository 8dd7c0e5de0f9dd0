"""Subjects: pick the person or vehicle an incident keeps, and follow it through the clip.

A subject is picked at one time ``t`` (a point, a box, or the number `redact pick` drew),
then followed along its track forwards and backwards. Identity fails closed: where the
tracker could have confused the subject with another person (their boxes close and the
assignment ambiguous), the subject is obscured too; when they come apart, look and motion
together decide who came out where, and the subject is shown again only when exactly one
person coming out is it (a bystander is never shown because the tracker swapped two
people; a swap is followed). Frames hidden for identity are flagged for review.
"""
from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np

from ..core.geometry import box_areas, centres_inside, intersection_matrix, iou_matrix, overlap_areas, pad_boxes
from ..core.incident import Incident, IncidentError, Subject
from ..core.profile import Profile
from ..core.types import Kind, Regions
from ..detectors import build_detectors, detect_all, for_stills
from .compose import FrameSubjects, group_parts, shown_rows
from .looks import look_distance

#: Two people are confusable when their boxes overlap this much (IoU): from here the tracker
#: may match one's detection to the other's track (`redact.pipeline.tracking.Tracker`'s ``iou_match``).
CONFUSABLE_IOU = 0.2
#: ... and its assignment is unambiguous while each box continues its own predicted box by
#: this much more IoU than the other's; people have come apart below `APART_IOU`.
ASSOCIATION_MARGIN, APART_IOU = 0.2, 0.1
#: Frames a track must be detected on to be someone the subject can be confused with.
SIGHTINGS = 3
#: Bhattacharyya distance between looks under which two views are the same person. (0.35
#: for the torso's hue and saturation; the look with legs and brightness spreads one
#: person's views wider: at 0.35 true boxes on PETS09 showed the subject on 54% of its
#: frames, "does not look like itself" on most of the rest; at 0.45, 85%.)
SAME_LOOK = 0.45
#: Detections missed in a row after which a re-found track must prove its identity again.
LOST_FRAMES = 3
#: Another person can only take the subject's track if its box is at least this share of
#: the subject's (the tracker weighs size likeness; smaller rows are the subject's own parts).
RIVAL_SHARE = 0.25
#: Views of the subject compared with: its look at t, then the latest ones taken while its
#: identity was certain and its look was nearer its own than anyone's within `ALONE_MARGIN`
#: box sides (`_trusted_view`). A person's look drifts as it turns and walks: on PETS09
#: with true boxes, one person's torso colours (the look before the legs joined it) 1 frame
#: apart match 95% of the time, 60 frames apart 23%; two people in one frame 1%. So a look
#: is checked against recent ones too, and people coming out of a crossing are compared
#: with each other, not a threshold.
VIEWS, ALONE_MARGIN = 7, 0.25
#: Latest looks (on certain frames) a look may match besides the trusted views: a look
#: drifts with pose and with a neighbour's colours at its box's edge; a swap jumps.
RECENT_LOOKS = 3
#: One look is nearer than another when their distances differ by this much (Bhattacharyya).
LOOK_MARGIN = 0.1
#: One path leads nearer than another when the misses differ by this share of a box height
#: (and leans that way from `LEAN_MARGIN`); a path is measured over `PATH_FRAMES`
#: sightings and followed for at most `PATH_REACH` frames.
MOTION_MARGIN, LEAN_MARGIN, PATH_FRAMES, PATH_REACH = 0.5, 0.1, 8, 10
#: A lost subject may be carried on by a new track found within this many frames, its centre
#: within this many box sides (per frame of the gap) of where the subject was last seen.
REFIND_FRAMES, REFIND_REACH = 10, 0.5
#: Where a subject's track ended and nobody carries it on, the frames while people are still
#: near are flagged with this reason (`_still_about`); the reach grows for this many frames.
AMONG_OTHERS, AMONG_OTHERS_GROWTH = "subject lost among others", 3
#: A subject lost among others is found again (`_refind`) on a track born after the loss
#: whose look is the subject's, and nearer it than anyone else's in the frame, on this many
#: of its detections in a row, within `REFIND_SECONDS` of the loss.
REFIND_SIGHTINGS, REFIND_SECONDS = 5, 10.0
#: A crossing is over when `_comes_out` names the same track on this many detected frames in
#: a row: a tracker often swaps two people's ids over the frames where they part, so the
#: track named on the first frame apart may be on the other person a frame later (PETS09,
#: with the boxes between two people left out: a bystander shown for 5 frames).
COMES_OUT_SIGHTINGS = 2
#: A box within this share of its width of the frame's edge may be leaving or entering the
#: view: a subject lost there may have gone, a track born there come from outside.
EDGE_SHARE = 0.5
#: Why the frames before a person came out of the subject's box are hidden (`_shared_box`).
SHARED_BOX = "another person came out of the subject's box"
#: A person has come out of the subject's box once this share of its own box lies outside
#: it, on one of its first `PARTING_SIGHTINGS` detections.
APART_SHARE, PARTING_SIGHTINGS = 0.5, 16
#: ... and it stood still when its centre moved less than this share of its width over
#: its first `PATH_FRAMES` sightings (PETS09: a sign on a post, taken for a person, that the
#: subject walked behind; its walk back hid all 80 frames it was shown on).
STILL_SHARE = 0.25
#: Least IoU between a subject's box (given, or drawn by `redact pick` for its number) and
#: the person or plate kept. A number demands more: its box came from a detector, so the
#: same person found by this run's detectors overlaps it closely.
BOX_IOU, NUMBER_IOU = 0.3, 0.5
#: A point picks the smallest box under it; among boxes of that one's kind, each area weighed
#: up by 1 + this times the point's squared offset from the box's centre (dx² + dy², each in
#: its own box side: at most 0.5 inside the box, so a box up to 2x larger may win).
CENTRED = 2.0
#: Two rows of one kind overlapping this much (IoU), or one this much inside the other, are
#: one object to number (`numbered`).
SAME_OBJECT_IOU, SAME_OBJECT_INSIDE = 0.7, 0.9
#: A person box lying across two higher-scoring ones, each holding this share of it, is a box
#: between two people (`straddling`): not numbered.
STRADDLE_SHARE = 0.25


@dataclass
class FrameRecord:
    """What the analysis pass keeps of one frame (no pixels)."""

    regions: Regions
    time: float
    flagged: str | None = None
    observed: frozenset = frozenset()  # track ids detected (not predicted) in this frame
    looks: dict = field(default_factory=dict)  # person track id -> colour histogram


def _same_object(box: np.ndarray, others: np.ndarray, nested: bool) -> bool:
    """Whether ``box`` repeats one of ``others``: IoU >= `SAME_OBJECT_IOU`, or, with
    ``nested`` (plates), `SAME_OBJECT_INSIDE` of the smaller one inside the larger: a plate
    seen whole and seen tighter by the search on its car. (People nest too, a child in front
    of an adult, and each keeps a number.)"""
    if iou_matrix(box[None], others).max() >= SAME_OBJECT_IOU:
        return True
    if not nested:
        return False
    smaller = np.minimum(box_areas(box[None])[0], box_areas(others))
    return bool((overlap_areas(others, box) >= SAME_OBJECT_INSIDE * np.maximum(smaller, 1e-6)).any())


def straddling(xyxy: np.ndarray, score: np.ndarray, share: float = STRADDLE_SHARE) -> np.ndarray:
    """Which boxes lie across two others that score higher, each holding at least ``share``
    of the box: a box between two people (the far pair by the vans on PETS09), not one of them.

    >>> boxes = np.array([[0, 0, 20, 60], [30, 0, 50, 60], [12, 0, 38, 60], [60, 0, 80, 60]], np.float32)
    >>> straddling(boxes, np.array([0.7, 0.6, 0.3, 0.9])).tolist()
    [False, False, True, False]
    """
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    score = np.asarray(score, np.float64).reshape(-1)
    held = intersection_matrix(xyxy, xyxy) / np.maximum(box_areas(xyxy), 1e-9)[:, None]  # [i, j]: share of i in j
    np.fill_diagonal(held, 0.0)
    return ((held >= share) & (score[None, :] > score[:, None])).sum(axis=1) >= 2


def numbered(regions: Regions, observed=None, *, straddlers: bool = False) -> list:
    """People, then plates, then vehicles, each left to right: the order `redact pick`
    numbers them in (vehicles last, so the numbers of people and plates stay as they were).

    A row that repeats one already numbered (same kind, `_same_object`: two views
    of one plate) gets no number of its own: one number per object; nor does a person box
    lying between two people (`straddling`: PETS09 at 20 s numbered the far pair by the vans
    three times). Such a box is obscured like every other; it is only not offered to keep.
    (Left out of the person rows altogether, it took away the subject logic's sign that a
    box it followed held two people: on PETS09 a bystander behind the subject was shown.)
    With ``straddlers`` they are listed too: a point or a box given by hand must be able to
    hit a person half hidden between two others (`pick`), or it lands on a neighbour.
    """
    rows: list = []
    for kind in (Kind.PERSON, Kind.PLATE, Kind.VEHICLE):
        idx = [int(i) for i in np.flatnonzero(regions.kind == kind)]
        if observed is not None:
            idx = [i for i in idx if int(regions.track_id[i]) in observed]
        if kind == Kind.PERSON and idx and not straddlers:
            across = straddling(regions.xyxy[idx], regions.score[idx])
            idx = [i for i, a in zip(idx, across) if not a]
        # Higher scores first among repeats, then left to right.
        kept: list = []
        for i in sorted(idx, key=lambda i: -float(regions.score[i])):
            if not kept or not _same_object(regions.xyxy[i], regions.xyxy[kept], nested=kind == Kind.PLATE):
                kept.append(i)
        rows += sorted(kept, key=lambda i: (float(regions.xyxy[i, 0]), float(regions.xyxy[i, 1])))
    return [int(i) for i in rows]


def numbered_boxes(rgb: np.ndarray, profile, models_dir=None, *, still: bool = False) -> list:
    """``(kind, (x0, y0, x1, y1))`` per person, plate and vehicle, in the order `redact pick`
    numbers them, as `redact pick --profile profile` finds them on one frame (no tracking);
    with ``still``, as the detectors run on a photo (`redact.detectors.for_stills`), which is
    how ``redact PHOTO --keep N`` finds them."""
    detectors = build_detectors({Kind.PERSON, Kind.PLATE}, profile, models_dir)
    if still:
        detectors = for_stills(detectors)
    regions = detect_all(detectors, rgb)
    return [(Kind(int(regions.kind[row])), tuple(float(v) for v in regions.xyxy[row])) for row in numbered(regions)]


def resolve_numbers(incident: Incident, frames: dict, models_dir=None, *, still: bool = False) -> Incident:
    """``incident`` with each numbered subject's (and anchor's) ``drawn`` box set to what
    `redact pick` drew for its number; ``frames`` maps each such anchor (`Subject.every_anchor`)
    to its frame's RGB pixels (the frame nearest its ``t``), ``still`` when that is a photo. A
    number pick did not draw is refused."""
    import dataclasses

    def resolved(anchor: Subject) -> Subject:
        if anchor.number is None or anchor.drawn is not None:
            return anchor
        listed = numbered_boxes(frames[anchor], anchor.numbered_by, models_dir, still=still)
        if anchor.number > len(listed):
            raise IncidentError(f"{anchor.describe()}: `redact pick --profile {Profile(anchor.numbered_by).value}` "
                                f"numbers only {len(listed)} people and plates there; run it again and use "
                                "the number it prints")
        return dataclasses.replace(anchor, drawn=listed[anchor.number - 1][1])

    subjects = []
    for subject in incident.subjects:
        first, *more = subject.every_anchor()
        subjects.append(dataclasses.replace(resolved(first), anchors=tuple(resolved(a) for a in more)))
    return dataclasses.replace(incident, subjects=tuple(subjects))


def pick(records: list, subject: Subject, incident: Incident, width: int, height: int) -> tuple[int, int, int]:
    """``(frame index, kind, track id)`` of the subject, or `IncidentError` naming the
    nearest people when the target hits nobody."""
    if not records:
        raise IncidentError(f"{subject.describe()}: the clip has no frames in the window")
    i = min(range(len(records)), key=lambda k: abs(records[k].time - subject.t))
    record = records[i]
    step = (records[-1].time - records[0].time) / max(1, len(records) - 1) or 1.0
    if abs(record.time - subject.t) > 1.5 * step:
        # Someone else stands there at another time: never keep whoever is nearest in time.
        raise IncidentError(f"{subject.describe()}: no frame at that time; the frames analysed run from "
                            f"{records[0].time:.2f} s to {records[-1].time:.2f} s of the input")
    regions = record.regions
    order = numbered(regions, record.observed, straddlers=True)
    if subject.number is not None:
        # Never an index into this run's own list: another profile (or the tracker's held
        # boxes) numbers other people, and the number would keep a bystander.
        if subject.drawn is None:
            raise IncidentError(f"{subject.describe()}: not resolved to the box `redact pick` drew "
                                "(redact.pipeline.subjects.resolve_numbers)")
        target: tuple | None = subject.drawn
    else:
        target = subject.target_px(incident.units, width, height)
    if target is None:  # Subject guarantees a point, a box or a number
        raise IncidentError(f"{subject.describe()}: give a point, a box or a number")
    x0, y0, x1, y1 = target
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    best, best_score = None, 0.0
    if subject.point is not None:
        # The smallest box under the point: the person in front, not the crowd around; among
        # boxes of its kind, the area weighed by the point's offset from each box's centre
        # (`CENTRED`; PETS09 frame 603: a box over a walker's legs and a neighbour, 0.84x the
        # walker's own box, took the point on the walker's middle, and the walker was never
        # shown). Kinds are never weighed against each other: a car centred on the point must
        # not win over the person standing in front of it.
        boxes = regions.xyxy[order].astype(np.float64).reshape(-1, 4)
        hits = np.flatnonzero(centres_inside([[cx, cy, cx, cy]], boxes)[0])
        if len(hits):
            sides = np.maximum(boxes[hits, 2:] - boxes[hits, :2], 1e-6)
            area = sides[:, 0] * sides[:, 1]
            kind = regions.kind[np.asarray(order)[hits]]
            offset = ((np.array([cx, cy]) - 0.5 * (boxes[hits, :2] + boxes[hits, 2:])) / sides) ** 2
            weighed = np.where(kind == kind[np.argmin(area)], area * (1.0 + CENTRED * offset.sum(axis=1)), np.inf)
            best, best_score = order[int(hits[np.argmin(weighed)])], 1.0
    else:
        for row in order:
            bx0, by0, bx1, by1 = regions.xyxy[row]
            inter = float(overlap_areas(regions.xyxy[row:row + 1], target)[0])
            union = (x1 - x0) * (y1 - y0) + (bx1 - bx0) * (by1 - by0) - inter
            score = inter / union if union > 0 else 0.0
            if score > best_score:
                best, best_score = row, score
    least = NUMBER_IOU if subject.number is not None else BOX_IOU if subject.box is not None else 0.0
    if best is None or best_score < least:
        if subject.number is not None:
            raise IncidentError(f"{subject.describe()}: this run finds nobody on the box it drew "
                                f"{[int(v) for v in target]} (x0, y0, x1, y1 px) at {record.time:.2f} s; run "
                                "`redact pick` with the profile of this run, or keep the subject by box X,Y,W,H@T")
        near = sorted(order, key=lambda r: np.hypot(*(0.5 * (regions.xyxy[r, :2] + regions.xyxy[r, 2:]) - (cx, cy))))
        listed = ", ".join(f"{Kind(int(regions.kind[r])).name.lower()} at "
                           f"{[int(v) for v in regions.xyxy[r]]}" for r in near[:3]) or "nobody was found"
        raise IncidentError(f"{subject.describe()} hits no person or plate at {record.time:.2f} s; nearest "
                            f"(x0, y0, x1, y1 px): {listed}; or pick by number with `redact pick`")
    return i, int(regions.kind[best]), int(regions.track_id[best])


def _confusable(record: FrameRecord, row: int, people: set) -> dict:
    """Track id -> row of the people whose box the tracker could confuse with the subject's:
    IoU at least `CONFUSABLE_IOU`, detected or held (a person lost behind the subject is
    still there). Only ``people`` count: tracks detected on `SIGHTINGS` frames or more. A
    box found once or twice (a detection straddling two people, a shadow) is covered
    like any other but cannot carry anyone's identity through a clip.

    Parts much smaller than the subject (mask fragments of its own body) and parts much
    larger that hold all of it (the subject joined to its shadow or a group) cannot take
    its track: the tracker matches by size too.
    """
    regions = record.regions
    box = regions.xyxy[row]
    area = max(1e-6, (box[2] - box[0]) * (box[3] - box[1]))
    groups = group_parts(regions.xyxy, box[None, :])
    others = np.flatnonzero((regions.kind == Kind.PERSON) & (regions.track_id != regions.track_id[row]) & ~groups
                            & np.isin(regions.track_id, list(people)))
    if not len(others):
        return {}
    ious = iou_matrix(regions.xyxy[others], box[None, :])[:, 0]
    near: dict = {}
    for other, iou in zip(others, ious):
        o = regions.xyxy[other]
        if iou >= CONFUSABLE_IOU and (o[2] - o[0]) * (o[3] - o[1]) >= RIVAL_SHARE * area:
            near.setdefault(int(regions.track_id[other]), int(other))
    return near


def _person_rows(record: FrameRecord, tid: int) -> np.ndarray:
    """Rows of track ``tid``'s person boxes (detected or held) in ``record``."""
    return np.flatnonzero((record.regions.track_id == tid) & (record.regions.kind == Kind.PERSON))


def _detected_box(record: FrameRecord, tid: int):
    """Track ``tid``'s detected box in ``record`` (float64 (4,)), or None."""
    rows = _person_rows(record, tid)
    if tid not in record.observed or not len(rows):
        return None
    return record.regions.xyxy[rows[0]].astype(np.float64)


def _predicted_box(records: list, i: int, step: int, tid: int):
    """Where track ``tid``'s box should be on frame ``i`` from its detected boxes on the two
    frames before (constant velocity; the last box when only it is known), or None when it
    was not detected on the frame before."""
    last = _detected_box(records[i - step], tid) if 0 <= i - step < len(records) else None
    if last is None:
        return None
    earlier = _detected_box(records[i - 2 * step], tid) if 0 <= i - 2 * step < len(records) else None
    return last if earlier is None else last + (last - earlier)


def _crossing(records: list, i: int, step: int, current: int, row: int, near_before: set, people: set) -> tuple:
    """``(people whose identity may have been exchanged with the subject's on frame i,
    people confusable with it there)``.

    Boxes close enough to confuse are not yet a swap: where both people are detected on
    this frame and the one before, and each box continues its own predicted box clearly
    better than the other's (IoU by `ASSOCIATION_MARGIN`), the tracker's assignment was
    unambiguous and identity carries on. Otherwise (one of them missed, found as one box,
    or the boxes equally likely) it is split. A person confusable with the subject on the
    frame before and not detected now is split too: it may be inside the subject's box.
    """
    record = records[i]
    near = _confusable(record, row, people)
    split = {tid for tid in near_before - near.keys() if tid not in record.observed}
    if not near:
        return split, set()
    mine, mine_before = _detected_box(record, current), _predicted_box(records, i, step, current)
    for tid in near:
        theirs, theirs_before = _detected_box(record, tid), _predicted_box(records, i, step, tid)
        if mine is None or theirs is None or mine_before is None or theirs_before is None:
            split.add(tid)
            continue
        own = iou_matrix(np.stack([mine, theirs]), np.stack([mine_before, theirs_before]))
        if not (own[0, 0] >= own[1, 0] + ASSOCIATION_MARGIN and own[1, 1] >= own[0, 1] + ASSOCIATION_MARGIN):
            split.add(tid)
    return split, set(near)


def _clear_of(record: FrameRecord, row: int, tid: int) -> bool:
    """Whether track ``tid`` is detected in this frame apart from the box in ``row`` (IoU
    under `APART_IOU`): the two have come out of their crossing."""
    box = _detected_box(record, tid)
    return box is not None and float(iou_matrix(box[None], record.regions.xyxy[row:row + 1])[0, 0]) < APART_IOU


def _neighbours(regions: Regions, row: int) -> list:
    """Track ids of the other person rows (detected or held) within `ALONE_MARGIN` of ``row``."""
    grown = pad_boxes(regions.xyxy[row:row + 1], ALONE_MARGIN)[0]
    others = (regions.kind == Kind.PERSON) & (regions.track_id != regions.track_id[row])
    near = others & (overlap_areas(regions.xyxy, grown) > 0)
    return [int(t) for t in regions.track_id[near]]


def _nearest(views, look) -> float:
    """Distance from ``look`` to the closest of ``views`` (inf when there are none)."""
    return min((look_distance(v, look) for v in views), default=float("inf"))


def _looks_like(views, look) -> bool:
    """Whether ``look`` matches one of ``views`` (the subject's look at t, trusted views)."""
    return _nearest(views, look) < SAME_LOOK


def _trusted_view(record: FrameRecord, row: int, look, views) -> bool:
    """Whether the subject's look on a certain frame may join its views: it matches them,
    and it is nearer them than to the look of anyone beside it (a look drifting towards a
    neighbour's would let looks mistake one for the other after a crossing; a neighbour
    not detected has no look to compare with, so its company freezes the views)."""
    mine = _nearest(views, look)
    if mine >= SAME_LOOK:
        return False
    for tid in _neighbours(record.regions, row):
        theirs = record.looks.get(tid) if tid in record.observed else None
        if theirs is None or mine + LOOK_MARGIN > look_distance(theirs, look):
            return False
    return True


def _history(records: list, i: int, step: int, tid: int, n: int) -> list:
    """Up to ``n`` ``(frame, box, look)`` where track ``tid`` was detected, walking from
    frame ``i`` by ``step`` (nearest first)."""
    out: list = []
    while 0 <= i < len(records) and len(out) < n:
        box = _detected_box(records[i], tid)
        if box is not None:
            out.append((i, box, records[i].looks.get(tid)))
        i += step
    return out


@dataclass
class _Path:
    """Where a person was last seen for sure, how it moved and looked: what tells who comes
    out of a crossing where."""

    frame: int
    centre: np.ndarray
    velocity: np.ndarray  # centre pixels per frame index
    looks: list

    @classmethod
    def of(cls, seen: list) -> _Path | None:
        """From ``(frame, box, look)`` sightings (the latest first); None without any."""
        if not seen:
            return None
        (f0, b0, _), (f1, b1, _) = seen[0], seen[-1]
        c0, c1 = 0.5 * (b0[:2] + b0[2:]), 0.5 * (b1[:2] + b1[2:])
        velocity = (c0 - c1) / (f0 - f1) if f0 != f1 else np.zeros(2)
        return cls(f0, c0, velocity, [look for _, _, look in seen if look is not None])

    def miss(self, frame: int, box) -> float:
        """Pixels between ``box``'s centre and where this path leads at ``frame`` (people
        stop and turn: the path is followed for at most `PATH_REACH` frames)."""
        frames = float(np.clip(frame - self.frame, -PATH_REACH, PATH_REACH))
        expected = self.centre + self.velocity * frames
        return float(np.hypot(*(0.5 * (box[:2] + box[2:]) - expected)))


def _verdict(mine: float, theirs: float, margin: float) -> bool | None:
    """True when ``mine`` is clearly the smaller, False when ``theirs`` is, else None."""
    if mine + margin <= theirs:
        return True
    if theirs + margin <= mine:
        return False
    return None


def _is_subject(frame: int, box, look, views, path: _Path | None, partners: list, strict: bool = False) -> bool | None:
    """Whether a person coming out of a crossing is the subject: True, False, or None
    where the evidence is split.

    Appearance asks whether its look is nearer the subject's trusted views than the looks
    of every person the subject crossed (as they looked before it); motion whether its box
    lies nearer where the subject's path leads than where theirs do. Comparing with the
    others, not with a fixed threshold, holds while every look drifts. A clear look decides
    unless motion even leans the other way; clear motion decides unless looks disagree.
    Where a person crossed was never seen before the crossing, a yes also needs a look
    that matches the subject's outright. With ``strict`` (someone crossed is nowhere to be
    seen, so cannot be asked in turn) a yes needs both cues to say so clearly.
    """
    known = [p for p in partners if p is not None]
    height = max(1.0, float(box[3] - box[1]))
    looks = motion = lean = None
    if look is not None and views and known and all(p.looks for p in known):
        looks = _verdict(_nearest(views, look), min(_nearest(p.looks, look) for p in known), LOOK_MARGIN)
    if path is not None and known:
        mine, theirs = path.miss(frame, box), min(p.miss(frame, box) for p in known)
        motion, lean = _verdict(mine, theirs, MOTION_MARGIN * height), _verdict(mine, theirs, LEAN_MARGIN * height)
    if strict:
        return True if looks is True and motion is True else (False if looks is False or motion is False else None)
    # Looks decide unless motion even leans the other way; motion decides unless looks do.
    if (looks is True and lean is not False) or (motion is True and looks is not False):
        if len(known) < len(partners) and not (look is not None and _looks_like(views, look)):
            return None
        return True
    if looks is False or motion is False:
        return False
    return None


def _comes_out(records: list, i: int, row: int, current: int, views, trail, partners: dict) -> int | None:
    """The track the subject is on after a crossing, or None while that is not certain.

    Every person it crossed must be detected apart from it (a partner found as one box with
    the subject, or held, leaves the crossing open); then each person coming out, the
    subject's own track and the partners', is asked `_is_subject`, and exactly one must
    answer yes. A tracker that swapped the two ids is thereby undone: the subject is
    followed on the track it came out on.

    A partner whose track has ended (no row at all: its hold ran out) cannot come out
    under its id; on PETS09 such partners (people of a group whose tracks broke and went
    on under new ids) kept the subject hidden for the rest of the clip. Where one new track
    carries it on (`_carried_on`), that track is asked in its place. Otherwise it no longer
    blocks, but it is still compared with (its path and looks before the crossing), and, as
    it could be anywhere, even on the subject's track, a yes then needs look and motion both.
    """
    record = records[i]
    regions = record.regions
    live = [tid for tid in partners if (regions.track_id == tid).any()]
    # An ended partner carried on by a new track (`_carried_on`) is asked under that id.
    live += [other for tid, path in partners.items() if tid not in live and path is not None
             and (other := _carried_on(records, i, tid, path, {current, *partners})) is not None]
    if not all(_clear_of(record, row, tid) for tid in live):
        return None
    path = _Path.of(list(reversed(trail)))
    candidates = {current: row}
    for tid in live:
        candidates[tid] = int(_person_rows(record, tid)[0])
    crossed = list(partners.values())
    strict = len(live) < len(partners)
    yes = [tid for tid, r in candidates.items()
           if _is_subject(i, regions.xyxy[r].astype(np.float64), record.looks.get(tid), views, path, crossed, strict)]
    return yes[0] if len(yes) == 1 else None


def _carried_on(records: list, i: int, tid: int, path: _Path, excluded: set) -> int | None:
    """The track that carries on a crossing's partner ``tid`` whose own track has ended: the
    one person track detected on frame ``i``, not in ``excluded``, first detected after
    ``tid`` was last detected (walking from the crossing, `_Path.frame`, to ``i``) and then
    near where ``tid`` was (`_near_last`); None when no track or several do.

    A tracker breaks a track in a crowd and goes on under a new id (PETS09's lamp-post group:
    a dozen ids for three people). Taken for nobody, such a partner made the subject's own
    track the only one asked, which then needed look and motion both, and the subject stayed
    hidden for the rest of its track (whole clip: 99 frames of one subject, 141 of another).
    """
    step = 1 if i >= path.frame else -1
    latest = _history(records, i, -step, tid, 1)
    if not latest:
        return None
    (last, last_box, _), = latest
    regions = records[i].regions
    found = []
    for row in np.flatnonzero(regions.kind == Kind.PERSON):
        other = int(regions.track_id[row])
        if other in excluded or other not in records[i].observed:
            continue
        # Its first detection walking from the crossing (there is one: it is detected on ``i``).
        (first, box, _), = _history(records, path.frame, step, other, 1)
        if (first - last) * step <= 0:  # seen while ``tid`` still was: someone else
            continue
        if _near_last(box[None], last_box, min(abs(first - last), AMONG_OTHERS_GROWTH))[0]:
            found.append(other)
    return found[0] if len(found) == 1 else None


def _near_last(boxes: np.ndarray, last_box: np.ndarray, gap: int) -> np.ndarray:
    """Which ``boxes`` are centred within `REFIND_REACH` times a lost subject's size (per frame
    of the ``gap`` since it was lost, plus one) of its ``last_box``: where it can have got to."""
    x0, y0, x1, y1 = last_box
    reach = REFIND_REACH * (1 + gap) * max(x1 - x0, y1 - y0)
    centres = 0.5 * (boxes[:, :2] + boxes[:, 2:]).astype(np.float64)
    return np.hypot(*(centres - [(x0 + x1) / 2, (y0 + y1) / 2]).T) <= reach


def _still_about(records: list, i: int, step: int, last_box: np.ndarray) -> list:
    """Frames from ``i`` on (in ``step``'s direction) where someone is near where a subject
    was last seen, up to the last of them before nobody has been near for `REFIND_FRAMES`.

    Near: `_near_last`, its reach growing like `_successor`'s over the first
    `AMONG_OTHERS_GROWTH` frames (people walk on), then fixed.
    """
    last_near = None
    k, quiet = i, 0
    while 0 <= k < len(records) and quiet < REFIND_FRAMES:
        regions = records[k].regions
        people = regions.xyxy[regions.kind == Kind.PERSON]
        if _near_last(people, last_box, min(abs(k - i), AMONG_OTHERS_GROWTH)).any():
            last_near, quiet = k, 0
        else:
            quiet += 1
        k += step
    return [] if last_near is None else list(range(i, last_near + step, step))


def _successor(records: list, i: int, step: int, last_box: np.ndarray, views, companions: set,
               frame: tuple | None) -> tuple | None:
    """``(frame, track id)`` of the one new person track that carries on a lost subject.

    Trackers break a track when a person is missed for a while; the person comes back under
    a new id. Within `REFIND_FRAMES` of the loss, near where it was last seen, a detected
    person of about its size whose look matches the subject's (`_looks_like`) carries it on, when
    exactly one does (two that look alike: nobody is shown). Tracks detected beside the
    subject (``companions``) are other people, never the subject; and a new track nearer
    where one of them was last seen (`_companions_last_seen`) than where the subject was
    may be that companion under a new id: it does not carry the subject on either. (PETS09,
    whole clip: a walker left the frame at its right edge; 150 px inwards a bystander's
    track broke and restarted, looking alike, and was shown as the subject on 144 frames.)
    A subject last seen at an edge of the ``frame`` (`_edges`) may have left: a track seen at
    that edge in the window may be someone coming in, and never carries it on, however far in
    it walks (PETS09, walking back from an anchor: walker 15 left at the right edge, walker 1
    came in there 8 frames later, looking alike, and was shown as the subject on 39 frames).
    Without ``frame`` edges are not known and nothing is excluded for them.
    """
    if not views:
        return None
    leaving = _edges(last_box, frame) if frame is not None else set()
    entered: set = set()  # tracks seen at an edge the subject may have left by
    x0, y0, x1, y1 = last_box
    area = max(1e-6, (x1 - x0) * (y1 - y0))
    subject_centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    for gap in range(REFIND_FRAMES):
        j = i + step * gap
        if not 0 <= j < len(records):
            return None
        record = records[j]
        regions = record.regions
        found = set()
        near = _near_last(regions.xyxy, last_box, gap)
        others = None
        if leaving and frame is not None:
            entered.update(int(regions.track_id[row]) for row in np.flatnonzero(regions.kind == Kind.PERSON)
                           if _edges(regions.xyxy[row], frame) & leaving)
        for row in np.flatnonzero(regions.kind == Kind.PERSON):
            tid = int(regions.track_id[row])
            look = record.looks.get(tid)
            if tid in companions or tid not in record.observed or look is None:
                continue
            b = regions.xyxy[row]
            b_area = (b[2] - b[0]) * (b[3] - b[1])
            if not (near[row] and RIVAL_SHARE <= b_area / area <= 1 / RIVAL_SHARE and _looks_like(views, look)):
                continue
            if tid in entered:
                continue
            if others is None:
                others = _companions_last_seen(records, j, step, i - step * REFIND_FRAMES, companions)
            centre = 0.5 * (b[:2] + b[2:]).astype(np.float64)
            mine = float(np.hypot(*(centre - subject_centre)))
            if len(others) and float(np.hypot(*(others - centre).T).min()) <= mine:
                found.add(-1)  # as near someone else: it may be them
            else:
                found.add(tid)
        if len(found) == 1 and -1 not in found:
            return j, found.pop()
        if found:
            return None  # ambiguous, or maybe a companion: never guess who the subject is
    return None


def _edges(box, frame: tuple) -> set:
    """The edges of a ``frame`` (width, height) that ``box`` lies within `EDGE_SHARE` of its
    width of: a subset of ``{"left", "top", "right", "bottom"}``.

    >>> sorted(_edges([600, 10, 630, 100], (640, 480))), _edges([300, 200, 340, 300], (640, 480))
    (['right', 'top'], set())
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    margin = EDGE_SHARE * (x1 - x0)
    near = {"left": x0 <= margin, "top": y0 <= margin, "right": x1 >= frame[0] - margin,
            "bottom": y1 >= frame[1] - margin}
    return {edge for edge, at in near.items() if at}


def _at_edge(box, frame: tuple) -> bool:
    """Whether ``box`` lies within `EDGE_SHARE` of its width of any edge of a ``frame``
    (width, height)."""
    return bool(_edges(box, frame))


def _refind(records: list, i: int, step: int, views, known: set, frame: tuple) -> tuple | None:
    """``(frame, track id)`` where a subject lost among others is found again by its look.

    Trackers give people of a group new ids as they part and join (PETS09's lamp-post
    group: three people, twelve ids in 200 frames); a subject lost there was hidden for the
    rest of the clip. A track none of whose detections was seen before the loss (``known``:
    every track observed on the frames walked so far, so no companion and no id that ever
    carried someone else), first seen away from the frame's edge (`_at_edge`: someone coming
    into view), carries it on when, on `REFIND_SIGHTINGS` of its detections in a
    row, its look matches the subject's views and lies nearer them by `LOOK_MARGIN` than
    the look of every other person detected on that frame. The subject is shown from the
    last of those detections on, not before (fail closed).
    """
    if not views:
        return None
    streak: Counter = Counter()
    entered: set = set()  # tracks first seen at the frame's edge
    lost_at = records[i].time
    k = i
    while 0 <= k < len(records) and abs(records[k].time - lost_at) <= REFIND_SECONDS:
        record = records[k]
        regions = record.regions
        looks = {int(t): record.looks[int(t)] for t in regions.track_id[regions.kind == Kind.PERSON]
                 if int(t) in record.observed and int(t) in record.looks}
        nearest = {tid: _nearest(views, look) for tid, look in looks.items()}
        for tid, mine in nearest.items():
            if tid not in streak and tid not in entered and _at_edge(_detected_box(record, tid), frame):
                entered.add(tid)
            if tid in known or tid in entered:
                continue
            others = [d for t, d in nearest.items() if t != tid]
            if mine < SAME_LOOK and all(mine + LOOK_MARGIN <= d for d in others):
                streak[tid] += 1
                if streak[tid] >= REFIND_SIGHTINGS:
                    return k, tid
            else:
                streak[tid] = 0
        k += step
    return None


def _companions_last_seen(records: list, j: int, step: int, since: int, companions: set) -> np.ndarray:
    """Centres (K, 2) where each of ``companions`` was last detected, looking back from
    frame ``j`` (against ``step``) to frame ``since``."""
    seen: dict = {}
    k = j
    while 0 <= k < len(records) and (k - since) * step >= 0:
        regions = records[k].regions
        for row in np.flatnonzero(regions.kind == Kind.PERSON):
            tid = int(regions.track_id[row])
            if tid in companions and tid in records[k].observed and tid not in seen:
                seen[tid] = 0.5 * (regions.xyxy[row, :2] + regions.xyxy[row, 2:]).astype(np.float64)
        k -= step
    return np.array(list(seen.values()), np.float64).reshape(-1, 2)


def follow(records: list, start: int, track_id: int, frame: tuple | None = None) -> dict:
    """Frame index -> ``(state, track id)`` along one person from ``start``; ``state`` is
    "shown" or the reason it is not.

    Walks forwards and backwards from ``start``. The subject is shown while its identity is
    certain. It becomes uncertain where the tracker's assignment of its box against another
    person's was ambiguous (`_crossing`), where its look jumps away from its recent and
    trusted looks (a swap with someone the detector had missed), or where it is lost for a
    while. A crossing ends when everyone it crossed is detected apart from it and exactly
    one of the people coming out is the subject by look and motion (`_comes_out`); other
    losses when its look matches again. Where its track ends, a new track may carry it on
    (`_successor`); the frames between are "subject lost". Where nobody does, the frames
    while people are still near where it was are `AMONG_OTHERS` (`_still_about`), until a
    track born later alone looks like it (`_refind`, only with the ``frame`` size, width and
    height, known); frames where it is nowhere are not in the result.
    """
    reference = records[start].looks.get(track_id)
    sightings, spans = _sightings(records)
    people = {tid for tid, n in sightings.items() if n >= SIGHTINGS}
    states: dict = {}
    for step in (1, -1):
        certain, missed, reason = True, 0, ""
        i, current = start, track_id
        companions: set = set()
        last_box = None
        views: deque = deque([reference] if reference is not None else [], maxlen=VIEWS)
        recent: deque = deque(maxlen=RECENT_LOOKS)  # its latest looks while certain, trusted or not
        trail: deque = deque(maxlen=PATH_FRAMES)  # (frame, box, look) while certain and detected
        partners: dict = {}  # person crossed and not yet seen apart -> its _Path before the crossing
        coming: tuple = (None, 0)  # (track named by `_comes_out`, detected frames in a row)
        near: set = set()  # people confusable with the subject on the frame before
        walked: set = set()  # every track observed on the frames walked so far
        while 0 <= i < len(records):
            record = records[i]
            walked |= record.observed
            regions = record.regions
            person = regions.kind == Kind.PERSON
            rows = np.flatnonzero((regions.track_id == current) & person)
            if not len(rows):
                # The track ended: a new track carries the subject on only if it is unmistakably it.
                carried: tuple | None = None
                if last_box is not None:
                    carried = _successor(records, i, step, last_box, views, companions, frame)
                if carried is None:
                    # Nobody carries it on; where people are still about, it may be among them,
                    # hidden: those frames go to review, where an anchor can re-join it.
                    about: list[int] = _still_about(records, i, step, last_box) if last_box is not None else []
                    # A subject last seen at the frame's edge may have left it: nobody is it.
                    refound: tuple | None = (_refind(records, i, step, views, walked, frame)
                               if frame is not None and last_box is not None and not _at_edge(last_box, frame)
                               else None)
                    for k in about:
                        if refound is not None and (k - refound[0]) * step >= 0:
                            break
                        states.setdefault(k, (AMONG_OTHERS, current))
                    if refound is None:
                        break
                    i, current = refound
                    certain, missed, reason, near, partners = True, 0, "", set(), {}
                    coming = (None, 0)
                    companions, trail = set(), deque(maxlen=PATH_FRAMES)
                    continue
                j, current = carried
                coming = (None, 0)
                for k in range(i, j, step):
                    states.setdefault(k, ("subject lost", current))
                i, certain, missed, reason, near = j, False, 0, "subject lost", set()
                continue
            row = int(rows[0])
            # Detected beside it, not merely held: a track's hold reaches back before it was found.
            companions |= {int(t) for t in regions.track_id[person & (regions.track_id != current)]
                           if int(t) in record.observed}
            observed = current in record.observed
            missed = 0 if observed else missed + 1
            look = record.looks.get(current) if observed else None
            crossed, near = _crossing(records, i, step, current, row, near, people)
            if crossed:
                for tid in crossed - partners.keys():
                    partners[tid] = _Path.of(_history(records, i - step, -step, tid, PATH_FRAMES))
                certain, reason, coming = False, "subject crosses another person", (None, 0)
            elif certain:
                # A jump in look, not a drift, with nobody near enough to cover part of it (then
                # the association above speaks): a swap with someone the detector had missed.
                if (look is not None and reference is not None and not _neighbours(regions, row)
                        and not _looks_like((*views, *recent), look)):
                    certain, reason = False, "subject does not look like itself"
                elif missed >= LOST_FRAMES:
                    certain, reason = False, "subject lost"
            elif observed and partners:
                out = _comes_out(records, i, row, current, views, trail, partners)
                coming = (out, coming[1] + 1 if out is not None and out == coming[0] else 1)
                if out is None or coming[1] < COMES_OUT_SIGHTINGS:
                    reason = "subject identity not re-established"
                else:
                    if out != current:  # the tracker swapped the ids: follow the subject, not the id
                        companions.add(current)
                        current = out
                        row = int(np.flatnonzero((regions.track_id == current) & person)[0])
                        look = record.looks.get(current)
                    certain, partners, coming = True, {}, (None, 0)
            elif observed and look is not None and _looks_like((*views, *recent), look):
                certain = True
            if certain and current in record.observed:
                trail.append((i, regions.xyxy[row].astype(np.float64), look))
                if look is not None:
                    recent.append(look)
                    if _trusted_view(record, row, look, views):
                        views.append(look)
            last_box = regions.xyxy[row].copy()
            if i not in states or states[i][0] == "shown":
                states[i] = ("shown" if certain else reason, current)
            i += step
    _shared_box(records, states, people, spans, frame)
    return states


def _sightings(records: list) -> tuple:
    """``(count, (first, last))``: track id -> the frames it was detected on, and the first
    and the last of them."""
    count: Counter = Counter()
    first: dict = {}
    last: dict = {}
    for i, record in enumerate(records):
        count.update(record.observed)
        for tid in record.observed:
            first.setdefault(tid, i)
            last[tid] = i
    return count, (first, last)


def _reborn(records: list, k: int, step: int, tid: int, box: np.ndarray, last: dict, subject: set) -> bool:
    """Whether the track ``tid`` beginning on frame ``k`` (walking by ``step``) may be someone
    already seen under another id: a track, not one the subject was followed on, that ended
    (``last``: track id -> its last frame walking that way) within `REFIND_FRAMES` before,
    near where it ended (`_near_last`, its reach growing for `AMONG_OTHERS_GROWTH` frames
    only, as `_carried_on`'s). Trackers break tracks in a crowd and go on under new ids, and
    a look drifts across the break: it is not asked for (asked, PETS09's lamp-post group
    hid four subjects whole)."""
    for j in range(k - step, k - step * (REFIND_FRAMES + 1), -step):
        if not 0 <= j < len(records):
            break
        for other in records[j].observed:
            if other == tid or other in subject or last.get(other) != j:
                continue
            seen = _detected_box(records[j], other)
            if seen is not None and _near_last(box[None], seen, min(abs(k - j), AMONG_OTHERS_GROWTH))[0]:
                return True
    return False


def _outside_share(box: np.ndarray, other: np.ndarray) -> float:
    """The share of ``box``'s area that lies outside ``other``."""
    area = max(1e-6, float(box_areas(box[None])[0]))
    return 1.0 - float(overlap_areas(box[None], other)[0]) / area


def _meets(records: list, k: int, step: int, tid: int, states: dict) -> tuple | None:
    """``(frame, newcomer's box, subject's box)`` on the first frame from ``k`` (within
    `LOST_FRAMES`, walking by ``step``) where track ``tid`` and the subject (``states``) are
    both detected; None when there is none."""
    for j in range(k, k + step * (LOST_FRAMES + 1), step):
        if j not in states:
            return None
        box, subject = _detected_box(records[j], tid), _detected_box(records[j], states[j][1])
        if box is not None and subject is not None:
            return j, box, subject
    return None


def _parts_from(records: list, k: int, step: int, tid: int, states: dict) -> bool:
    """Whether track ``tid``, beginning on the subject on frame ``k``, then stands mostly
    outside the subject's detected box (`APART_SHARE` of it, and IoU under `APART_IOU`) on
    one of its next `PARTING_SIGHTINGS` detections walking by ``step``: someone coming out,
    not a second box on the subject's own head or legs, which stays on it."""
    for j, box, _ in _history(records, k, step, tid, PARTING_SIGHTINGS):
        subject = _detected_box(records[j], states[j][1]) if j in states else None
        if (subject is not None and _outside_share(box, subject) >= APART_SHARE
                and iou_matrix(box[None], subject[None])[0, 0] < APART_IOU):
            return True
    return False


def _shared_box(records: list, states: dict, people: set, spans: tuple, frame: tuple | None) -> None:
    """Hide (in ``states``, `follow`'s result) the frames before someone came out of the
    subject's box. A person whose track begins on the subject (IoU `CONFUSABLE_IOU` with
    its detected box, on the first frame both are detected), at least `RIVAL_SHARE` of its
    size, not coming into view at an edge the subject is not at (`_edges`), not a track
    broken and restarted (`_reborn`), and then standing mostly outside it (`_parts_from`: not
    a second box on the subject's own head) was inside that box before, unseen: the box held
    two people, and showing it showed both. Where a person walking was before is not known:
    every frame of the walk before it, back to the walk's first (its track changes
    included), is hidden. Something that stood still over its first sightings (`STILL_SHARE`)
    was where it was found: the frames while the subject's box still covers that place.
    Walking back in time, a track that ends on the subject is someone who went into its box:
    the frames after, the same.

    PETS09, an anchor on a walker whose companion walked half in front of her: the two were
    one box from where they came into view, 30 frames, until he came out ahead under a track
    of his own; the box shown as her had been him too, his face with it. (Placing him from how
    the two moved after parting left them apart within 10 frames: parting is a change of pace.)
    """
    first, last = spans  # `_sightings`
    followed = {tid for _, tid in states.values()}
    for step, begins, ends in ((1, first, last), (-1, last, first)):
        for tid in people - followed:
            k = begins.get(tid)
            met = _meets(records, k, step, tid, states) if k is not None and k in states else None
            if met is None:
                continue
            j, box, subject = met
            if (iou_matrix(box[None], subject[None])[0, 0] < CONFUSABLE_IOU
                    or box_areas(box[None])[0] < RIVAL_SHARE * box_areas(subject[None])[0]):
                continue
            if frame is not None and _edges(box, frame) - _edges(subject, frame):
                continue
            if _reborn(records, k, step, tid, box, ends, followed) or not _parts_from(records, j, step, tid, states):
                continue
            path = _Path.of(_history(records, k, step, tid, PATH_FRAMES))
            still = path is not None and float(np.hypot(*path.velocity)) * PATH_FRAMES < STILL_SHARE * (box[2] - box[0])
            i = k - step
            while i in states:
                if still:
                    # Something standing still stays where it was found: once the subject's
                    # box has left that place, it is not in the box.
                    rows = _person_rows(records[i], states[i][1])
                    if not len(rows) or iou_matrix(box[None], records[i].regions.xyxy[rows[:1]])[0, 0] < CONFUSABLE_IOU:
                        break
                if states[i][0] == "shown":
                    states[i] = (SHARED_BOX, states[i][1])
                i -= step


def _span(records: list, tracks: dict) -> dict:
    """First and last frame shown, with the subject's box there (for the review sheet);
    ``tracks`` maps each shown frame to the subject's track id in it."""
    if not tracks:
        return {"first_frame": None, "last_frame": None, "first_box": None, "last_box": None}

    def box(i):
        regions = records[i].regions
        row = int(np.flatnonzero(regions.track_id == tracks[i])[0])
        return [round(float(v), 1) for v in regions.xyxy[row]]

    first, last = min(tracks), max(tracks)
    return {"first_frame": first, "last_frame": last, "first_box": box(first), "last_box": box(last)}


@dataclass
class SubjectPlan:
    """Per-frame subjects to show, and the frames flagged for review, for a whole clip."""

    frames: dict  # index -> FrameSubjects
    review: dict  # index -> reason
    picked: list  # one dict per subject: kind, frames shown, frames uncertain
    shown: list = field(default_factory=list)  # per subject (as ``picked``): frame index -> track id shown


def follow_vehicle(records: list, start: int, track_id: int) -> dict:
    """Frame index -> ``(state, track id)`` along one vehicle from ``start``, as `follow`
    does for a person but simpler and stricter: the vehicle is shown while its track lasts
    and no other vehicle's box is close enough to confuse with it (IoU `CONFUSABLE_IOU`);
    from the first such frame on (in each direction) it stays hidden, "subject crosses
    another vehicle" (an anchor past the crossing re-joins it)."""
    states: dict = {}
    for step in (1, -1):
        i, crossed = start, False
        while 0 <= i < len(records):
            regions = records[i].regions
            rows = np.flatnonzero((regions.track_id == track_id) & (regions.kind == Kind.VEHICLE))
            if not len(rows):
                break
            others = np.flatnonzero((regions.kind == Kind.VEHICLE) & (regions.track_id != track_id))
            if len(others) and iou_matrix(regions.xyxy[others], regions.xyxy[rows[:1]]).max() >= CONFUSABLE_IOU:
                crossed = True
            if i not in states or states[i][0] == "shown":
                states[i] = ("subject crosses another vehicle" if crossed else "shown", track_id)
            i += step
    return states


def _agreed(followed: list) -> dict:
    """One subject followed from each of its anchors (`follow` results), as one: a frame is
    shown where some anchor's walk is certain of it and no other's is certain of someone
    else (then it is hidden: "subject anchors disagree"); elsewhere the first reason given.
    An anchor re-joins the subject where another lost it or could not tell it apart.

    Anchors that disagree on some frame name two people, and nothing tells which one the
    owner meant: then a frame is shown only where every walk reaches it and is certain of the
    same person. (A walk unsure for a frame, after a crossing, let the other anchor's person be
    shown there: an anchor set on a bystander by mistake showed the bystander.) A walk on a
    held track and one on the track that replaced it, for one person, count as a
    disagreement too: hidden, never shown wrongly. A frame one walk found the subject's box
    shared with someone unseen (`SHARED_BOX`) is hidden whatever the others say: another
    walk may not have reached where that person came out.
    """
    frames = sorted(set().union(*followed))
    sure = {i: {f[i][1] for f in followed if i in f and f[i][0] == "shown"} for i in frames}
    conflict = any(len(people) > 1 for people in sure.values())
    states: dict = {}
    for i in frames:
        every = all(i in f and f[i][0] == "shown" for f in followed)
        shared = [f[i] for f in followed if i in f and f[i][0] == SHARED_BOX]
        if shared:
            states[i] = shared[0]  # two people in the box: no other walk shows it
        elif len(sure[i]) == 1 and (every or not conflict):
            states[i] = ("shown", min(sure[i]))
        elif sure[i]:
            states[i] = ("subject anchors disagree", min(sure[i]))
        else:
            states[i] = next(f[i] for f in followed if i in f)
    return states


def own_faces(records: list, shown: dict) -> dict:
    """Frame index -> face track ids that are the subject's own face, for the frames in
    ``shown`` (frame index -> the subject's track id there).

    A face track is the subject's own when every frame it was detected on shows the subject
    and that detection is shown as the subject's face (`redact.pipeline.compose.shown_rows`: in the
    top of its box, in no one else's). Its predictions between and around those detections
    are then the subject's face too (`redact.pipeline.compose.FrameSubjects.faces`). One detection
    anywhere else, or on a frame where the subject's identity was in doubt, and it is not.
    """
    owned: dict = {}
    for i, record in enumerate(records):
        regions = record.regions
        faces = np.flatnonzero((regions.kind == Kind.FACE) & (regions.track_id >= 0)
                               & np.isin(regions.track_id, list(record.observed)))
        if not len(faces):
            continue
        mine = (shown_rows(regions, FrameSubjects(frozenset({shown[i]})), record.observed) if i in shown
                else np.zeros(len(regions), bool))
        for row in faces:
            tid = int(regions.track_id[row])
            owned[tid] = owned.get(tid, True) and bool(mine[row])
    faces_owned = frozenset(tid for tid, yes in owned.items() if yes)
    out: dict = {}
    for i in shown:
        here = faces_owned & {int(t) for t in records[i].regions.track_id}
        if here:
            out[i] = here
    return out


def plan_subjects(records: list, incident: Incident, width: int, height: int) -> SubjectPlan:
    """Pick every subject of ``incident`` and decide, frame by frame, whether it is shown."""
    people: dict = {}
    hide: dict = {}
    plates: dict = {}
    vehicles: dict = {}
    faces: dict = {}
    review: dict = {}
    picked = []
    shown_per_subject = []
    for subject in incident.subjects:
        picks = [pick(records, anchor, incident, width, height) for anchor in subject.every_anchor()]
        kinds = {kind for _, kind, _ in picks}
        if len(kinds) > 1:
            raise IncidentError(f"{subject.describe()}: its anchors hit a person at one time and a plate at "
                                "another; give each anchor on the same person or vehicle")
        if kinds == {Kind.VEHICLE}:
            # A vehicle subject: the vehicle and the plates it carries; its occupants stay hidden.
            states = _agreed([follow_vehicle(records, start, track) for start, _, track in picks])
            shown = {i: tid for i, (state, tid) in states.items() if state == "shown"}
            for i, tid in shown.items():
                vehicles.setdefault(i, set()).add(tid)
                regions = records[i].regions
                riding = (regions.kind == Kind.PLATE) & (regions.vehicle == tid) & (regions.track_id >= 0)
                plates.setdefault(i, set()).update(int(t) for t in regions.track_id[riding])
            for i, (state, _) in states.items():
                if state != "shown":
                    review.setdefault(i, state)
            picked.append({"kind": "vehicle", "frames_shown": len(shown), "frames_uncertain": len(states) - len(shown),
                           **_span(records, shown)})
            shown_per_subject.append(shown)
            continue
        if kinds == {Kind.PLATE}:
            # A vehicle subject: its plate, for as long as the plate's track lasts.
            frames = {i: track for _, _, track in picks for i, r in enumerate(records)
                      if (r.regions.track_id == track).any()}
            for i, track in frames.items():
                plates.setdefault(i, set()).add(track)
            picked.append({"kind": "vehicle", "frames_shown": len(frames), "frames_uncertain": 0,
                           **_span(records, frames)})
            shown_per_subject.append(frames)
            continue
        states = _agreed([follow(records, start, track, (width, height)) for start, _, track in picks])
        shown = {i: tid for i, (state, tid) in states.items() if state == "shown"}
        for i, tid in shown.items():
            people.setdefault(i, set()).add(tid)
            if subject.hide_face:
                hide.setdefault(i, set()).add(tid)
        if not subject.hide_face:
            for i, owned in own_faces(records, shown).items():
                faces.setdefault(i, set()).update(owned)
        for i, (state, _) in states.items():
            if state != "shown":
                review.setdefault(i, state)
        picked.append({"kind": "person", "hide_face": subject.hide_face, "frames_shown": len(shown),
                       "frames_uncertain": len(states) - len(shown), **_span(records, shown)})
        shown_per_subject.append(shown)
    shown_in: dict = {}
    for i in set(people) | set(plates) | set(vehicles):
        shown_in[i] = FrameSubjects(frozenset(people.get(i, ())), frozenset(hide.get(i, ())),
                                  frozenset(plates.get(i, ())), frozenset(vehicles.get(i, ())),
                                  frozenset(faces.get(i, ())))
    return SubjectPlan(shown_in, review, picked, shown_per_subject)
