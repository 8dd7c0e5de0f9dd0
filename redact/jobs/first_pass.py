"""The first pass of a clip whose incident names subjects: every frame detected and tracked,
then each subject picked and followed, before the second pass redacts (`redact.jobs.files`)."""
from __future__ import annotations

import math

from ..core.policy import Policy
from ..core.types import Kind, check_frame
from ..media.video import VideoReader
from ..media.video.window import WindowCut
from ..pipeline.looks import appearance
from ..pipeline.redactor import Analyser, Analysis
from ..pipeline.subjects import FrameRecord, plan_subjects, resolve_numbers


def analyse_clip(src, policy: Policy, info, detectors, models_dir):
    """First pass of a clip whose incident names subjects (see `analyse_frames`)."""
    incident = policy.incident
    if incident is None:
        raise ValueError("_analyse: the policy has no incident")
    cut = WindowCut(incident.window, info.time_base)
    with VideoReader(src) as reader:
        frames = ((frame.rgb, cut.times[frame.index]) for frame in cut(reader.demux(with_audio=False)))
        result = analyse_frames(frames, policy, info.fps, detectors, info.width, info.height, models_dir)
        if not cut.ended_early:
            reader.check_complete()
    return result


def analyse_frames(frames, policy: Policy, fps, detectors, width: int, height: int, models_dir=None, *,
                   still: bool = False):
    """Detect and track every ``(rgb, seconds)`` frame (no pixels kept but those of the frames
    where a subject is given by number, for `redact.pipeline.subjects.resolve_numbers`), then pick and
    follow each subject of ``policy.incident``. Returns the `Analysis` a second pass redacts
    from (`Redactor` with ``replay``) and the per-frame `SubjectPlan`. ``still``: the one frame
    is a photo (numbers resolve as `redact pick` numbers a photo's people)."""
    incident = policy.incident
    if incident is None:
        raise ValueError("analyse_frames: the policy has no incident to pick subjects from")
    analyser = Analyser(policy, fps, detectors)
    records: list = []
    times: list = []
    step = 1 / float(fps)
    anchors = [a for s in incident.subjects for a in s.every_anchor()]
    numbered = [a for a in anchors if a.number is not None]
    nearest: dict = {}  # numbered subject -> (distance in s, its frame's pixels)

    def keep(pairs):
        for pending, regions in pairs:
            looks = {}
            for row in (regions.kind == Kind.PERSON).nonzero()[0]:
                tid = int(regions.track_id[row])
                look = appearance(pending.rgb, regions.xyxy[row]) if tid in pending.observed else None
                if look is not None:
                    looks[tid] = look
            records.append(FrameRecord(regions, times[pending.index], pending.flagged, pending.observed, looks))

    for rgb, seconds in frames:
        times.append(seconds)
        # The frames where subjects are picked are always analysed, whatever the schedule.
        force = any(abs(seconds - a.t) <= step for a in anchors)
        rgb = check_frame(rgb)
        for subject in numbered:
            # Only frames within a step of t can be the nearest one `pick` uses: copy no others.
            distance = abs(seconds - subject.t)
            if distance <= step and distance < nearest.get(subject, (math.inf,))[0]:
                nearest[subject] = (distance, rgb.copy())
        keep(analyser.push(rgb.copy() if analyser.lookahead_frames else rgb, force=force))
    keep(analyser.flush())
    analysis = Analysis(records, analyser.detections, analyser.frames_detected, analyser.hold_frames,
                        analyser.lookahead_frames, dict(analyser.seconds))
    if nearest:
        incident = resolve_numbers(incident, {s: rgb for s, (_, rgb) in nearest.items()}, models_dir, still=still)
    return analysis, plan_subjects(records, incident, width, height)
