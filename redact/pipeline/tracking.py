"""Additive tracking: every detection comes out, plus held predictions of objects lost.

Two stages, both fail-closed (they only ever add regions):

- `Tracker` follows objects forward in time. A detection is always output with its exact
  box; an object the detector loses stays covered at its predicted, growing box for
  ``hold_frames`` frames.
- `TwoSidedHold` delays output by a few frames so that an object's first box can also be
  drawn on the frames *before* its first detection, when it was entering the view but not
  yet detectable.

Examples
--------
>>> from redact.core.types import Kind, Regions
>>> tracker = Tracker(hold_frames=2)
>>> face = Regions.from_boxes([[10, 10, 30, 30]], kind=Kind.FACE)
>>> tracker.update(face).track_id.tolist()
[0]
>>> [len(tracker.update(Regions.empty())) for _ in range(3)]
[1, 1, 0]
"""
from __future__ import annotations

import math
from collections import deque
from numbers import Integral, Real

import numpy as np

from ..core.geometry import box_areas, centres_inside, contained, intersection_matrix, iou_matrix, pad_boxes
from ..core.types import BODIES, Kind, Regions

#: Boxes whose sides are all shorter than this (pixels) may also match by centre distance:
#: for them a few pixels of motion erase all overlap.
SMALL_BOX_PX = 32.0
#: Weight of the newest velocity measurement in a track's running velocity estimate.
VELOCITY_SMOOTHING = 0.5
#: A person detection smaller than this share of its track's box (by area) is a part of the
#: person (legs, one side, seen in a tile or past an occluder): it continues the track
#: without moving its box or speed. On PETS09 such parts derailed tracks onto the next
#: whole box nearby.
PART_SHARE = 0.6
#: A detection continues a lost track (`Tracker._found_again`) when their areas are within
#: this factor of each other.
FOUND_AGAIN_SIZE = 2.0
#: A lost track whose predicted box overlaps a detection another track took by this IoU is
#: that object, seen by the other track (`Tracker._seen_by_another`): it is not held.
DUPLICATE_IOU = 0.5
#: Frames since its last detection up to which a person track may be found again beside
#: the IoU gate (`Tracker._found_again`): after a longer loss someone else may have come.
PERSON_FOUND_AGAIN_AGE = 2
#: Share of its width and height by which an entering object's first box grows on every
#: side when it is drawn on earlier frames: it was moving and only partly visible there.
ENTRY_MARGIN = 0.25
#: Kinds whose first box, seen within its own width (height) of the frame's side, is drawn
#: back reaching that side (`_drawn_back`): small things that tell who someone is, which
#: came into view there, part of them visible on the frames before the detector found them
#: whole. Bodies are not: a kept subject's body is shown, and reaching to the side would
#: show more than the subject.
FROM_THE_SIDE = (int(Kind.FACE), int(Kind.PLATE), int(Kind.TEXT))
#: ...when nearer than this share of the frame's longer side, too. A close face is found
#: while coming in, and a third of the frame wide, its own width from the side would cover a
#: third more of the frame on every frame before it (Hamilton, `fast`: one frame 43% -> 58%
#: hidden); a 45 px plate at 720p was found 44 px in.
SIDE_REACH = 0.1
#: A face track seen on one analysed frame only, with a score under this, is unconfirmed.
#: Low scores are often texture (WIDER val, balanced: of the face boxes scoring 0.1-0.2, 59%
#: overlap no annotated face; 0.2-0.3 39%, 0.3-0.5 22%, above 1.4%), and held for the whole
#: hold, growing, they became slabs in video. Real faces score higher or are found again,
#: which confirms them.
CONFIRM_SCORE = 0.5
#: Kinds held without growing (`Tracker`) and drawn back without `ENTRY_MARGIN` (`TwoSidedHold`):
#: the person map's parts outside every person box. A part is one frame's mask, not an object
#: that moves on: the next frame's mask says anew where it is, so a part held and growing, and
#: drawn back grown, covered mostly the scene (PETS09, first 200 frames: held and drawn-back
#: silhouettes hid 10.9% of every frame).
PARTS = (Kind.SILHOUETTE,)


def _float32_outward(boxes: np.ndarray) -> np.ndarray:
    """float64 boxes as float32, rounded outward so a box never shrinks by the cast."""
    out = boxes.astype(np.float32)
    lo, hi = out[:, :2], out[:, 2:]
    lo[...] = np.where(lo > boxes[:, :2], np.nextafter(lo, np.float32(-np.inf)), lo)
    hi[...] = np.where(hi < boxes[:, 2:], np.nextafter(hi, np.float32(np.inf)), hi)
    return out


def _is_number(value) -> bool:
    # bool is an Integral, but True frames or an IoU of True is a caller's mistake.
    return isinstance(value, Real) and not isinstance(value, bool)


def _checked_count(name: str, value) -> int:
    if not (_is_number(value) and isinstance(value, Integral)) or value < 0:
        raise ValueError(f"{name}: expected an integer >= 0, got {value!r}")
    return int(value)


def _centres(boxes: np.ndarray) -> np.ndarray:
    return 0.5 * (boxes[:, :2] + boxes[:, 2:])


class Tracker:
    """Additive multi-object tracker: its output for a frame contains that frame's input.

    Call `update` once per frame, in order. Each detection is matched to a live track of
    the same kind by IoU (or, for boxes under `SMALL_BOX_PX`, by centre distance) against
    the track's predicted box, the pairs of largest summed affinity (`optimal_assign`: people
    walking side by side each keep their own track); between two `Kind.PERSON` boxes
    the affinity is also scaled by how alike their sizes are (`weigh_person_shape`), so a
    mask fragment does not take over a person's track. The output holds

    1. every detection, row for row in input order and with its exact box, carrying the id
       of the track it matched or a new id (no minimum hits, no activation delay, no
       confidence gate: a face is covered from its first detection);
    2. then every live track that no detection matched, at its constant-velocity predicted
       box grown by ``growth`` times its size on every side per frame since it was last
       detected (`PARTS` not grown), with its last score.

    A track stays live until a frame on which detection ran and missed it more than
    ``hold_frames`` frames after its last detection; then it ends. Frames passed with
    ``detected=False`` never end a track (nobody looked for it), so detecting only every
    N-th frame leaves no gap even when N exceeds ``hold_frames``.

    Track ids count up from 0 and are never reused by one `Tracker`, not even after
    `reset`, so downstream stages can key on them safely.

    Parameters
    ----------
    hold_frames : int, default 15
        Frames a lost object stays covered at its predicted box.
    iou_match : float, default 0.2
        Least affinity (IoU, or centre closeness for small boxes) for a detection to
        continue a track, in (0, 1].
    growth : float, default 0.05
        Share of its width and height by which a lost track's box grows on every side for
        each frame since its last detection.
    unconfirmed_hold : int, optional
        Frames an unconfirmed face track (found on one analysed frame, score under
        `CONFIRM_SCORE`) is held instead of ``hold_frames``; default ``hold_frames``. It is
        still output on its own frame and on every skipped frame until the next analysed
        one (fail closed); a `TwoSidedHold` covers the frames before the face is found again.

    Examples
    --------
    >>> from redact.core.types import Kind, Regions
    >>> tracker = Tracker(hold_frames=5)
    >>> for x in (0, 4, 8):
    ...     out = tracker.update(Regions.from_boxes([[x, 0, x + 20, 20]], kind=Kind.FACE))
    >>> out.track_id.tolist()
    [0]
    >>> tracker.update(Regions.empty()).xyxy.tolist()  # moved on by 4 px, grew 1 px a side
    [[11.0, -1.0, 33.0, 21.0]]
    """

    def __init__(self, hold_frames: int = 15, iou_match: float = 0.2, growth: float = 0.05, *,
                 unconfirmed_hold: int | None = None):
        self._hold_frames = _checked_count("hold_frames", hold_frames)
        self._unconfirmed_hold = (self._hold_frames if unconfirmed_hold is None
                                  else min(_checked_count("unconfirmed_hold", unconfirmed_hold), self._hold_frames))
        if not _is_number(iou_match) or not 0 < iou_match <= 1:
            raise ValueError(f"iou_match: expected a number in (0, 1], got {iou_match!r}")
        if not _is_number(growth) or not 0 <= growth < math.inf:
            raise ValueError(f"growth: expected a finite number >= 0, got {growth!r}")
        self._iou_match = float(iou_match)
        self._growth = float(growth)
        self._next_id = 0
        self.reset()

    def reset(self) -> None:
        """Forget every track, e.g. between clips. Ids keep counting up (never reused)."""
        self._box = np.zeros((0, 4), np.float64)  # last detected box
        self._velocity = np.zeros((0, 2), np.float64)  # centre pixels per frame, smoothed
        self._has_velocity = np.zeros(0, np.bool_)  # seen at least twice
        self._age = np.zeros(0, np.int64)  # frames since last detection
        self._score = np.zeros(0, np.float32)
        self._kind = np.zeros(0, np.int8)
        self._id = np.zeros(0, np.int64)

    def steady_ids(self) -> np.ndarray:
        """Ids of the live tracks whose velocity is known (found on two analysed frames).

        Only their predicted boxes follow a moving object between detections; a track seen
        once is predicted where it was, so its motion still needs a detector.
        """
        return self._id[self._has_velocity].copy()

    def predicted(self, ahead: int = 1) -> Regions:
        """The regions `update` would return on the ``ahead``-th frame from now if detection
        were skipped until then: every live track at its predicted box, grown by the frames
        since its last detection (`PARTS` not grown). Read-only: the tracker does not advance.

        Live redaction (`redact.pipeline.live`) covers a frame with this while its
        detection is still running.
        """
        _, grown = self._predict(self._age + _checked_count("ahead", ahead))
        return self._held(grown)

    def _predict(self, age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(core, grown) boxes of every live track ``age`` frames after its last detection."""
        from .._kernels import track as kernels  # numba (~1 s): on the first tracked frame only

        core = np.empty_like(self._box)
        grown = np.empty_like(self._box)
        kernels.predict(self._box, self._velocity, age, self._growth, core, grown)
        parts = np.isin(self._kind, PARTS)
        grown[parts] = core[parts]
        return core, grown

    def _held(self, grown: np.ndarray) -> Regions:
        # Copies: Regions freezes the arrays it is given, and these are live state.
        return Regions(_float32_outward(grown), self._score.copy(), self._kind.copy(), self._id.copy())

    def update(self, detections: Regions, *, detected: bool = True, looked_for=None) -> Regions:
        """Advance one frame and return the regions to cover on it.

        Parameters
        ----------
        detections : Regions
            This frame's detections; their ``track_id`` is ignored. Must be empty when
            ``detected`` is False.
        detected : bool, default True
            False for a frame on which detection was skipped (detect every N frames): the
            output is then every live track at its predicted box.
        looked_for : iterable of Kind, optional
            With ``detected``: the kinds detection looked for on this frame, when not all
            (the plates run less often than the faces). Tracks of other kinds are carried as
            on a skipped frame: output at their predicted box, never ended by this frame.

        Returns
        -------
        Regions
            Rows ``0 .. len(detections) - 1`` are the detections with their exact boxes and
            assigned track ids; further rows are held tracks at their predicted boxes.
        """
        if not isinstance(detections, Regions):
            raise TypeError(f"detections: expected Regions, got {type(detections).__name__}; "
                            "build one with Regions.from_boxes(xyxy, kind=...)")
        if not detected and len(detections):
            raise ValueError(f"detections: expected none on a frame with detected=False, got "
                             f"{len(detections)}; pass Regions.empty() or detected=True")
        looked = None if looked_for is None else [int(k) for k in looked_for]
        if looked is not None and not np.isin(detections.kind, looked).all():
            raise ValueError(f"detections: kinds {sorted(set(detections.kind.tolist()) - set(looked))} were not "
                             f"looked for (looked_for={sorted(looked)})")
        self._age += 1
        core, grown = self._predict(self._age)
        if not detected:
            return self._held(grown)
        from .._kernels import track as kernels  # numba (~1 s): on the first tracked frame only

        n_tracks, n_dets = len(self._id), len(detections)
        dets = detections.xyxy.astype(np.float64)
        det_track = np.full(n_dets, -1, np.int64)
        if n_tracks and n_dets:
            affinity = np.empty((n_tracks, n_dets), np.float64)
            kernels.affinity_matrix(core, self._kind, dets, detections.kind, SMALL_BOX_PX, affinity)
            kernels.weigh_person_shape(core, self._kind, dets, detections.kind, np.int8(Kind.PERSON), affinity)
            self._weigh_parts(core, dets, detections.kind, affinity)
            # Tracks seen on two frames or more choose first; a track seen once (often a
            # second box of one object) takes only what they left. Otherwise that second box's
            # track stole the object's next box and its own track was dropped (PETS09).
            steady = self._has_velocity
            first = np.where(steady[:, None], affinity, 0.0)
            kernels.optimal_assign(first, self._iou_match, det_track)
            left = np.where(~steady[:, None] & (det_track < 0)[None, :], affinity, 0.0)
            late = np.full(n_dets, -1, np.int64)
            kernels.optimal_assign(left, self._iou_match, late)
            det_track = np.where(det_track >= 0, det_track, late)
            det_track = np.where(det_track >= 0, det_track, self._found_again(grown, detections, det_track))
        matched = det_track >= 0
        rows = det_track[matched]
        ids = np.empty(n_dets, np.int64)
        ids[matched] = self._id[rows]
        new = ~matched
        n_new = int(np.count_nonzero(new))
        ids[new] = np.arange(self._next_id, self._next_id + n_new)
        self._next_id += n_new

        # A part of a person (its legs, one side) continues the person's track but is no
        # measure of where the whole person is: the track keeps its predicted box and speed
        # (held whole if the person is missed next).
        part = np.zeros(n_dets, np.bool_)
        part[matched] = ((detections.kind[matched] == Kind.PERSON)
                         & (box_areas(dets[matched]) < PART_SHARE * box_areas(self._box[rows])))
        whole = matched & ~part
        updated = det_track[whole]
        # Measured over the frames since the last detection, so skipped frames and misses
        # do not inflate the speed.
        measured = (_centres(dets[whole]) - _centres(self._box[updated])) / self._age[updated, None]
        smoothed = VELOCITY_SMOOTHING * measured + (1.0 - VELOCITY_SMOOTHING) * self._velocity[updated]
        # A box that changed size by more than `FOUND_AGAIN_SIZE` shows another extent of its
        # object (a face's box and a box on its hand, a loose and a tight box of one face):
        # the shift of its centre is no motion. The track takes the box, not that speed.
        # Person boxes keep their speed (a part of one is handled above): on PETS09 the rule
        # split people's tracks more (4.25 -> 4.38 tracks per person over 200 frames). Mask
        # parts do not: a piece continuing a long part (`_weigh_parts`) is no motion, and its
        # centre's jump, taken as speed, flew the held part off the mask.
        ratio = box_areas(dets[whole]) / np.maximum(box_areas(self._box[updated]), 1e-9)
        moves = ((ratio >= 1 / FOUND_AGAIN_SIZE) & (ratio <= FOUND_AGAIN_SIZE)
                 | np.isin(self._kind[updated], [k for k in BODIES if k not in PARTS]))
        velocity = np.where(self._has_velocity[updated, None], smoothed, measured)
        self._velocity[updated] = np.where(moves[:, None], velocity, self._velocity[updated])
        self._has_velocity[updated] |= moves
        self._box[updated] = dets[whole]
        self._score[updated] = detections.score[whole]
        parted = det_track[part]
        self._box[parted] = core[parted]
        self._age[rows] = 0

        lost = np.ones(n_tracks, np.bool_)
        lost[rows] = False
        unconfirmed = ~self._has_velocity & (self._score < CONFIRM_SCORE) & (self._kind == Kind.FACE)
        held = (lost & (self._age <= np.where(unconfirmed, self._unconfirmed_hold, self._hold_frames))
                & ~self._seen_by_another(core, lost, detections, matched))
        if looked is not None:
            # Not looked for, so not missed: held as on a skipped frame (no detection of
            # another kind can match them, `affinity_matrix` and `_found_again` being per kind).
            held |= ~np.isin(self._kind, looked)
        output = Regions.concat([
            Regions(detections.xyxy, detections.score, detections.kind, ids),
            Regions(_float32_outward(grown[held]), self._score[held], self._kind[held],
                    self._id[held]),
        ])

        keep = ~lost | held
        self._box = np.concatenate([self._box[keep], dets[new]])
        self._velocity = np.concatenate([self._velocity[keep], np.zeros((n_new, 2))])
        self._has_velocity = np.concatenate([self._has_velocity[keep], np.zeros(n_new, np.bool_)])
        self._age = np.concatenate([self._age[keep], np.zeros(n_new, np.int64)])
        self._score = np.concatenate([self._score[keep], detections.score[new]])
        self._kind = np.concatenate([self._kind[keep], detections.kind[new]])
        self._id = np.concatenate([self._id[keep], ids[new]])
        return output

    def _weigh_parts(self, core: np.ndarray, dets: np.ndarray, det_kind: np.ndarray, affinity: np.ndarray) -> None:
        """Between two `PARTS` rows, the affinity is at least the share of the smaller box
        inside the other (in place): the mask's parts split and join from frame to frame,
        and a piece lying in last frame's part is that part's mask again, not something new
        to draw back over the frames before it (`TwoSidedHold`)."""
        pairs = (np.isin(self._kind, PARTS)[:, None] & np.isin(det_kind, PARTS)[None, :]
                 & (self._kind[:, None] == det_kind[None, :]))
        if not pairs.any():
            return
        smaller = np.minimum(box_areas(core)[:, None], box_areas(dets)[None, :])
        inside = np.divide(intersection_matrix(core, dets), smaller, out=np.zeros(pairs.shape), where=smaller > 0)
        affinity[pairs] = np.maximum(affinity[pairs], inside[pairs])

    def _seen_by_another(self, core: np.ndarray, lost: np.ndarray, detections: Regions,
                         matched: np.ndarray) -> np.ndarray:
        """Which lost tracks are the object another track detected on this frame: their
        predicted box overlaps that detection by `DUPLICATE_IOU`, kind for kind.

        One face found twice (two views, a few pixels apart) starts two tracks; when only one
        box comes next, the other track is lost and its hold grows over the frame, on an object
        the first one covers. Bodies are left out, as in `_found_again`.
        """
        seen = np.zeros(len(lost), np.bool_)
        others = np.flatnonzero(matched & ~np.isin(detections.kind, BODIES))
        candidates = np.flatnonzero(lost & ~np.isin(self._kind, BODIES))
        if not len(others) or not len(candidates):
            return seen
        overlap = iou_matrix(core[candidates], detections.xyxy[others])
        same_kind = self._kind[candidates][:, None] == detections.kind[others][None, :]
        seen[candidates] = ((overlap >= DUPLICATE_IOU) & same_kind).any(axis=1)
        return seen

    def _found_again(self, grown: np.ndarray, detections: Regions, det_track: np.ndarray) -> np.ndarray:
        """For each detection no track took, the unmatched track whose object it is found
        again (`FOUND_AGAIN_SIZE`), or -1.

        A lost track's box grows to cover where its object may have gone; a detection centred
        in that box, of its kind and a like size, is that object seen again, and continues its
        track instead of starting one beside it. Otherwise a close-up face that turned fast
        left its old track's box growing over the frame for the whole hold (700 px on Hamilton)
        while its new track covered it already. Bodies are left out (a person's identity
        decides who an incident shows, and two passers-by at one size are common), except a
        person track missed for at most `PERSON_FOUND_AGAIN_AGE` frames whose grown box
        touches one person detection only, which touches no other person track: nobody else
        is there to be confused with. (PETS09 at 7 fps: a
        walker turning moved its box 19 px in a frame; the new track born there was where
        its incident was anchored, and lost the subject at once.)
        """
        from .._kernels import track as kernels  # numba (~1 s): on the first tracked frame only

        free_dets = det_track < 0
        free_tracks = ~np.isin(np.arange(len(self._id)), det_track)
        if not free_dets.any() or not free_tracks.any():
            return np.full(len(det_track), -1, np.int64)
        dets = detections.xyxy.astype(np.float64)
        ratio = box_areas(dets)[None, :] / np.maximum(box_areas(self._box), 1e-9)[:, None]
        alike = ((self._kind[:, None] == detections.kind[None, :])
                 & (ratio >= 1 / FOUND_AGAIN_SIZE) & (ratio <= FOUND_AGAIN_SIZE)
                 & free_tracks[:, None] & free_dets[None, :])
        fits = centres_inside(dets, grown).T & alike & ~np.isin(self._kind, BODIES)[:, None]
        # A person only where nobody else could be confused with it: just missed, its grown
        # box touches this one person detection, and the detection no other person track.
        people = (self._kind == Kind.PERSON)[:, None] & (detections.kind == Kind.PERSON)[None, :]
        overlap = iou_matrix(grown, dets)
        touching = people & (overlap > 0)
        alone = (touching.sum(axis=1, keepdims=True) == 1) & (touching.sum(axis=0, keepdims=True) == 1)
        fits |= touching & alone & alike & (self._age <= PERSON_FOUND_AGAIN_AGE)[:, None]
        # Nearest first: the IoU with the grown box, never 0 for a fitting pair.
        closeness = np.where(fits, np.maximum(overlap, 1e-6), 0.0)
        found = np.full(len(det_track), -1, np.int64)
        kernels.greedy_assign(closeness, 1e-6, found)
        return found


def _drawn_back(regions: Regions, size: tuple | None = None) -> Regions:
    """``regions`` as drawn back onto the frames before they were first seen: grown by
    `ENTRY_MARGIN` of their size on every side (`PARTS` as they are), score 0.

    With the frame's ``size`` (width, height), a `FROM_THE_SIDE` box that lies within its own
    width of the left or right side (its height of the top or bottom), and within
    `SIDE_REACH` of the frame's longer side, also gets a second row (same kind and track)
    reaching that side. The grown row stays as it was: the policy decides row by row (a
    face centred in a kept subject's head is the subject's, a block of text inside it is
    worn), and a row stretched to the side moves its centre and its shape, which must not
    turn a bystander's face into the subject's or a line of text into clothes.

    >>> plate = Regions.from_boxes([[30, 100, 80, 112], [400, 100, 450, 112]], kind=Kind.PLATE)
    >>> _drawn_back(plate, (640, 360)).xyxy.tolist()  # the first came in at the left
    [[17.5, 97.0, 92.5, 115.0], [387.5, 97.0, 462.5, 115.0], [0.0, 97.0, 92.5, 115.0]]
    """
    margin = np.where(np.isin(regions.kind, PARTS), 0.0, ENTRY_MARGIN)
    grown = _float32_outward(pad_boxes(regions.xyxy, margin))
    back = Regions(grown, np.zeros(len(regions), np.float32), regions.kind, regions.track_id)
    if size is None or not len(regions):
        return back
    box = regions.xyxy.astype(np.float64)
    extent = np.concatenate([box[:, 2:] - box[:, :2]] * 2, axis=1)
    gap = np.concatenate([box[:, :2], np.asarray(size, np.float64) - box[:, 2:]], axis=1)
    near = (gap <= np.minimum(extent, SIDE_REACH * max(size))) & np.isin(regions.kind, FROM_THE_SIDE)[:, None]
    rows = near.any(axis=1)
    if not rows.any():
        return back
    reach = np.concatenate([np.minimum(grown[:, :2], 0.0), np.maximum(grown[:, 2:], np.asarray(size, np.float64))],
                           axis=1)
    sided = back.select(rows)
    return Regions.concat([back, Regions(_float32_outward(np.where(near, reach, grown)[rows]), sided.score,
                                         sided.kind, sided.track_id)])


class TwoSidedHold:
    """Delay frames by ``lookahead`` so an object is also covered before it was first detected.

    `Tracker` already holds a lost object forward in time. This covers the other side: a
    face is often recognisable a few frames before a detector fires on it (entering the
    view, turning, growing as it approaches). Frames wait in a buffer of at most
    ``lookahead`` frames; when a track id appears that was absent from the previous frame,
    its box, grown by `ENTRY_MARGIN` of its size on every side, is added (same kind and id,
    score 0) to every frame still buffered: up to ``lookahead`` frames back. `PARTS` (mask
    parts) are drawn back as they are, and with ``seen_pad`` only onto the frames where they
    do not lie within a part that frame already covers (`_parts_seen`). Given the frame's
    size (`push`), a face, plate or text first seen near a side is also drawn back reaching
    that side, in a row of its own (`_drawn_back`): it came into view there.

    When that track shows up again, its centre velocity is known, and each still-buffered
    frame ``k`` frames before its first appearance also receives the hull of the first box
    and the first box moved back by ``k`` frames of that velocity, grown by the same
    margin. That reaches frames ``t - lookahead + 1 .. t - 1`` for a track first seen on
    frame ``t`` (frame ``t - lookahead`` was released on frame ``t``); the enlarged first
    box covers all ``lookahead`` frames regardless.

    Rows with ``track_id == -1`` have no identity to follow, so each counts as a first
    appearance on every frame (fail closed). Memory holds at most ``lookahead + 1`` frames
    and the tracks first seen among them.

    Parameters
    ----------
    lookahead : int
        Frames of delay, and how far back a first detection is drawn. 0 passes every frame
        straight through (live use: only the tracker's forward hold remains).
    seen_pad : float, optional
        How far beyond its box a part is obscured, as a share of the box's size (the person
        style's padding, with a box shape): a new part lying within an earlier frame's part
        padded by this much was covered there, and is not drawn back onto that frame. None
        (default): every new part is drawn back, as every other kind.

    Examples
    --------
    >>> from redact.core.types import Kind, Regions
    >>> hold = TwoSidedHold(lookahead=2)
    >>> hold.push("f0", Regions.empty()), hold.push("f1", Regions.empty())
    ([], [])
    >>> face = Regions.from_boxes([[40, 40, 60, 60]], kind=Kind.FACE, track_id=7)
    >>> [(item, len(r)) for item, r in hold.push("f2", face)]
    [('f0', 1)]
    >>> [(item, len(r)) for item, r in hold.flush()]
    [('f1', 1), ('f2', 1)]
    """

    def __init__(self, lookahead: int, *, seen_pad: float | None = None):
        self._lookahead = _checked_count("lookahead", lookahead)
        if seen_pad is not None and not (_is_number(seen_pad) and 0 <= seen_pad < math.inf):
            raise ValueError(f"seen_pad: expected a finite number >= 0 or None, got {seen_pad!r}")
        self._seen_pad = seen_pad
        self._index = 0  # frame number of the next push
        # [frame number, item, regions, added Regions...] per buffered frame, oldest first.
        self._buffer: deque = deque()
        self._previous_ids = np.zeros(0, np.int64)
        # track id -> (frame first seen, first box float64 (4,), kind): tracks waiting for a
        # second sighting to give their velocity.
        self._entering: dict = {}
        self._size: tuple | None = None  # the frames' (width, height), once `push` is told

    def push(self, item, regions: Regions, size: tuple | None = None) -> list[tuple[object, Regions]]:
        """Add the next frame; return the frames now final, oldest first.

        Parameters
        ----------
        item : object
            Payload returned with the frame's regions (the frame itself, say).
        regions : Regions
            The tracker's output for this frame.
        size : (int, int), optional
            The frame's width and height: a face, plate or text first seen near a side is
            drawn back reaching it (`_drawn_back`). Kept for `add_to_newest`.

        Returns
        -------
        list of (item, Regions)
            Frames released by this push: none until more than ``lookahead`` are buffered,
            then one per push.
        """
        if not isinstance(regions, Regions):
            raise TypeError(f"regions: expected Regions, got {type(regions).__name__}; "
                            "pass the Tracker.update output for this frame")
        index = self._index
        self._index += 1
        self._size = self._size if size is None else (int(size[0]), int(size[1]))
        ids = regions.track_id
        first = (ids < 0) | ~np.isin(ids, self._previous_ids)
        self._extrapolate_back(index, regions, first)
        if np.any(first):
            entering = regions.select(first)
            back = _drawn_back(entering, self._size)
            for frame in self._buffer:
                seen = self._parts_seen(frame, back)
                frame.append(back.select(~seen) if seen.any() else back)
            # Parts are drawn back at their own box only: a mask part is no object with a path.
            tracked = np.flatnonzero(first & (ids >= 0) & ~np.isin(regions.kind, PARTS))
            # A re-appearing id starts afresh; of duplicate rows the first one counts.
            _, at = np.unique(ids[tracked], return_index=True)
            for row in tracked[at]:
                self._entering[int(ids[row])] = (index, regions.xyxy[row].astype(np.float64),
                                                 int(regions.kind[row]))
        self._previous_ids = ids[ids >= 0]
        self._buffer.append([index, item, regions])
        released = []
        while len(self._buffer) > self._lookahead:
            released.append(self._release())
        oldest = self._buffer[0][0] if self._buffer else index + 1
        # A track first seen on or before the oldest buffered frame has no earlier frame
        # left to extend back into.
        self._entering = {k: v for k, v in self._entering.items() if v[0] > oldest}
        return released

    @property
    def newest(self):
        """The item of the newest buffered frame, or None when nothing is buffered."""
        return self._buffer[-1][1] if self._buffer else None

    def add_to_newest(self, regions: Regions) -> None:
        """Add ``regions``, found late on the newest buffered frame (a stream's or a shot's
        last frame, analysed once it is known to be the last), to that frame; and, as first
        appearances are, grown by `ENTRY_MARGIN` (`PARTS` as they are, and near a side reaching
        it, with the size `push` was last given: `_drawn_back`) onto every earlier buffered
        frame. Nothing is taken away: what the frame holds already stays."""
        if not self._buffer or not len(regions):
            return
        back = _drawn_back(regions, self._size)
        for frame in list(self._buffer)[:-1]:
            frame.append(back)
        self._buffer[-1].append(regions)

    def flush(self) -> list[tuple[object, Regions]]:
        """Release every buffered frame, oldest first (end of stream); the hold starts afresh.

        Returns
        -------
        list of (item, Regions)
        """
        released = [self._release() for _ in range(len(self._buffer))]
        self._previous_ids = np.zeros(0, np.int64)
        self._entering = {}
        return released

    def _parts_seen(self, frame: list, back: Regions) -> np.ndarray:
        """Rows of ``back`` (tracked `PARTS` rows) that lie wholly within a part that the
        buffered ``frame`` holds already (its own or drawn back onto it), padded by
        ``seen_pad``: that place is covered on it, so a new part there (the mask's parts
        split and join, and come with new ids) enters nothing on that frame."""
        seen = np.zeros(len(back), np.bool_)
        rows = np.flatnonzero(np.isin(back.kind, PARTS) & (back.track_id >= 0))
        if self._seen_pad is None or not len(rows):
            return seen
        held = [r.xyxy[np.isin(r.kind, PARTS)] for r in frame[2:]]
        if not sum(len(h) for h in held):
            return seen
        cover = pad_boxes(np.concatenate(held), self._seen_pad)
        seen[rows] = contained(back.xyxy[rows], cover).any(axis=1)
        return seen

    def _release(self) -> tuple[object, Regions]:
        _, item, regions, *added = self._buffer.popleft()
        return item, (Regions.concat([regions, *added]) if added else regions)

    def _extrapolate_back(self, index, regions, first):
        """Cover the path of each track seen for the second time back into earlier frames."""
        # Rows per buffered frame, in track order, added as one Regions per frame: a
        # Regions per row and frame cost ~5 ms a frame with a crowd in view.
        rows: dict = {}  # position in the buffer -> [(hull, kind, track id), ...]
        for row in np.flatnonzero(~first):
            track_id = int(regions.track_id[row])
            if track_id not in self._entering:
                continue
            first_index, box, kind = self._entering.pop(track_id)
            now = regions.xyxy[row].astype(np.float64)
            # Centre pixels per frame between the first sighting and this one.
            velocity = ((now[:2] + now[2:]) - (box[:2] + box[2:])) / (2.0 * (index - first_index))
            margin = ENTRY_MARGIN * (box[2:] - box[:2])
            for at, frame in enumerate(self._buffer):
                k = first_index - frame[0]
                if k <= 0:
                    continue
                back = velocity * k
                hull = np.concatenate([np.minimum(box[:2], box[:2] - back) - margin,
                                       np.maximum(box[2:], box[2:] - back) + margin])
                rows.setdefault(at, []).append((hull, kind, track_id))
        for at, found in rows.items():
            hulls, kinds, ids = zip(*found)
            self._buffer[at].append(Regions(_float32_outward(np.stack(hulls)), np.zeros(len(found), np.float32),
                                            np.asarray(kinds, np.int8), np.asarray(ids, np.int64)))
