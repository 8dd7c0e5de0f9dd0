"""The redaction pipeline: a streaming `Redactor`, and whole-file jobs built on it.

Frames flow one way: detect -> track (additive) -> two-sided hold -> zones -> obscure. The
`Redactor` keeps at most ``lookahead + 1`` frames, so memory does not grow with the clip.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from . import __version__
from .detectors import build_detectors, describe_models
from .motion import MotionGate
from .policy import Policy
from .report import Manifest
from .types import Kind, Regions


@dataclass
class RedactedFrame:
    """One finished frame: the obscured pixels, what was obscured, and the caller's item."""

    rgb: np.ndarray
    regions: Regions
    index: int
    item: object = None
    flagged: str | None = None


@dataclass
class _Pending:
    rgb: np.ndarray
    index: int
    item: object
    flagged: str | None


@dataclass
class _Stats:
    detections: dict = field(default_factory=dict)
    frames_with: dict = field(default_factory=dict)
    spans: dict = field(default_factory=dict)  # track id -> [kind, first, last]
    flagged: list = field(default_factory=list)
    frames_out: int = 0

    def add(self, frame: RedactedFrame) -> None:
        self.frames_out += 1
        for k in set(int(k) for k in frame.regions.kind):
            self.frames_with[k] = self.frames_with.get(k, 0) + 1
        for tid, k in zip(frame.regions.track_id, frame.regions.kind):
            if tid < 0:
                continue
            span = self.spans.setdefault(int(tid), [int(k), frame.index, frame.index])
            span[2] = frame.index
        if frame.flagged:
            self.flagged.append({"frame": frame.index, "reason": frame.flagged})

    def counts(self) -> dict:
        out = {}
        for kind in Kind:
            out[kind.name.lower()] = {
                "detections": self.detections.get(int(kind), 0),
                "tracks": sum(1 for s in self.spans.values() if s[0] == int(kind)),
                "frames": self.frames_with.get(int(kind), 0),
            }
        return out

    def tracks(self) -> list:
        return [{"id": tid, "kind": Kind(s[0]).name.lower(), "first_frame": s[1], "last_frame": s[2]}
                for tid, s in sorted(self.spans.items())]


class Redactor:
    """Streaming redaction for frames pushed one at a time (camera apps, video files).

    Parameters
    ----------
    policy : Policy
        What to find and how to obscure it.
    fps : Fraction
        Frame rate, to turn the policy's hold and look-ahead seconds into frames.
    detectors : list, optional
        Ready detectors; built from ``policy.kinds`` and ``policy.profile`` when omitted (a
        missing model raises `redact.models.ModelMissingError` here, before any frame).
    models_dir : path, optional
        Model cache folder.
    seed : int, optional
        Noise seed; a fresh secret random one by default so noise cannot be subtracted.

    Notes
    -----
    `push` returns the frames that are final, in order: with a look-ahead of L frames, a
    frame comes out L frames after it went in. `flush` returns the rest at end of stream.
    A frame on which a detector fails is obscured whole and flagged (fail closed), and its
    tracks are held as on a frame without detection. A zone lying wholly outside the frame
    raises ValueError on the first frame (and on any frame of a new size).
    """

    def __init__(self, policy: Policy = Policy(), *, fps=Fraction(30), detectors=None,
                 models_dir=None, seed: int | None = None):
        from .tracking import Tracker, TwoSidedHold

        self.policy = policy
        fps = Fraction(fps)
        self.hold_frames, self.lookahead_frames = policy.in_frames(fps)
        self.detectors = (build_detectors(policy.kinds, policy.profile, models_dir)
                          if detectors is None else list(detectors))
        self._tracker = Tracker(hold_frames=self.hold_frames)
        self._gate = MotionGate() if policy.detect_every > 1 else None
        self._followed = Regions.empty()
        self.frames_detected = 0
        self._hold = TwoSidedHold(self.lookahead_frames)
        self._styles = policy.style_map
        self._seed = secrets.randbits(63) if seed is None else int(seed)
        self._index = 0
        self._frame_size = None  # (height, width) the zones were last checked against
        self.stats = _Stats()

    @property
    def models(self) -> list:
        """The detectors' models as the manifest records them (see `describe_models`)."""
        return describe_models(self.detectors)

    def _detect(self, rgb: np.ndarray) -> tuple[Regions, str | None]:
        try:
            found = Regions.concat([d.detect(rgb) for d in self.detectors])
        except Exception as exc:  # fail closed: any detector fault obscures the whole frame
            # The reason names the error, not the frame's content (the manifest is content-free).
            return Regions.empty(), f"detector failed: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        for k in found.kind:
            self.stats.detections[int(k)] = self.stats.detections.get(int(k), 0) + 1
        return found, None

    def push(self, rgb: np.ndarray, item=None) -> list[RedactedFrame]:
        """Add the next frame (RGB uint8); returns the frames that are now final.

        The frame is copied while it waits in the look-ahead: camera apps reuse their
        buffers, and a buffer overwritten by a later frame must never be what gets obscured.
        """
        from .ops import check_frame

        rgb = check_frame(rgb)
        if rgb.shape[:2] != self._frame_size:
            # A zone that misses the frame would obscure nothing: a wrong unit or size, not a wish.
            height, width = rgb.shape[:2]
            for zone in self.policy.zones:
                zone.check_inside(width, height)
            self._frame_size = rgb.shape[:2]
        if self.lookahead_frames:
            rgb = rgb.copy()
        scheduled = self._index % self.policy.detect_every == 0
        detect_now = (scheduled if self._gate is None
                      else self._gate.needs_detection(rgb, self._followed, scheduled))
        found, flagged = Regions.empty(), None
        if detect_now:
            found, flagged = self._detect(rgb)
            if self._gate is not None:
                self._gate.detected(trusted=flagged is None)
            self.frames_detected += 1
        # A faulted frame was not looked at: like a skipped one, it must not count as a miss
        # (holds would end on a frame nobody saw).
        tracked = self._tracker.update(found, detected=detect_now and flagged is None)
        if self._gate is not None:
            # The motion check trusts only tracks that can follow their object between detections.
            self._followed = tracked.select(np.isin(tracked.track_id, self._tracker.steady_ids()))
        pending = _Pending(rgb, self._index, item, flagged)
        self._index += 1
        return [self._finish(p, r) for p, r in self._hold.push(pending, tracked)]

    def flush(self) -> list[RedactedFrame]:
        """Finish every buffered frame (end of stream)."""
        return [self._finish(p, r) for p, r in self._hold.flush()]

    def _zones(self, width: int, height: int) -> Regions:
        boxes = [z.box(width, height) for z in self.policy.zones]
        return Regions.from_boxes(np.array(boxes, np.float32).reshape(-1, 4), kind=Kind.OTHER)

    def _finish(self, pending: _Pending, regions: Regions) -> RedactedFrame:
        from .ops import obscure

        height, width = pending.rgb.shape[:2]
        parts = [regions, self._zones(width, height)]
        if pending.flagged:
            parts.append(Regions.from_boxes([[0, 0, width, height]], kind=Kind.OTHER))
        final = Regions.concat(parts)
        frame_seed = (self._seed + pending.index * 0x9E3779B1) & ((1 << 63) - 1)
        out = obscure(pending.rgb, final, self._styles, seed=frame_seed)
        done = RedactedFrame(out, final, pending.index, pending.item, pending.flagged)
        self.stats.add(done)
        return done

    def manifest(self, kind: str) -> Manifest:
        """A manifest of what this redactor has done so far (hashes left for the caller)."""
        return Manifest(
            kind=kind, tool_version=__version__, policy=self.policy, models=self.models,
            frames_in=self._index, frames_out=self.stats.frames_out,
            timing={"hold_frames": self.hold_frames, "lookahead_frames": self.lookahead_frames,
                    "detect_every": self.policy.detect_every, "frames_detected": self.frames_detected},
            counts=self.stats.counts(), tracks=self.stats.tracks(),
            flagged_frames=list(self.stats.flagged),
        )
