"""Subjects: pick the person or vehicle an incident keeps, and follow it through the clip.

A subject is picked at one time ``t`` (a point, a box, or the number `redact pick` drew),
then followed along its track forwards and backwards. Identity fails closed: where the
subject's box crosses another person's, the subject is obscured too, and it is shown
again only when its appearance matches what it looked like at ``t`` (a bystander is never
shown because the tracker swapped two people). Those frames are flagged for review.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .compose import FrameSubjects, group_parts
from .geometry import iou_matrix, overlap_areas, pad_boxes
from .incident import Incident, IncidentError, Subject
from .types import Kind, Regions

#: Boxes cross when their overlap is this share of the smaller one.
CROSSING_SHARE = 0.15
#: Bhattacharyya distance between colour histograms under which two views are the same person.
SAME_LOOK = 0.35
#: Detections missed in a row after which a re-found track must prove its identity again.
LOST_FRAMES = 3
#: Another person can only take the subject's track if its box is at least this share of
#: the subject's (the tracker weighs size likeness; smaller rows are the subject's own parts).
RIVAL_SHARE = 0.25
#: Views of the subject compared with besides the one at t: the latest ones taken while its
#: identity was certain and nobody stood within `ALONE_MARGIN` box sides of it (then no
#: swap can have happened). A person's look drifts as it turns and walks: on PETS09 with
#: true boxes, one person's torso colours 1 frame apart match 95% of the time, 60 frames
#: apart 23%; two people in one frame 1%.
VIEWS, ALONE_MARGIN = 7, 0.25
#: A lost subject may be carried on by a new track found within this many frames, its centre
#: within this many box sides (per frame of the gap) of where the subject was last seen.
REFIND_FRAMES, REFIND_REACH = 10, 0.5
#: Least IoU between a subject's box (given, or drawn by `redact pick` for its number) and
#: the person or plate kept. A number demands more: its box came from a detector, so the
#: same person found by this run's detectors overlaps it closely.
BOX_IOU, NUMBER_IOU = 0.3, 0.5
#: Two rows of one kind overlapping this much are one object to number (`numbered`).
SAME_OBJECT_IOU = 0.7


@dataclass
class FrameRecord:
    """What the analysis pass keeps of one frame (no pixels)."""

    regions: Regions
    time: float
    flagged: str | None = None
    observed: frozenset = frozenset()  # track ids detected (not predicted) in this frame
    looks: dict = field(default_factory=dict)  # person track id -> colour histogram


def appearance(rgb: np.ndarray, box) -> np.ndarray | None:
    """A colour histogram of a person's torso (the middle of the box), or None if too small."""
    import cv2

    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    # Torso: clothes carry the colour; head and feet change with pose and background.
    cx0, cx1 = int(max(0, x0 + 0.2 * bw)), int(min(w, x1 - 0.2 * bw))
    cy0, cy1 = int(max(0, y0 + 0.2 * bh)), int(min(h, y0 + 0.7 * bh))
    if cx1 - cx0 < 4 or cy1 - cy0 < 4:
        return None
    hsv = cv2.cvtColor(np.ascontiguousarray(rgb[cy0:cy1, cx0:cx1]), cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [12, 4], [0, 180, 0, 256])
    return (hist / max(float(np.linalg.norm(hist)), 1e-12)).flatten()  # L2-normalised, as cv2.normalize


def _distance(a, b) -> float:
    import cv2

    return float(cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA))


def numbered(regions: Regions, observed=None) -> list:
    """People, then plates, each left to right: the order `redact pick` numbers them in.

    A row that repeats one already numbered (same kind, IoU >= `SAME_OBJECT_IOU`: two views
    of one plate) gets no number of its own: one number per object.
    """
    rows: list = []
    for kind in (Kind.PERSON, Kind.PLATE):
        idx = [int(i) for i in np.flatnonzero(regions.kind == kind)]
        if observed is not None:
            idx = [i for i in idx if int(regions.track_id[i]) in observed]
        # Higher scores first among repeats, then left to right.
        kept: list = []
        for i in sorted(idx, key=lambda i: -float(regions.score[i])):
            if not kept or iou_matrix(regions.xyxy[[i]], regions.xyxy[kept]).max() < SAME_OBJECT_IOU:
                kept.append(i)
        rows += sorted(kept, key=lambda i: (float(regions.xyxy[i, 0]), float(regions.xyxy[i, 1])))
    return [int(i) for i in rows]


def numbered_boxes(rgb: np.ndarray, profile, models_dir=None) -> list:
    """``(kind, (x0, y0, x1, y1))`` per person and plate, in the order `redact pick` numbers
    them, as `redact pick --profile profile` finds them on one frame (no tracking)."""
    from .detectors import build_detectors, detect_all

    detectors = build_detectors({Kind.PERSON, Kind.PLATE}, profile, models_dir)
    regions = detect_all(detectors, rgb)
    return [(Kind(int(regions.kind[row])), tuple(float(v) for v in regions.xyxy[row])) for row in numbered(regions)]


def resolve_numbers(incident: Incident, frames: dict, models_dir=None) -> Incident:
    """``incident`` with each numbered subject's ``drawn`` box set to what `redact pick`
    drew for its number; ``frames`` maps each such subject to its frame's RGB pixels (the
    frame nearest its ``t``). A number pick did not draw is refused."""
    import dataclasses

    subjects = []
    for subject in incident.subjects:
        if subject.number is not None and subject.drawn is None:
            listed = numbered_boxes(frames[subject], subject.numbered_by, models_dir)
            if subject.number > len(listed):
                raise IncidentError(f"{subject.describe()}: `redact pick --profile {subject.numbered_by.value}` "
                                    f"numbers only {len(listed)} people and plates there; run it again and use "
                                    "the number it prints")
            subject = dataclasses.replace(subject, drawn=listed[subject.number - 1][1])
        subjects.append(subject)
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
    order = numbered(regions, record.observed)
    if subject.number is not None:
        # Never an index into this run's own list: another profile (or the tracker's held
        # boxes) numbers other people, and the number would keep a bystander.
        if subject.drawn is None:
            raise IncidentError(f"{subject.describe()}: not resolved to the box `redact pick` drew "
                                "(redact.subjects.resolve_numbers)")
        target: tuple | None = subject.drawn
    else:
        target = subject.target_px(incident.units, width, height)
    if target is None:  # Subject guarantees a point, a box or a number
        raise IncidentError(f"{subject.describe()}: give a point, a box or a number")
    x0, y0, x1, y1 = target
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    best, best_score = None, 0.0
    for row in order:
        bx0, by0, bx1, by1 = regions.xyxy[row]
        if subject.point is not None:
            hit = bx0 <= cx <= bx1 and by0 <= cy <= by1
            # The smallest box under the point: the person in front, not the crowd around.
            score = 1.0 / (1.0 + (bx1 - bx0) * (by1 - by0)) if hit else 0.0
        else:
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


def _crossing(regions: Regions, row: int, observed) -> set:
    """Track ids of the detected people overlapping the subject's box enough to swap with it
    (empty: no crossing).

    Held predictions (not detected this frame), parts much smaller than the subject (mask
    fragments of its own body) and parts much larger that hold all of it (the subject
    joined to its shadow or a group) cannot take its track: the tracker matches by size
    too, and the subject's look is checked on every frame anyway.
    """
    box = regions.xyxy[row]
    area = max(1e-6, (box[2] - box[0]) * (box[3] - box[1]))
    groups = group_parts(regions.xyxy, box[None, :])
    partners = set()
    for other in np.flatnonzero(regions.kind == Kind.PERSON):
        tid = int(regions.track_id[other])
        if other == row or tid == regions.track_id[row] or tid not in observed or groups[other]:
            continue
        o = regions.xyxy[other]
        o_area = max(1e-6, (o[2] - o[0]) * (o[3] - o[1]))
        if o_area < RIVAL_SHARE * area:
            continue
        if float(overlap_areas(o[None, :], box)[0]) / min(area, o_area) >= CROSSING_SHARE:
            partners.add(tid)
    return partners


def _apart(regions: Regions, row: int, partners: set, observed) -> bool:
    """Whether every person the subject crossed is detected in this frame clear of its box:
    a crossing is resolved by who comes out where. A partner not seen (the detector found
    the two as one box, or lost it) leaves the crossing unresolved, whatever the looks say."""
    grown = pad_boxes(regions.xyxy[row:row + 1], ALONE_MARGIN)[0]
    for tid in partners:
        rows = np.flatnonzero((regions.track_id == tid) & (regions.kind == Kind.PERSON))
        if tid not in observed or not len(rows) or overlap_areas(regions.xyxy[rows[:1]], grown)[0] > 0:
            return False
    return True


def _alone(regions: Regions, row: int) -> bool:
    """Whether no other person row (detected or held) lies within `ALONE_MARGIN` of ``row``."""
    grown = pad_boxes(regions.xyxy[row:row + 1], ALONE_MARGIN)[0]
    others = (regions.kind == Kind.PERSON) & (regions.track_id != regions.track_id[row])
    return not (overlap_areas(regions.xyxy[others], grown) > 0).any()


def _looks_like(reference, views, look) -> bool:
    """Whether ``look`` matches the subject's look at t or one of its trusted later views."""
    return reference is not None and any(_distance(v, look) < SAME_LOOK for v in (reference, *views))


def _successor(records: list, i: int, step: int, last_box: np.ndarray, reference, views,
               companions: set) -> tuple | None:
    """``(frame, track id)`` of the one new person track that carries on a lost subject.

    Trackers break a track when a person is missed for a while; the person comes back under
    a new id. Within `REFIND_FRAMES` of the loss, near where it was last seen, a detected
    person of about its size whose look matches the subject's (`_looks_like`) carries it on, when
    exactly one does (two that look alike: nobody is shown). Tracks detected beside the
    subject (``companions``) are other people, never the subject.
    """
    if reference is None:
        return None
    x0, y0, x1, y1 = last_box
    area = max(1e-6, (x1 - x0) * (y1 - y0))
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    for gap in range(REFIND_FRAMES):
        j = i + step * gap
        if not 0 <= j < len(records):
            return None
        record = records[j]
        regions = record.regions
        found = set()
        for row in np.flatnonzero(regions.kind == Kind.PERSON):
            tid = int(regions.track_id[row])
            look = record.looks.get(tid)
            if tid in companions or tid not in record.observed or look is None:
                continue
            b = regions.xyxy[row]
            b_area = (b[2] - b[0]) * (b[3] - b[1])
            near = np.hypot(*(0.5 * (b[:2] + b[2:]) - centre)) <= REFIND_REACH * (1 + gap) * max(y1 - y0, x1 - x0)
            if near and RIVAL_SHARE <= b_area / area <= 1 / RIVAL_SHARE and _looks_like(reference, views, look):
                found.add(tid)
        if len(found) == 1:
            return j, found.pop()
        if found:
            return None  # ambiguous: never guess who the subject is
    return None


def follow(records: list, start: int, track_id: int) -> dict:
    """Frame index -> ``(state, track id)`` along one person from ``start``; ``state`` is
    "shown" or the reason it is not.

    Walks forwards and backwards from ``start``. The subject is shown while its identity is
    certain; a crossing, or a long loss, makes it uncertain until its look matches the one
    at ``start`` (or a view trusted since, see `VIEWS`) again. Where its track ends, a new
    track may carry it on (`_successor`); the frames between are "subject lost". Frames
    where it is nowhere are not in the result.
    """
    reference = records[start].looks.get(track_id)
    states: dict = {}
    for step in (1, -1):
        certain, missed = True, 0
        i, current = start, track_id
        companions: set = set()
        last_box = None
        views: deque = deque(maxlen=VIEWS)
        partners: set = set()  # people it crossed and has not been seen apart from since
        while 0 <= i < len(records):
            regions = records[i].regions
            person = regions.kind == Kind.PERSON
            rows = np.flatnonzero((regions.track_id == current) & person)
            if not len(rows):
                # The track ended: a new track carries the subject on only if it is unmistakably it.
                carried: tuple | None = None
                if last_box is not None:
                    carried = _successor(records, i, step, last_box, reference, views, companions)
                if carried is None:
                    break
                j, current = carried
                for k in range(i, j, step):
                    states.setdefault(k, ("subject lost", current))
                i, certain, missed = j, False, 0
                continue
            row = int(rows[0])
            last_box = regions.xyxy[row].copy()
            # Detected beside it, not merely held: a track's hold reaches back before it was found.
            companions |= {int(t) for t in regions.track_id[person & (regions.track_id != current)]
                           if int(t) in records[i].observed}
            observed = current in records[i].observed
            missed = 0 if observed else missed + 1
            look = records[i].looks.get(current) if observed else None
            looks_same = look is not None and _looks_like(reference, views, look)
            crossed = _crossing(regions, row, records[i].observed)
            if crossed:
                partners |= crossed
                certain, reason = False, "subject crosses another person"
            elif look is not None and reference is not None and not looks_same:
                # Checked on every frame: a swap with someone the detector missed shows here.
                certain, reason = False, "subject does not look like itself"
            elif missed >= LOST_FRAMES:
                certain, reason = False, "subject lost"
            elif not certain:
                if looks_same and _apart(regions, row, partners, records[i].observed):
                    certain, partners = True, set()
                else:
                    reason = "subject identity not re-established"
            if certain and looks_same and _alone(regions, row):
                views.append(look)
            if i not in states or states[i][0] == "shown":
                states[i] = ("shown" if certain else reason, current)
            i += step
    return states


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


def plan_subjects(records: list, incident: Incident, width: int, height: int) -> SubjectPlan:
    """Pick every subject of ``incident`` and decide, frame by frame, whether it is shown."""
    people: dict = {}
    hide: dict = {}
    plates: dict = {}
    review: dict = {}
    picked = []
    shown_per_subject = []
    for subject in incident.subjects:
        start, kind, track = pick(records, subject, incident, width, height)
        if kind == Kind.PLATE:
            # A vehicle subject: its plate, for as long as the plate's track lasts.
            frames = [i for i, r in enumerate(records) if (r.regions.track_id == track).any()]
            for i in frames:
                plates.setdefault(i, set()).add(track)
            picked.append({"kind": "vehicle", "frames_shown": len(frames), "frames_uncertain": 0,
                           **_span(records, dict.fromkeys(frames, track))})
            shown_per_subject.append(dict.fromkeys(frames, track))
            continue
        states = follow(records, start, track)
        shown = {i: tid for i, (state, tid) in states.items() if state == "shown"}
        for i, tid in shown.items():
            people.setdefault(i, set()).add(tid)
            if subject.hide_face:
                hide.setdefault(i, set()).add(tid)
        for i, (state, _) in states.items():
            if state != "shown":
                review.setdefault(i, state)
        picked.append({"kind": "person", "hide_face": subject.hide_face, "frames_shown": len(shown),
                       "frames_uncertain": len(states) - len(shown), **_span(records, shown)})
        shown_per_subject.append(shown)
    shown_in: dict = {}
    for i in set(people) | set(plates):
        shown_in[i] = FrameSubjects(frozenset(people.get(i, ())), frozenset(hide.get(i, ())),
                                  frozenset(plates.get(i, ())))
    return SubjectPlan(shown_in, review, picked, shown_per_subject)
