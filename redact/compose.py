"""The policy stage: from one frame's tracked regions to what is obscured in it.

Precedence, written once here (highest first):

1. a frame that could not be analysed is obscured whole;
2. privacy zones are obscured over everything, subjects included;
3. everything that belongs to someone else: other people's bodies and faces, other plates;
4. a subject, with its own face (unless ``hide_face``) and, for a vehicle, its own plate;
5. keep zones: outside every keep zone, everything is obscured.

A region is shown only when a rule lets it be shown; everything else found is obscured.
Where a bystander overlaps the subject, the bystander's box is obscured, subject or not.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .types import Kind, Regions

#: A face belongs to a person when its centre lies in the top share of the person's box.
FACE_IN_BODY_TOP = 0.5


@dataclass(frozen=True)
class FrameSubjects:
    """The subjects shown in one frame, by track id (see `redact.subjects`)."""

    people: frozenset = frozenset()
    hide_face: frozenset = frozenset()  # of ``people``, those whose face stays obscured
    plates: frozenset = frozenset()  # plate tracks of vehicle subjects

    def __bool__(self) -> bool:
        return bool(self.people or self.plates)


def _centres_in(centres: np.ndarray, boxes: np.ndarray, top_share: float = 1.0) -> np.ndarray:
    """(F, B) whether each centre lies in each box's top ``top_share``."""
    if not len(centres) or not len(boxes):
        return np.zeros((len(centres), len(boxes)), bool)
    x, y = centres[:, :1], centres[:, 1:]
    x0, y0, x1, y1 = (boxes[:, i][None, :] for i in range(4))
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y0 + top_share * (y1 - y0))


def shown_rows(regions: Regions, subjects: FrameSubjects | None) -> np.ndarray:
    """Boolean per row of ``regions``: True where a subject rule lets the region be shown."""
    shown = np.zeros(len(regions), bool)
    if not subjects:
        return shown
    kind, ids = regions.kind, regions.track_id
    people = kind == Kind.PERSON
    subject_body = people & np.isin(ids, list(subjects.people))
    others = people & ~subject_body
    shown |= subject_body
    faces = np.flatnonzero(kind == Kind.FACE)
    if len(faces) and subject_body.any():
        centres = 0.5 * (regions.xyxy[faces, :2] + regions.xyxy[faces, 2:])
        face_shown = subject_body & ~np.isin(ids, list(subjects.hide_face))
        in_subject = _centres_in(centres, regions.xyxy[face_shown], FACE_IN_BODY_TOP).any(axis=1)
        in_other = _centres_in(centres, regions.xyxy[others]).any(axis=1)
        # Inside a bystander's box as well, a face may be the bystander's: it stays hidden.
        shown[faces] = in_subject & ~in_other
    shown |= (kind == Kind.PLATE) & np.isin(ids, list(subjects.plates)) & (ids >= 0)
    return shown


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


def compose(regions: Regions, width: int, height: int, *, zones=(), subjects: FrameSubjects | None = None,
            keep_zones=(), faulted: bool = False) -> tuple[Regions, np.ndarray | None]:
    """What to obscure in one frame.

    Parameters
    ----------
    regions : Regions
        The frame's tracked detections (track + hold stage).
    width, height : int
        Frame size, for zones and the whole-frame box.
    zones : iterable of `redact.policy.Zone`
        Privacy zones: always obscured.
    subjects : FrameSubjects, optional
        Subjects shown in this frame; None or empty shows nothing.
    keep_zones : sequence of (K, 2) arrays
        Polygons in pixels; outside all of them everything is obscured.
    faulted : bool
        The frame could not be analysed: obscure all of it.

    Returns
    -------
    (Regions, mask or None)
        Regions to obscure, and an (H, W) mask of pixels to obscure besides them.
    """
    parts = [regions.select(~shown_rows(regions, subjects))]
    # Clipped to the frame first: a zone far wider than the frame would otherwise be padded
    # (by a share of its own size) past float32's range.
    boxes = np.clip(np.array([z.box(width, height) for z in zones], np.float64).reshape(-1, 4),
                    0, [width, height, width, height])
    parts.append(Regions.from_boxes(boxes.astype(np.float32), kind=Kind.OTHER))
    if faulted:
        parts.append(Regions.from_boxes([[0, 0, width, height]], kind=Kind.OTHER))
    return Regions.concat(parts), keep_zone_mask(keep_zones, width, height)
