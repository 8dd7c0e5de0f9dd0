"""The redaction pipeline: a streaming `Redactor`, and whole-file jobs built on it.

Frames flow one way: detect -> track (additive) -> two-sided hold -> policy (`redact.pipeline.compose`)
-> obscure. The `Redactor` keeps at most ``lookahead + 1`` frames, so memory does not grow
with the clip. An `Analyser` is the first half (detect to hold) on its own: a clip whose
incident names subjects is analysed whole first, so a subject picked at one time can be
followed backwards too, then redacted from that record (`Redactor` with ``replay``).
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from .. import __version__
from ..core.geometry import pixel_boxes
from ..core.policy import Policy, Shape
from ..core.types import Kind, Regions, check_frame
from ..detectors import describe_models, detect_all, detectors_for
from ..detectors.objects import ObjectDetector
from ..detectors.plates import PlateDetector
from ..record.manifest import UNANALYSED, Manifest
from .compose import compose, obscured
from .motion import MotionGate, SceneCuts
from .obscure import obscure, style_of
from .tracking import Tracker, TwoSidedHold
from .vehicles import PlateRides

#: The pixels of a frame only counted, never shown (`Analyser.plan` without a frame).
_NO_PIXELS = np.zeros((0, 0, 3), np.uint8)
#: The stages timed, in the order frames pass them (see `Redactor.seconds`).
STAGES = ("decode", "detect", "track", "policy", "obscure", "encode")


@dataclass
class RedactedFrame:
    """One finished frame: the obscured pixels, what was obscured, and the caller's item."""

    rgb: np.ndarray
    regions: Regions
    index: int
    item: object = None
    flagged: str | None = None
    observed: frozenset = frozenset()  # track ids detected (not predicted) in this frame


@dataclass
class _Pending:
    rgb: np.ndarray
    index: int
    item: object
    flagged: str | None
    observed: frozenset = frozenset()  # track ids detected (not predicted) in this frame
    faulted: bool | None = None  # obscure the whole frame; None: whenever it is flagged
    own_pixels: bool = False  # rgb is the Redactor's own (a copy, or handed over): obscured in place


@dataclass
class _Stats:
    detections: dict = field(default_factory=dict)
    frames_with: dict = field(default_factory=dict)
    spans: dict = field(default_factory=dict)  # track id -> [kind, first, last, first box, last box]
    flagged: list = field(default_factory=list)
    frames_out: int = 0
    subjects_visible: set = field(default_factory=set)  # (frame index, track id) of subjects left visible
    at_once: dict = field(default_factory=dict)  # kind -> most tracks detected in one frame

    def add(self, frame: RedactedFrame) -> None:
        self.frames_out += 1
        for k in set(int(k) for k in frame.regions.kind):
            self.frames_with[k] = self.frames_with.get(k, 0) + 1
            # Tracks break and repeat one object; the most detected at once never overcounts.
            seen = {int(t) for t in frame.regions.track_id[frame.regions.kind == k] if int(t) in frame.observed}
            self.at_once[k] = max(self.at_once.get(k, 0), len(seen))
        for tid, k, box in zip(frame.regions.track_id, frame.regions.kind, frame.regions.xyxy):
            if tid < 0:
                continue
            box = [round(float(v), 1) for v in box]
            span = self.spans.setdefault(int(tid), [int(k), frame.index, frame.index, box, box])
            span[2], span[4] = frame.index, box
        if frame.flagged:
            self.flagged.append({"frame": frame.index, "reason": frame.flagged})

    def counts(self, detections: dict) -> dict:
        out = {}
        for kind in Kind:
            out[kind.name.lower()] = {
                "detections": detections.get(int(kind), 0),
                "tracks": sum(1 for s in self.spans.values() if s[0] == int(kind)),
                "at_once": self.at_once.get(int(kind), 0),
                "frames": self.frames_with.get(int(kind), 0),
            }
        return out

    def tracks(self) -> list:
        return [{"id": tid, "kind": Kind(s[0]).name.lower(), "first_frame": s[1], "last_frame": s[2],
                 "first_box": s[3], "last_box": s[4]} for tid, s in sorted(self.spans.items())]


#: A subject counts as shown in a frame when at least this share of its box is left as it was.
VISIBLE_SHARE = 0.1

#: Kinds a detector may report and still run at the plates' cadence (`plates_every`).
PLATE_KINDS = frozenset({Kind.PLATE, Kind.TEXT, Kind.VEHICLE})


def plates_every(policy: Policy, lookahead_frames: int) -> int:
    """Frames between plate searches: ``policy.detect_every`` times the profile's
    `redact.core.profile.Profile.plates_every`, where the look-ahead reaches back over that
    gap (a plate first found on a search is drawn back to where it came in) and no incident
    names subjects (a kept vehicle is followed detection by detection); else every detection.

    >>> fast = Policy(profile="fast")
    >>> plates_every(fast, 13), plates_every(fast, 5), plates_every(Policy(), 13)
    (6, 3, 3)
    """
    return _spread(policy, lookahead_frames, policy.profile.plates_every)


def views_every(policy: Policy, lookahead_frames: int, every: int) -> int:
    """Frames between two plate searches with every view, for plate detectors whose sparse
    views run on one search in ``every`` (`PlateDetector.views_every`): as `plates_every`,
    text a sparse view finds is held by the tracker and drawn back by the look-ahead.

    >>> views_every(Policy(), 13, 2), views_every(Policy(), 5, 2), views_every(Policy(), 13, 1)
    (6, 3, 3)
    >>> views_every(Policy(), 15, 4), views_every(Policy(), 7, 4)   # 30 fps, 15 fps
    (12, 6)
    """
    return _spread(policy, lookahead_frames, every)


def _spread(policy: Policy, lookahead_frames: int, factor: int) -> int:
    """``policy.detect_every`` times ``factor``, or times as much of it as the look-ahead
    reaches back over, while no incident names subjects (a kept vehicle is followed
    detection by detection); else ``policy.detect_every``. (At 15 fps a view asked for on one
    search in four runs on every other: every search cost 3.5 times as much.)"""
    incident = policy.incident
    if incident is not None and incident.subjects:
        return policy.detect_every
    return policy.detect_every * max(1, min(factor, lookahead_frames // policy.detect_every))


def _plates_only(detector, policy: Policy) -> bool:
    """Whether a detector serves the plates alone: a built-in one (the plate search, the vehicle
    network run for it; a plugin runs on every detection) reporting plates, text or vehicles
    only, while vehicles are not obscured themselves (then they are found on every detection)."""
    kinds = {Kind(k) for k in getattr(detector, "kinds", ())}
    return (isinstance(detector, (PlateDetector, ObjectDetector)) and bool(kinds) and kinds <= PLATE_KINDS
            and Kind.VEHICLE not in policy.kinds)


class Analyser:
    """Detect -> track -> two-sided hold, one frame at a time: the first half of `Redactor`.

    `push` returns ``(pending, regions)`` pairs as they leave the look-ahead, in order. It is
    `plan` (scene cut, schedule, motion check), `detect` when planned, then `track`; live
    redaction (`redact.pipeline.live`) calls the three itself, with `detect` in a worker thread.

    Parameters
    ----------
    watch_motion : bool
        Run the motion check whatever ``policy.detect_every`` (at 1 it asks for every frame):
        live redaction covers a frame whose detection did not run in time where it moved
        (`moved`).
    """

    def __init__(self, policy: Policy, fps, detectors, *, watch_motion: bool = False):
        self.policy = policy
        self.hold_frames, self.lookahead_frames = policy.in_frames(Fraction(fps))
        self.detectors = detectors
        # An unconfirmed face (`redact.pipeline.tracking.CONFIRM_SCORE`) is held only until the
        # next analysed frame: found again later, the look-ahead draws it back over the gap.
        # Without a look-ahead (live) nothing would, so it keeps the whole hold.
        self._tracker = Tracker(hold_frames=self.hold_frames,
                                unconfirmed_hold=0 if self.lookahead_frames else None)
        self._gate = MotionGate() if policy.detect_every > 1 or watch_motion else None
        self._followed = Regions.empty()
        # A new mask part inside one a buffered frame covers is not drawn back onto it; how far
        # a part is covered beyond its box is the person style's padding (with a box shape).
        part_style = style_of(policy.style_map, Kind.SILHOUETTE)
        self._hold = TwoSidedHold(self.lookahead_frames,
                                  seen_pad=part_style.padding if part_style.shape == Shape.BOX else None)
        self._rides = PlateRides()
        self._cuts = SceneCuts()
        self._every, self._slow = detectors, []
        # Without the motion check (every frame detected) nothing says when the plates must run.
        self.plates_every = (plates_every(policy, self.lookahead_frames) if self._gate is not None
                             else policy.detect_every)
        if self.plates_every > policy.detect_every:
            self._slow = [d for d in detectors if _plates_only(d, policy)]
            self._every = [d for d in detectors if all(d is not s for s in self._slow)]
        self._plates_at: int | None = None  # frame index of the last plate search
        self._plates_now = False  # whether the frame `plan` last planned searches the plates
        # Between two searches with the plate detector's sparse views (`PlateView.every`),
        # its light twin, where the look-ahead covers the gap (`views_every`).
        plate_detectors = [d for d in detectors if isinstance(d, PlateDetector)]
        # The views run on a plate search only, so their gap is whole plate gaps: rounded down
        # to one, or `pi` (plates every 8 frames, views every 12) read the frame at full size
        # every 16 frames, past its 15-frame look-ahead at 30 fps.
        spread = views_every(policy, self.lookahead_frames, max((d.views_every for d in plate_detectors), default=1))
        self.views_every = max(self.plates_every, spread // self.plates_every * self.plates_every)
        self._light = ({id(d): d.light() for d in plate_detectors}
                       if self.views_every > policy.detect_every else {})
        self._views_at: int | None = None  # frame index of the last search with every view
        self._light_now = False  # whether the frame `plan` last planned leaves them out
        self.scene_cuts = 0
        self.frames_detected = 0
        #: The last frame the detectors analysed without a fault (the motion check's
        #: reference), None before any or after a fault.
        self.detected_at: int | None = None
        # The detectors the schedule left out (or ran light) on the frame last tracked.
        self._left_out: list = []
        self.detections: dict = {}
        self.index = 0
        self.seconds = {"detect": 0.0, "track": 0.0}  # busy time per stage

    def detect(self, rgb: np.ndarray) -> tuple[Regions, str | None]:
        """The detectors' regions on ``rgb`` (the plates' too when `plan` said so), and None;
        or no regions and the reason when a detector failed (fail closed: the frame is then
        obscured whole and flagged)."""
        # For the frame `plan` planned last: `LiveRedactor` runs this in its worker while
        # analysis waits at that frame, so no later `plan` can change the choice meanwhile.
        detectors = self.detectors if self._plates_now else self._every
        if self._light_now:
            detectors = [self._light.get(id(d), d) for d in detectors]
        try:
            found = detect_all(detectors, rgb)
        except Exception as exc:  # fail closed: any detector fault obscures the whole frame
            # The reason names the error, not the frame's content (the manifest is content-free).
            return Regions.empty(), f"{UNANALYSED}: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        self._count(found)
        return found, None

    def _count(self, found: Regions) -> None:
        """Count ``found`` as the manifest reports it: what is obscured (vehicles found for
        the plates only are not)."""
        for k in found.kind[obscured(found, self.policy.kinds)]:
            self.detections[int(k)] = self.detections.get(int(k), 0) + 1

    def is_cut(self, rgb: np.ndarray) -> bool:
        """Whether ``rgb``, the frame after the last one asked about, starts a new shot."""
        return self._cuts.is_cut(rgb)

    def plan(self, rgb: np.ndarray | None, *, force: bool = False, cut: bool | None = None) -> tuple[list, bool]:
        """The first step of `push`: ``(frames released, whether the detectors must run on rgb)``.

        ``cut`` is `is_cut`'s answer for ``rgb`` when the caller asked it already. Without
        ``rgb`` (a live frame already out, which nobody will look at) the frame only counts:
        its cut and its step in the tracks, no detection.
        """
        released = []
        if self.is_cut(rgb) if cut is None and rgb is not None else cut:
            # A new shot: the old one's tracks are not in it, and its entrants were never in
            # the old one. Holds end at the cut on both sides; the new shot is analysed now.
            self._analyse_newest()  # the old shot's last frame: nothing later is in its shot
            released = self._hold.flush()
            self._tracker.reset()
            self._rides.reset()
            self._followed = Regions.empty()
            self._plates_at = None
            self._views_at = None
            self.scene_cuts += 1
            force = True
        if rgb is None:
            return released, False
        scheduled = force or self.index % self.policy.detect_every == 0
        detect_now = (scheduled if self._gate is None
                      else self._gate.needs_detection(rgb, self._followed, scheduled))
        # The plates are searched on every other detection of the faces (`plates_every`), and
        # whenever something moved outside the tracked regions: what came in may be a car.
        self._plates_now = detect_now and (force or not self._slow or self._plates_at is None
                                           or self._gate is None or self._gate.moved
                                           or self.index - self._plates_at >= self.plates_every)
        self._light_now = (bool(self._light) and self._plates_now and not force and self._views_at is not None
                           and self.index - self._views_at < self.views_every)
        return released, detect_now

    def track(self, rgb: np.ndarray | None, item, *, detected: bool, found: Regions | None = None,
              flagged: str | None = None) -> list:
        """The last step of `push`: track ``found`` (``detect``'s answer; none when the
        detectors did not run, ``detected`` False), hold, and return the frames released."""
        found = Regions.empty() if found is None else found
        looked_for = None
        if flagged is not None:
            self._left_out = []  # obscured whole already
        elif not detected:
            self._left_out = list(self.detectors)
        elif not self._plates_now:
            self._left_out = list(self._slow)
        else:
            self._left_out = [d for d in self.detectors if self._light_now and id(d) in self._light]
        if detected:
            if self._gate is not None:
                self._gate.detected(trusted=flagged is None)
            self.detected_at = self.index if flagged is None else None
            self.frames_detected += 1
            if self._plates_now and flagged is None:
                self._plates_at = self.index
                if not self._light_now:
                    self._views_at = self.index
            if not self._plates_now:
                looked_for = {k for d in self._every for k in d.kinds}
        # A faulted frame was not looked at: like a skipped one, it must not count as a miss
        # (holds would end on a frame nobody saw).
        tracked = self._tracker.update(found, detected=detected and flagged is None, looked_for=looked_for)
        if self._gate is not None:
            # The motion check trusts only tracks that can follow their object between detections.
            self._followed = tracked.select(np.isin(tracked.track_id, self._tracker.steady_ids()))
        # The tracker returns the detections first, row for row: their ids are the observed ones.
        observed = frozenset(int(t) for t in tracked.track_id[:len(found)])
        # Plates linked to their vehicles, and carried on them where not detected (additive).
        tracked = self._rides.update(tracked, observed)
        pending = _Pending(_NO_PIXELS if rgb is None else rgb, self.index, item, flagged, observed)
        self.index += 1
        return self._hold.push(pending, tracked, None if rgb is None else (rgb.shape[1], rgb.shape[0]))

    def push(self, rgb: np.ndarray, item=None, *, force: bool = False) -> list:
        """Analyse the next frame (already checked and, with a look-ahead, copied);
        ``force`` runs the detectors whatever the schedule."""
        started = time.perf_counter()
        released, detect_now = self.plan(rgb, force=force)
        found, flagged = self.detect(rgb) if detect_now else (Regions.empty(), None)
        detected = time.perf_counter()
        out = released + self.track(rgb, item, detected=detect_now, found=found, flagged=flagged)
        # The motion check counts as detection: it is what decides not to detect.
        self.seconds["detect"] += detected - started
        self.seconds["track"] += time.perf_counter() - detected
        return out

    def predicted(self, index: int) -> Regions:
        """What is known now of frame ``index``, not analysed yet: every live track at its
        predicted box on that frame, grown by the frames since its last detection, and the
        plates their vehicles carry. Read-only."""
        return self._rides.carried(self._tracker.predicted(index - self.index + 1))

    def moved(self, rgb: np.ndarray | None = None) -> np.ndarray | None:
        """`MotionGate.moved_boxes` of ``rgb``, a frame after the last analysed one (default:
        the one last planned), against the tracks followed there; None without the motion
        check (``watch_motion``) or a reference."""
        return None if self._gate is None else self._gate.moved_boxes(self._followed, rgb)

    def flush(self) -> list:
        """Release every buffered frame (end of stream), the last one analysed in full first
        (`_analyse_newest`)."""
        self._analyse_newest()
        return self._hold.flush()

    def _analyse_newest(self) -> None:
        """Run the detectors the schedule left out (or ran light) on the newest buffered
        frame, before the hold releases it with nothing after (the stream's end, a scene
        cut): what they find is added to it and drawn back onto the frames before
        (`TwoSidedHold.add_to_newest`), beside what it holds; no later detection can reach
        it. Only those detectors run: a frame the people were looked for on gets no late
        person row (it has no track, and would cover a kept subject). (`fast` detects every
        3rd frame: a plate coming into view on a
        clip's last frame stayed readable. Running the detectors on it as a scheduled frame
        instead ended the holds of unconfirmed detections there, and showed another.) A
        fault here leaves the frame as the schedule left it."""
        last, detectors = self._hold.newest, self._left_out
        self._left_out = []
        if last is None or not detectors or last.rgb is _NO_PIXELS:
            return
        started = time.perf_counter()
        try:
            found = detect_all(detectors, last.rgb)
        except Exception:  # the frame keeps what its scheduled analysis gave it (see above)
            pass
        else:
            if len(detectors) == len(self.detectors):
                self.frames_detected += 1  # a frame no detector had looked at
            self._count(found)
            self._hold.add_to_newest(Regions(found.xyxy, found.score, found.kind, np.full(len(found), -1, np.int64)))
        self.seconds["detect"] += time.perf_counter() - started


@dataclass
class Analysis:
    """A whole clip's analysis (see `Analyser`), kept to redact it in a second pass."""

    records: list  # redact.pipeline.subjects.FrameRecord per frame index
    detections: dict
    frames_detected: int
    hold_frames: int
    lookahead_frames: int
    seconds: dict  # busy time of the analysis stages (see `Analyser.seconds`)


class Redactor:
    """Streaming redaction for frames pushed one at a time (camera apps, video files).

    Parameters
    ----------
    policy : Policy
        What to find and how to obscure it. Privacy and keep zones apply live; an incident's
        subjects need the whole clip (`redact.jobs.files.redact_video` analyses it first).
    fps : Fraction
        Frame rate, to turn the policy's hold and look-ahead seconds into frames.
    detectors : list, optional
        Ready detectors; built from ``policy.kinds`` and ``policy.profile`` when omitted (a
        missing model raises `redact.detectors.models.ModelMissingError` here, before any frame).
    models_dir : path, optional
        Model cache folder.
    seed : int, optional
        Noise seed; a fresh secret random one by default so noise cannot be subtracted.
    replay : Analysis, optional
        Redact from a finished analysis instead of detecting (frame ``i`` pushed is the
        analysis' frame ``i``); ``subjects`` then says which subjects each frame shows.
    subjects : redact.pipeline.subjects.SubjectPlan, optional
        With ``replay``: per-frame subjects shown, and frames flagged for review.

    Notes
    -----
    `push` returns the frames that are final, in order: with a look-ahead of L frames, a
    frame comes out L frames after it went in (latency L; `latency` says it). `flush`
    returns the rest at end of stream. No frame is dropped or returned unredacted. A frame
    on which a detector fails is obscured whole and flagged (fail closed), and its tracks
    are held as on a frame without detection. A zone lying wholly outside the frame raises
    ValueError on the first frame. One Redactor serves one stream from one thread at a time;
    use one per camera: a frame of another size than the first, or a push after `flush`,
    raises (ValueError, RuntimeError).

    Examples
    --------
    A live stream (no look-ahead) with a privacy zone over the top-left quarter; real use
    leaves ``detectors`` out so the policy's detectors are built:

    >>> import numpy as np
    >>> import redact
    >>> policy = redact.Policy(lookahead_frames=0, zones=(redact.Zone(0, 0, 0.5, 0.5),))
    >>> r = redact.Redactor(policy, fps=30, detectors=[])
    >>> frame = np.full((40, 60, 3), 200, np.uint8)
    >>> [done] = r.push(frame)
    >>> r.latency, done.index, bool((done.rgb[5, 5] != 200).any()), bool((done.rgb[35, 55] == 200).all())
    (0, 0, True, True)
    """

    #: Run the motion check whatever the cadence (`Analyser`'s ``watch_motion``).
    _watch_motion = False

    def __init__(self, policy: Policy = Policy(), *, fps=Fraction(30), detectors=None,
                 models_dir=None, seed: int | None = None, replay: Analysis | None = None,
                 subjects=None):
        self.policy = policy
        self.detectors = (detectors_for(policy, models_dir)
                          if detectors is None else list(detectors))
        self._replay = replay
        self._subjects = subjects
        if policy.incident is not None and policy.incident.subjects and subjects is None:
            raise ValueError("Redactor: an incident with subjects needs the whole clip first; use "
                             "redact.jobs.files.redact_video (or pass replay= and subjects=)")
        # Built in replay mode too (cheap, unused there), so every path has one to ask.
        self._analyser = Analyser(policy, fps, self.detectors, watch_motion=self._watch_motion)
        self._source: Analysis | Analyser = replay if replay is not None else self._analyser
        self.hold_frames, self.lookahead_frames = self._source.hold_frames, self._source.lookahead_frames
        self._styles = policy.style_map
        self._person_style = self._styles.get(Kind.PERSON, self._styles[None])  # the mask's style
        self._seed = secrets.randbits(63) if seed is None else int(seed)
        self._index = 0
        self._frame_size: tuple | None = None  # (height, width) of the stream's frames
        self._flushed = False
        self._keep_zones: list | None = None
        self.stats = _Stats()
        self._seconds = {"policy": 0.0, "obscure": 0.0}

    @property
    def latency(self) -> int:
        """Frames a pushed frame waits before it comes out (the look-ahead)."""
        return 0 if self._replay is not None else self.lookahead_frames

    @property
    def frames_detected(self) -> int:
        return self._source.frames_detected

    @property
    def seconds(self) -> dict:
        """Busy time so far of each stage this redactor runs, in seconds: ``detect`` (with
        the motion check), ``track`` (with the hold), ``policy`` and ``obscure``; with
        ``replay``, detect and track are the analysis pass's. For benchmarks; the stages of
        a file job overlap in threads, so their sum can exceed the wall time."""
        return {**self._source.seconds, **self._seconds}

    @property
    def models(self) -> list:
        """The detectors' models as the manifest records them (see `describe_models`)."""
        return describe_models(self.detectors)

    def _zones(self):
        incident = self.policy.incident
        return self.policy.zones + (incident.privacy_zones if incident is not None else ())

    def push(self, rgb: np.ndarray, item=None) -> list[RedactedFrame]:
        """Add the next frame (RGB uint8); returns the frames that are now final.

        The frame is copied while it waits in the look-ahead: camera apps reuse their
        buffers, and a buffer overwritten by a later frame must never be what gets obscured.
        """
        return [self.finish(pending, regions) for pending, regions in self.analyse(rgb, item)]

    def analyse(self, rgb: np.ndarray, item=None, *, owned: bool = False) -> list[tuple[_Pending, Regions]]:
        """The first half of `push`: ``(pending, regions)`` of the frames now final in what
        they must obscure, not obscured yet.

        Every pair goes to `finish`, in order, each exactly once; `finish` may run on another
        thread than this one (a file job obscures on its encoder's thread, off the
        detection's critical path), one thread at a time. ``owned`` says the caller hands
        ``rgb`` over, nobody writing to it again (a file job's decoder makes a new array per
        frame): it waits in the look-ahead as it is, without `push`'s copy (at 1080p 6 MB
        copied and allocated a frame, in the detection's thread).
        """
        rgb = self._accept(rgb)
        if self._replay is not None:
            if self._index >= len(self._replay.records):
                raise RuntimeError(f"frame {self._index} was not in the analysis of {len(self._replay.records)} "
                                   "frames: the file changed while it was redacted")
            record = self._replay.records[self._index]
            pending = _Pending(rgb, self._index, item, record.flagged, record.observed)
            self._index += 1
            return [(pending, record.regions)]
        # Obscured in place once released: a handed-over frame is kept as it is only when it
        # can be (a decoder's frame of an odd width is a strided view: not C-contiguous).
        if self.lookahead_frames and not (owned and rgb.flags.c_contiguous and rgb.flags.writeable):
            rgb = rgb.copy()
        self._index += 1
        return self._owned(self._analyser.push(rgb, item))

    def _owned(self, analysed: list) -> list:
        """``analysed`` with its frames marked as this redactor's own copies (with a
        look-ahead, see `push`): `finish` then obscures them in place, with no second frame."""
        if self.lookahead_frames:
            for pending, _ in analysed:
                pending.own_pixels = True
        return analysed

    def _accept(self, rgb: np.ndarray) -> np.ndarray:
        """The next frame checked (see `check_frame`) against the stream: its size, the zones."""
        if self._flushed:
            raise RuntimeError("push after flush(): the stream has ended; use a new Redactor for a new stream")
        rgb = check_frame(rgb)
        if rgb.shape[:2] != self._frame_size:
            height, width = rgb.shape[:2]
            if self._frame_size is not None:
                # Tracks, holds and the motion check are in this stream's pixels: carried into
                # frames of another size they would obscure the wrong places.
                raise ValueError(f"frame {self._index} is {width}x{height}, which does not match the stream size "
                                 f"{self._frame_size[1]}x{self._frame_size[0]}; one Redactor serves one stream: "
                                 "use a new Redactor for frames of another size")
            # A zone that misses the frame would obscure nothing: a wrong unit or size, not a wish.
            for zone in self._zones():
                zone.check_inside(width, height)
            incident = self.policy.incident
            if incident is not None:
                incident.check_frame(width, height)
                self._keep_zones = incident.keep_polygons_px(width, height)
            self._frame_size = rgb.shape[:2]
        return rgb

    def flush(self) -> list[RedactedFrame]:
        """Finish every buffered frame (end of stream); a later `push` is refused."""
        return [self.finish(pending, regions) for pending, regions in self.analyse_end()]

    def analyse_end(self) -> list[tuple[_Pending, Regions]]:
        """The first half of `flush`: every buffered frame as `analyse` returns them."""
        self._flushed = True
        if self._replay is not None:
            return []
        return self._owned(self._analyser.flush())

    def finish(self, pending: _Pending, regions: Regions) -> RedactedFrame:
        """The second half of `push`: the policy (`compose`) and the obscuring of one frame
        `analyse` returned, counted in the manifest's figures."""
        height, width = pending.rgb.shape[:2]
        shown = review = None
        if self._subjects is not None:
            shown = self._subjects.frames.get(pending.index)
            review = self._subjects.review.get(pending.index)
        started = time.perf_counter()
        final, mask = compose(regions, width, height, zones=self._zones(), subjects=shown,
                              keep_zones=self._keep_zones or (),
                              faulted=bool(pending.flagged) if pending.faulted is None else pending.faulted,
                              observed=pending.observed, padding=self._person_style.padding)
        # Vehicles found for the plates (and kept subjects) take part in the policy stage;
        # they are obscured whole only when asked for.
        final = final.select(obscured(final, self.policy.kinds))
        composed = time.perf_counter()
        frame_seed = (self._seed + pending.index * 0x9E3779B1) & ((1 << 63) - 1)
        out = obscure(pending.rgb, final, self._styles, mask=mask, seed=frame_seed,
                      out=pending.rgb if pending.own_pixels else None)
        self._seconds["policy"] += composed - started
        self._seconds["obscure"] += time.perf_counter() - composed
        if shown:
            self._count_visible(pending, out, regions, shown)
        done = RedactedFrame(out, final, pending.index, pending.item, pending.flagged or review, pending.observed)
        self.stats.add(done)
        return done

    def _count_visible(self, pending: _Pending, out: np.ndarray, regions: Regions, shown) -> None:
        """Record the subjects a frame really shows: a privacy zone, a keep zone's outside or
        a bystander in front can hide a subject the plan shows, and the manifest must not say
        "shown" then. Judged on the pixels: the share of its box left as it was."""
        height, width = out.shape[:2]
        for tid in shown.people | shown.plates | shown.vehicles:
            rows = np.flatnonzero(regions.track_id == tid)
            if not len(rows):
                continue
            [(x0, y0, x1, y1)] = pixel_boxes(regions.xyxy[rows[:1]], width, height)
            if x1 <= x0 or y1 <= y0:
                continue
            same = (out[y0:y1, x0:x1] == pending.rgb[y0:y1, x0:x1]).all(axis=2)
            if float(same.mean()) >= VISIBLE_SHARE:
                self.stats.subjects_visible.add((pending.index, int(tid)))

    def subjects_shown(self, plan) -> list:
        """``plan.picked`` (see `redact.pipeline.subjects.SubjectPlan`) with each subject's frames
        counted as this redactor showed them: ``frames_shown`` where at least
        `VISIBLE_SHARE` of its box was left as it was, ``frames_covered`` where the plan
        showed it and the frame did not (a privacy zone, outside a keep zone, a bystander in
        front of it)."""
        out = []
        for picked, planned in zip(plan.picked, plan.shown):
            visible = sum((i, tid) in self.stats.subjects_visible for i, tid in planned.items())
            out.append({**picked, "frames_shown": visible, "frames_covered": len(planned) - visible})
        return out

    def manifest(self, kind: str) -> Manifest:
        """A manifest of what this redactor has done so far (hashes left for the caller)."""
        source = self._source
        return Manifest(
            kind=kind, tool_version=__version__, policy=self.policy, models=self.models,
            frames_in=self._index, frames_out=self.stats.frames_out,
            timing={"hold_frames": self.hold_frames, "lookahead_frames": self.lookahead_frames,
                    "detect_every": self.policy.detect_every, "frames_detected": source.frames_detected},
            counts=self.stats.counts(source.detections), tracks=self.stats.tracks(),
            flagged_frames=list(self.stats.flagged),
        )
