"""Detect once, track many times: PETS09 identity figures without re-running the networks.

Detection is the slow stage (seconds a frame here) and does not depend on the tracker or
the subject logic. ``detect`` runs the library's detectors (the kinds an incident uses) over
the first N frames as the pipeline does (`redact.detectors.detect_all`: the plates read the
vehicles found, the heads settle against the faces) and keeps their output; ``replay``
pushes those detections through the library's own analysis stage
(`redact.pipeline.redactor.Analyser`: tracker, holds, scene cuts, plate rides) and prints,
per ground-truth person, how many tracks carried it and how often the track carrying it
changed; it also writes the analysis in the form
``eval_incident.py --cache`` reads, so the incident figures follow from the same run::

    python benchmarks/track_replay.py detect /tmp/pets200.det --frames 200
    python benchmarks/track_replay.py replay /tmp/pets200.det --analysis /tmp/pets200.pkl
    python benchmarks/eval_incident.py ../shared/data/people/pets09_s2l1 \\
        ../shared/data/videos/opencv_vtest_pedestrians.avi --frames 200 --cache /tmp/pets200.pkl

A person is matched to the detected (not held) person row of largest IoU >= 0.5 in each
frame; "switches" counts changes of that row's track id along the person's frames.
"""
from __future__ import annotations

import argparse
import pickle
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_incident import load_truth  # noqa: E402

from redact.core.geometry import iou_matrix  # noqa: E402
from redact.core.policy import Policy  # noqa: E402
from redact.core.profile import Profile  # noqa: E402
from redact.core.types import Kind  # noqa: E402
from redact.detectors import build_detectors, detect_all  # noqa: E402
from redact.media.video import VideoReader  # noqa: E402
from redact.pipeline.looks import appearance  # noqa: E402
from redact.pipeline.redactor import Analyser, Analysis  # noqa: E402
from redact.pipeline.subjects import FrameRecord  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
VIDEO = DATA / "videos" / "opencv_vtest_pedestrians.avi"
TRUTH = DATA / "people" / "pets09_s2l1"


class _Cached:
    """A detector that gives back what the detectors found together, frame after frame."""

    def __init__(self, found: list):
        self._found, self._next = found, 0

    def detect(self, rgb):
        regions = self._found[self._next]
        self._next += 1
        return regions


def detect(out: Path, frames: int, profile: Profile) -> None:
    kinds = {Kind.FACE, Kind.PLATE, Kind.PERSON}
    detectors = build_detectors(kinds, profile)
    found = []
    with VideoReader(VIDEO) as reader:
        for frame in reader:
            if frame.index >= frames:
                break
            # As the pipeline detects (`Analyser`): the plate detector reads the vehicles found,
            # the heads settle against the faces.
            found.append(detect_all(detectors, frame.rgb))
    out.write_bytes(pickle.dumps({"profile": profile.value, "found": found}))
    print(f"{len(found)} frames detected with {[type(d).__name__ for d in detectors]} -> {out}")


def replay(cache: Path, analysis_out: Path | None, why: bool = False) -> None:
    data = pickle.loads(cache.read_bytes())
    found, profile = data["found"], Profile(data["profile"])
    with VideoReader(VIDEO) as reader:
        fps = reader.info.fps
        analyser = Analyser(Policy(profile=profile), fps, [_Cached(found)])
        records: list = []

        def keep(pairs):
            for pending, regions in pairs:
                looks = {}
                for row in np.flatnonzero(regions.kind == Kind.PERSON):
                    tid = int(regions.track_id[row])
                    look = appearance(pending.rgb, regions.xyxy[row]) if tid in pending.observed else None
                    if look is not None:
                        looks[tid] = look
                records.append(FrameRecord(regions, pending.index / float(fps), pending.flagged, pending.observed,
                                           looks))

        for frame in reader:
            if frame.index >= len(found):
                break
            keep(analyser.push(frame.rgb.copy(), force=True))
        keep(analyser.flush())
    if analysis_out is not None:
        analysis = Analysis(records, analyser.detections, analyser.frames_detected, analyser.hold_frames,
                            analyser.lookahead_frames, dict(analyser.seconds))
        key = f"{VIDEO.name}-{len(found)}-{profile.value}"  # the key eval_incident.py checks
        analysis_out.write_bytes(pickle.dumps({"key": key, "analysis": analysis, "seconds": 0.0}))
    truth = load_truth(TRUTH, len(records))
    carried = defaultdict(list)
    for i, record in enumerate(records):
        regions = record.regions
        rows = np.flatnonzero((regions.kind == Kind.PERSON) & np.isin(regions.track_id, list(record.observed)))
        if not truth[i] or not len(rows):
            continue
        gt = np.array([[x, y, x + w, y + h] for _, (x, y, w, h) in truth[i]], np.float32)
        iou = iou_matrix(gt, regions.xyxy[rows])
        for k, (person, _) in enumerate(truth[i]):
            best = int(np.argmax(iou[k]))
            if iou[k, best] >= 0.5:
                carried[person].append((i, int(regions.track_id[rows[best]])))
    tracks = [len({tid for _, tid in seen}) for seen in carried.values()]
    switches = [sum(a != b for (_, a), (_, b) in zip(seen, seen[1:])) for seen in carried.values()]
    print(f"{len(records)} frames, {len(carried)} people ({profile.value}): tracks per person "
          f"{np.mean(tracks):.2f}, switches per person {np.mean(switches):.2f}")
    if why:
        print("switches by cause:")
        for cause, n in Counter(_switch_causes(records, carried)).most_common():
            print(f"  {cause:<60} {n}")


def _switch_causes(records: list, carried: dict) -> list:
    """Why the track carrying a person changed, one cause per switch: a new track after the
    old one went unseen for a while (its gap in frames), a new track beside a live one (a
    second box of the person), or a track that already existed (another person's: a swap,
    or the person's own earlier track found again)."""
    born: dict = {}
    for i, record in enumerate(records):
        for tid in record.observed:
            born.setdefault(tid, i)
    causes = []
    for seen in carried.values():
        own = set()
        for (i0, a), (i1, b) in zip(seen, seen[1:]):
            own.add(a)
            if a == b:
                continue
            alive = (records[i1].regions.track_id == a).any()
            if born.get(b) == i1:
                gap = i1 - i0 - 1
                causes.append(f"new track, the old one {'still output' if alive else 'ended'}, "
                              f"{'no gap' if gap == 0 else 'gap 1-5' if gap <= 5 else 'gap > 5'}")
            elif b in own:
                causes.append("back to its own earlier track")
            else:
                causes.append("another track that existed already")
    return causes


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="verb", required=True)
    d = sub.add_parser("detect")
    d.add_argument("cache", type=Path)
    d.add_argument("--frames", type=int, default=200)
    d.add_argument("--profile", type=Profile, default=Profile.BALANCED)
    r = sub.add_parser("replay")
    r.add_argument("cache", type=Path)
    r.add_argument("--analysis", type=Path, help="write the analysis for eval_incident.py --cache")
    r.add_argument("--why", action="store_true", help="tally the switches by cause")
    args = p.parse_args(argv)
    if args.verb == "detect":
        detect(args.cache, args.frames, args.profile)
    else:
        replay(args.cache, args.analysis, args.why)
    return 0


if __name__ == "__main__":
    sys.exit(main())
