"""The policy stage: from one frame's tracked regions to what is obscured in it.

Precedence, written once here (highest first):

1. a frame that could not be analysed is obscured whole;
2. privacy zones are obscured over everything, subjects included;
3. everything that belongs to someone else: other people's bodies and faces, other plates;
4. a subject, with its own face (unless ``hide_face``) and, for a vehicle, its own plate;
5. keep zones: outside every keep zone, everything is obscured, the subject included
   (a subject is shown inside keep zones only).

A region is shown only when a rule lets it be shown; everything else found is obscured.
Where a bystander overlaps the subject, the bystander's box is obscured, subject or not.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.geometry import box_areas, iou_matrix, overlap_areas, pad_boxes, pixel_boxes
from ..core.types import BODIES, Kind, Regions
from ..detectors.plates import LINE_ASPECT

#: A face belongs to a person when its centre lies in the top share of the person's box.
FACE_IN_BODY_TOP = 0.5
#: A person row lying (by this share of its area) inside a shown subject's box, smaller than
#: `PART_AREA` of it and under `PART_MAX_PX` tall is a fragment of the subject's own mask,
#: shown with it: a whole person that small is too small to recognise. Faces inside such a
#: part stay hidden unless they are the subject's own (see `shown_rows`).
PART_INSIDE, PART_AREA, PART_MAX_PX = 0.8, 0.1, 48
#: A silhouette (mask part no person box took) overlapping a kept vehicle's box this much
#: (IoU) is that vehicle, taken for a person by the segmentation (it does so with close cars).
VEHICLE_LOOKALIKE_IOU = 0.5
#: A row holding this share of a subject's box, and at least `GROUP_AREA` times its area,
#: joins the subject to its surroundings (see `group_parts`): as a mask part, its shadow or
#: a group; as a box of the person network, a box over the subject and a neighbour.
GROUP_HOLDS, GROUP_AREA = 0.9, 2.0
#: A text row over a subject's detected box, shaped like a block rather than a line of text
#: (width under `redact.detectors.plates.LINE_ASPECT` times its height) and at least this
#: share of the subject's height tall, is the subject's clothes to the text network (see
#: `_carved`).
WORN_TEXT = 0.2
#: A silhouette has no pixel in a person box of its frame (nor in the box's padding,
#: `redact.detectors.persons.PersonPlan.cover_pad`: the person map's pixels there go with the
#: box, which a shown subject's padding does not obscure, so that ring is not carved), except
#: map pixels only partly inside: the map's longest side is at most `PERSON_MAP_SIDE`
#: (`PersonPlan.mask_side`), so a map pixel spans ``ceil(longest frame side /
#: PERSON_MAP_SIDE)`` frame pixels at most. The subject's box, shrunk by that, is carved out
#: of its frame's silhouettes (`_carved`). ``SILHOUETTE_CLEAR_PAD`` is ``cover_pad``.
SILHOUETTE_CLEAR_PAD, PERSON_MAP_SIDE = 0.1, 1024


@dataclass(frozen=True)
class FrameSubjects:
    """The subjects shown in one frame, by track id (see `redact.pipeline.subjects`)."""

    people: frozenset = frozenset()
    hide_face: frozenset = frozenset()  # of ``people``, those whose face stays obscured
    plates: frozenset = frozenset()  # plate tracks of vehicle subjects
    vehicles: frozenset = frozenset()  # vehicle tracks kept (shown when vehicles are obscured)
    # Face tracks that are a shown subject's own face (`redact.pipeline.subjects.own_faces`): their
    # predictions (held, or drawn back before the face was found) over its box are shown.
    faces: frozenset = frozenset()

    def __bool__(self) -> bool:
        return bool(self.people or self.plates or self.vehicles)


def _centres_in(centres: np.ndarray, boxes: np.ndarray, top_share: float = 1.0) -> np.ndarray:
    """(F, B) whether each centre lies in each box's top ``top_share``."""
    if not len(centres) or not len(boxes):
        return np.zeros((len(centres), len(boxes)), bool)
    x, y = centres[:, :1], centres[:, 1:]
    x0, y0, x1, y1 = (boxes[:, i][None, :] for i in range(4))
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y0 + top_share * (y1 - y0))


def _parts_of(boxes: np.ndarray, subjects: np.ndarray) -> np.ndarray:
    """Rows of ``boxes`` that are small parts inside some subject box (see `PART_AREA`)."""
    parts = np.zeros(len(boxes), bool)
    area = box_areas(boxes)
    for s in subjects:
        inside = overlap_areas(boxes, s)
        s_area = (s[2] - s[0]) * (s[3] - s[1])
        parts |= ((inside >= PART_INSIDE * np.maximum(area, 1e-6)) & (area < PART_AREA * s_area)
                  & (boxes[:, 3] - boxes[:, 1] < PART_MAX_PX))
    return parts


def shown_rows(regions: Regions, subjects: FrameSubjects | None, observed=None) -> np.ndarray:
    """Boolean per row of ``regions``: True where a subject rule lets the region be shown.

    A face in the top of a subject's box is the subject's unless it also lies in another
    person's box; parts joining the subject to its surroundings (`group_parts`) and, when
    ``observed`` is given, predictions of people not detected in this frame do not count
    as another person there.
    """
    shown = np.zeros(len(regions), bool)
    if not subjects:
        return shown
    kind, ids = regions.kind, regions.track_id
    # Silhouettes (mask parts no person box took) count as people here: a part of the
    # subject's own is shown with it, one elsewhere is someone else for the faces.
    people = np.isin(kind, BODIES)
    subject_body = people & np.isin(ids, list(subjects.people))
    parts = people & ~subject_body & _parts_of(regions.xyxy, regions.xyxy[subject_body])
    # For faces, a part counts as someone else: a face is shown only as the subject's own.
    others = people & ~subject_body & ~group_parts(regions.xyxy, regions.xyxy[subject_body])
    if observed is not None:
        # A held silhouette is another frame's mask (see `_carved`): inside the subject's box it
        # is no one else's. A held person box there may be a small person lost for a frame.
        others &= np.isin(ids, list(observed)) | (parts & (kind != Kind.SILHOUETTE))
    shown |= subject_body | parts
    faces = np.flatnonzero(kind == Kind.FACE)
    if len(faces) and subject_body.any():
        centres = 0.5 * (regions.xyxy[faces, :2] + regions.xyxy[faces, 2:])
        face_shown = subject_body & ~np.isin(ids, list(subjects.hide_face))
        in_subject = _centres_in(centres, regions.xyxy[face_shown], FACE_IN_BODY_TOP).any(axis=1)
        # A silhouette found on this frame is the person map's pixels outside every person box
        # of the frame (`redact.detectors.persons`): none lies in the subject's detected box,
        # so a face there is not the silhouette's person's. Its bounding rectangle (a group in
        # the background, a shadow) often reaches over the subject's head: on PETS09 one hid
        # the subject's head on 6 of its frames. A subject row that is only predicted is no
        # detected box of this frame: there the silhouette still counts.
        found_now = np.isin(ids, list(observed if observed is not None else ()))
        fresh = (kind == Kind.SILHOUETTE) & found_now
        detected = face_shown & found_now
        in_detected = _centres_in(centres, regions.xyxy[detected], FACE_IN_BODY_TOP).any(axis=1)
        in_other = (_centres_in(centres, regions.xyxy[others & ~fresh]).any(axis=1)
                    | (_centres_in(centres, regions.xyxy[others & fresh]).any(axis=1) & ~in_detected))
        # Inside a bystander's box as well, a face may be the bystander's: it stays hidden.
        shown[faces] = in_subject & ~in_other
    if subjects.faces and subject_body.any() and observed is not None:
        # A prediction of the subject's own face track (detected only ever as its face), where
        # it still touches the subject's box: the face detector lost the face for a frame or
        # two, and its drifting box buried the head it had found (PETS09: just above the box).
        predicted = (kind == Kind.FACE) & np.isin(ids, list(subjects.faces)) & ~np.isin(ids, list(observed))
        face_owners = subject_body & ~np.isin(ids, list(subjects.hide_face))
        shown |= predicted & _overlaps(regions.xyxy, regions.xyxy[face_owners])
    shown |= (kind == Kind.PLATE) & np.isin(ids, list(subjects.plates)) & (ids >= 0)
    kept_vehicles = (kind == Kind.VEHICLE) & np.isin(ids, list(subjects.vehicles)) & (ids >= 0)
    shown |= kept_vehicles
    silhouettes = np.flatnonzero(kind == Kind.SILHOUETTE)
    if kept_vehicles.any() and len(silhouettes):
        # The person mask takes a close car for a person: a silhouette that is the kept
        # vehicle's own box is the vehicle. An occupant's silhouette is far smaller: hidden.
        like = iou_matrix(regions.xyxy[silhouettes], regions.xyxy[kept_vehicles]).max(axis=1) >= VEHICLE_LOOKALIKE_IOU
        shown[silhouettes[like]] = True
    return shown


def obscured(regions: Regions, kinds) -> np.ndarray:
    """Which rows a policy asking for ``kinds`` obscures: every row but the vehicles, unless
    vehicles are asked for. Vehicles are found for the plates (where plates are, and what
    carries them between detections) and are obscured whole only with `Kind.VEHICLE`.

    >>> r = Regions.from_boxes([[0, 0, 9, 9]] * 2, kind=np.array([Kind.PLATE, Kind.VEHICLE]))
    >>> obscured(r, {Kind.PLATE}).tolist(), obscured(r, {Kind.PLATE, Kind.VEHICLE}).tolist()
    ([True, False], [True, True])
    """
    if Kind.VEHICLE in kinds:
        return np.ones(len(regions), bool)
    return regions.kind != Kind.VEHICLE


def keep_zone_mask(polygons, width: int, height: int) -> np.ndarray | None:
    """(H, W) bool, True outside every keep zone (to obscure); None without keep zones."""
    if not polygons:
        return None
    import cv2

    inside = np.zeros((height, width), np.uint8)
    for polygon in polygons:
        # Corners rounded outward would grow the zone; rounding to nearest keeps it honest,
        # and the obscured side wins on the boundary pixels that fillPoly leaves out.
        cv2.fillPoly(inside, [np.round(polygon).astype(np.int32)], 1)
    return inside == 0


def _carved(regions: Regions, hidden: np.ndarray, subject_boxes: np.ndarray, detected_boxes: np.ndarray,
            observed, width: int, height: int, padding: float) -> tuple[np.ndarray, np.ndarray | None]:
    """Rows over a shown subject that give way inside its box, and the mask that obscures
    them there instead (their padded boxes with the subject's box cut out).

    Three kinds of rows:

    - held predictions of bodies: a track the detectors lost is obscured at its predicted,
      growing box; left as it is, a lost fragment's box soon buries the subject it passed.
      Likewise a mask part holding the subject and its surroundings. A lost box of the
      person network gives way only as a fragment (under a quarter of the subject's area):
      a larger one may hold a neighbour, now inside the subject's box.
    - silhouettes over a subject's box detected on this frame: a silhouette is the person
      map's pixels outside every person box of its frame (padded), so a silhouette of this
      frame has no pixel in the subject's box; its bounding box (around a group, a shadow,
      the subject's arm) covers the subject only as a rectangle. A silhouette held or drawn
      back from another frame is that frame's mask: this frame's mask gives the subject's
      box to the subject. Cut out of them is that box, shrunk by a map pixel
      (`PERSON_MAP_SIDE`). Mask pixels in the padding around the box, which a silhouette
      leaves to the box, stay under the silhouette's rectangle: they may be a bystander's.
    - text blocks over a subject's detected box (`WORN_TEXT`): on PETS09 the text network
      fires on walkers' jackets as solid blocks (87x90 to 172x150 px over one or two people,
      read by the recogniser at 0.99), which hid the kept subject on 33 of its frames. Cut out
      of them is the subject's detected box, as for silhouettes; a line of text there (a
      sign behind the subject, a banner) and a small block (a badge, a house number) stay.

    Every other detected person still covers it (a bystander overlapping the subject wins).
    """
    # People only: a lost face or plate is a face or plate, wherever it is predicted.
    ghosts = hidden & np.isin(regions.kind, BODIES) & ~np.isin(regions.track_id, list(observed))
    ghosts &= regions.track_id >= 0
    ghosts &= _overlaps(regions.xyxy, subject_boxes)
    # A lost track of about the subject's size is likely a person missed for a frame beside
    # it: that one stays obscured. So does any lost box of the person network but a fragment:
    # a larger one is a box over the subject and a neighbour, who may now be inside the
    # subject's own box (PETS09 frame 169: a third of a bystander shown). Lost fragments and
    # lost mask parts around a group give way.
    ghosts &= ~_person_sized(regions.xyxy, subject_boxes)
    ghosts &= ~((regions.kind == Kind.PERSON) & _person_sized(regions.xyxy, subject_boxes, largest=math.inf))
    # (Observed group parts are not carved: one may hold a bystander beside the subject.)
    # Silhouettes and worn text still cover everything outside the subject's box.
    edge = math.ceil(max(width, height) / PERSON_MAP_SIDE)
    inner = np.asarray(detected_boxes, np.float64).reshape(-1, 4) + [edge, edge, -edge, -edge]
    inner = inner[(inner[:, 2] > inner[:, 0]) & (inner[:, 3] > inner[:, 1])]
    on_detected = hidden & (regions.kind == Kind.SILHOUETTE) & _overlaps(regions.xyxy, inner)
    on_detected |= hidden & (regions.kind == Kind.TEXT) & _worn(regions.xyxy, inner)
    carved = ghosts | on_detected
    if not carved.any():
        return carved, None
    mask = np.zeros((height, width), bool)
    # A row of both kinds gives way wherever either rule lets it.
    for rows, holes in ((ghosts & ~on_detected, subject_boxes), (on_detected & ~ghosts, inner),
                        (ghosts & on_detected, np.concatenate([subject_boxes, inner]))):
        if not rows.any():
            continue
        part = np.zeros((height, width), bool)
        for x0, y0, x1, y1 in pixel_boxes(pad_boxes(regions.xyxy[rows], padding), width, height):
            part[y0:y1, x0:x1] = True
        # Only whole pixels inside a hole are shown: rounded inward.
        for x0, y0, x1, y1 in holes:
            part[max(0, math.ceil(y0)):max(0, math.floor(y1)), max(0, math.ceil(x0)):max(0, math.floor(x1))] = False
        mask |= part
    return carved, mask


def group_parts(boxes: np.ndarray, subject_boxes: np.ndarray) -> np.ndarray:
    """Rows that hold a subject's whole box and are much larger (`GROUP_HOLDS`, `GROUP_AREA`):
    not a rival for its identity (a mask part joining the subject to its shadow or a group,
    or a box over the subject and a neighbour); in `shown_rows`, no one else's for a face in
    the subject's head. Such a row is still obscured outside the subject's box."""
    out = np.zeros(len(boxes), bool)
    area = box_areas(boxes)
    for s in subject_boxes:
        s_area = max((s[2] - s[0]) * (s[3] - s[1]), 1e-6)
        out |= (overlap_areas(boxes, s) >= GROUP_HOLDS * s_area) & (area >= GROUP_AREA * s_area)
    return out


def _person_sized(boxes: np.ndarray, subject_boxes: np.ndarray, largest: float = GROUP_AREA) -> np.ndarray:
    """Rows of ``boxes`` from a quarter of a subject box's area to under ``largest`` times it."""
    area = box_areas(boxes)
    out = np.zeros(len(boxes), bool)
    for s in subject_boxes:
        s_area = max((s[2] - s[0]) * (s[3] - s[1]), 1e-6)
        out |= (area >= PART_AREA * 2.5 * s_area) & (area < largest * s_area)
    return out


def _worn(boxes: np.ndarray, subject_boxes: np.ndarray) -> np.ndarray:
    """Rows of ``boxes`` over a subject box, shaped like a block and tall against it (`WORN_TEXT`).

    >>> subject = np.array([[100, 100, 140, 220]], np.float64)
    >>> _worn(np.array([[105, 120, 185, 200],      # a block over the subject and beyond
    ...                 [110, 140, 125, 150],      # a badge: small against the subject
    ...                 [60, 120, 190, 140],       # a line: a banner behind
    ...                 [300, 120, 380, 200]],     # a block elsewhere
    ...                np.float64), subject).tolist()
    [True, False, False, False]
    """
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    out = np.zeros(len(boxes), bool)
    for s in subject_boxes:
        over = overlap_areas(boxes, s) > 0
        out |= over & (w < LINE_ASPECT * h) & (h >= WORN_TEXT * (s[3] - s[1]))
    return out


def _overlaps(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    out = np.zeros(len(boxes), bool)
    for o in others:
        out |= overlap_areas(boxes, o) > 0
    return out


def compose(regions: Regions, width: int, height: int, *, zones=(), subjects: FrameSubjects | None = None,
            keep_zones=(), faulted: bool = False, observed=None,
            padding: float = 0.1) -> tuple[Regions, np.ndarray | None]:
    """What to obscure in one frame.

    Parameters
    ----------
    regions : Regions
        The frame's tracked detections (track + hold stage).
    width, height : int
        Frame size, for zones and the whole-frame box.
    zones : iterable of `redact.core.zones.Zone`
        Privacy zones: always obscured.
    subjects : FrameSubjects, optional
        Subjects shown in this frame; None or empty shows nothing.
    keep_zones : sequence of (K, 2) arrays
        Polygons in pixels; outside all of them everything is obscured.
    faulted : bool
        The frame could not be analysed: obscure all of it.
    observed : set of int, optional
        Track ids detected in this frame. With subjects shown, held predictions of other
        tracks and this frame's silhouettes give way inside a subject's box (see `_carved`);
        without it they do not.
    padding : float
        Padding of the style, for those carved predictions.

    Returns
    -------
    (Regions, mask or None)
        Regions to obscure, and an (H, W) mask of pixels to obscure besides them.
    """
    shown = shown_rows(regions, subjects, observed)
    hidden = ~shown
    mask = keep_zone_mask(keep_zones, width, height)
    if subjects and subjects.people and observed is not None:
        body = shown & (regions.kind == Kind.PERSON) & np.isin(regions.track_id, list(subjects.people))
        detected = body & np.isin(regions.track_id, list(observed)) & (regions.score > 0)
        carved, ghost_mask = _carved(regions, hidden, regions.xyxy[body], regions.xyxy[detected], observed, width,
                                     height, padding)
        if ghost_mask is not None:
            hidden &= ~carved
            mask = ghost_mask if mask is None else mask | ghost_mask
    parts = [regions.select(hidden)]
    # Clipped to the frame first: a zone far wider than the frame would otherwise be padded
    # (by a share of its own size) past float32's range.
    boxes = np.clip(np.array([z.box(width, height) for z in zones], np.float64).reshape(-1, 4),
                    0, [width, height, width, height])
    parts.append(Regions.from_boxes(boxes.astype(np.float32), kind=Kind.OTHER))
    if faulted:
        parts.append(Regions.from_boxes([[0, 0, width, height]], kind=Kind.OTHER))
    return Regions.concat(parts), mask
