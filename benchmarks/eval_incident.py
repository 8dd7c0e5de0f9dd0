"""Keep one person, hide the rest: measured on PETS09-S2L1, whose people carry track ids.

Each ground-truth track in turn is the incident's subject, picked the way a user would: a
point at its box centre, at a frame where it stands clear of everyone else. The clip is
analysed once (detect -> track -> hold, the library's own first pass: detection does not
depend on who the subject is), then for every subject the library picks and follows it and
the policy stage composes each frame's redaction, rasterised by the library's kernels.

Reported per subject and in total:

* subject visible: share of the subject's ground-truth frames where under 20% of its box
  is obscured;
* bystanders obscured: share of every other person's boxes (person-frames) with at least
  80% obscured — the privacy side, target 99.5%;
* frames flagged for review, and frames where the shown subject box is another person
  (an identity switch that would show a bystander).

    python benchmarks/eval_incident.py ../shared/data/people/pets09_s2l1 \\
        ../shared/data/videos/opencv_vtest_pedestrians.avi [--frames N] [--profile P] [--oracle]

``--oracle`` replaces the detectors with the ground truth (one box per person, the true
track ids, every frame detected): what the subject logic and the policy stage reach when
detection and tracking are perfect, so the gap to the target can be placed.
"""
from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_detect import covered_fraction, redaction_masks  # noqa: E402

from redact.core.geometry import iou_matrix  # noqa: E402
from redact.core.incident import Incident, Subject  # noqa: E402
from redact.core.policy import Policy  # noqa: E402
from redact.core.profile import Profile  # noqa: E402
from redact.core.types import Kind, Regions  # noqa: E402
from redact.detectors import build_detectors  # noqa: E402
from redact.jobs.first_pass import analyse_frames  # noqa: E402
from redact.pipeline.compose import compose  # noqa: E402
from redact.pipeline.subjects import FrameRecord, appearance, plan_subjects  # noqa: E402

VISIBLE_BELOW = 0.2
HIDDEN_FROM = 0.8


def load_truth(dataset: Path, frames: int) -> list:
    """Per decoded frame: list of (track id, xywh) of labelled, non-ignored people."""
    images = json.loads((dataset / "gt_boxes.json").read_text())["images"]
    truth = [[] for _ in range(frames)]
    for key, entry in images.items():
        index = int(key.rsplit("/", 1)[1]) - 1
        if index < frames:
            truth[index] = [(b["track_id"], np.array(b["bbox"], float)) for b in entry["boxes"] if not b["ignore"]]
    return truth


def clear_frame(truth: list, track: int):
    """The frame where ``track`` stands farthest from everyone else (box at least 40 px tall)."""
    best, best_gap = None, -1.0
    for i, people in enumerate(truth):
        mine = [b for t, b in people if t == track]
        if not mine or mine[0][3] < 40:
            continue
        x, y, w, h = mine[0]
        gaps = [max(abs((bx + bw / 2) - (x + w / 2)) - (bw + w) / 2, abs((by + bh / 2) - (y + h / 2)) - (bh + h) / 2)
                for t, (bx, by, bw, bh) in people if t != track]
        gap = min(gaps) if gaps else 1e9
        if gap > best_gap:
            best, best_gap = i, gap
    return best, best_gap


def oracle_analysis(reader, truth: list, total: int, fps: float) -> SimpleNamespace:
    """Frame records as a perfect detector and tracker would give them (see ``--oracle``)."""
    records = []
    for frame in reader:
        if frame.index >= total:
            break
        people = truth[frame.index]
        xyxy = np.array([[x, y, x + bw, y + bh] for _, (x, y, bw, bh) in people], np.float32).reshape(-1, 4)
        ids = np.array([t for t, _ in people], np.int64)
        regions = Regions.from_boxes(xyxy, kind=Kind.PERSON)
        regions = Regions(regions.xyxy, regions.score, regions.kind, ids)
        looks = {int(t): look for t, b in zip(ids, xyxy) if (look := appearance(frame.rgb, b)) is not None}
        records.append(FrameRecord(regions, frame.index / fps, None, frozenset(int(t) for t in ids), looks))
    return SimpleNamespace(records=records)


def iou_xyxy(a, b) -> float:
    """IoU of two ``xyxy`` boxes."""
    return float(iou_matrix([a], [b])[0, 0])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dataset", type=Path)
    p.add_argument("video", type=Path)
    p.add_argument("--frames", type=int, default=0, help="first N frames only (0: all)")
    p.add_argument("--profile", type=Profile, default=Profile.BALANCED)
    p.add_argument("--models-dir", type=Path)
    p.add_argument("--oracle", action="store_true", help="ground-truth boxes and ids as the detections")
    p.add_argument("--cache", type=Path, help="keep the analysis here (pickle) and reuse it: the policy "
                   "stage and the subject logic can then be re-measured without detecting again")
    args = p.parse_args(argv)

    from redact.media.video import VideoReader

    reader = VideoReader(args.video)
    info = reader.info
    total = args.frames or info.declared_frames
    truth = load_truth(args.dataset, total)
    tracks = sorted({t for people in truth for t, _ in people})
    picks = {t: clear_frame(truth, t) for t in tracks}
    picks = {t: p for t, p in picks.items() if p[0] is not None}
    fps = float(info.fps)
    subjects = tuple(Subject(t=i / fps, point=(b[0] + b[2] / 2, b[1] + b[3] / 2))
                     for t, (i, _) in picks.items() for tt, b in truth[i] if tt == t)
    policy = Policy(profile=args.profile, incident=Incident(subjects=subjects))
    key = f"{args.video.name}-{total}-{args.profile.value}"
    cached = args.cache is not None and args.cache.is_file() and pickle.loads(args.cache.read_bytes())
    if args.oracle:
        started = time.perf_counter()
        analysis = oracle_analysis(reader, truth, total, fps)
        analysed = time.perf_counter() - started
    elif cached and cached["key"] == key:
        analysis, analysed = cached["analysis"], cached["seconds"]
    else:
        detectors = build_detectors(policy.kinds, policy.profile, args.models_dir)
        started = time.perf_counter()
        frames = ((f.rgb, f.index / fps) for f in reader if f.index < total)
        analysis, _ = analyse_frames(frames, policy, info.fps, detectors, info.width, info.height)
        analysed = time.perf_counter() - started
        if args.cache is not None:
            args.cache.write_bytes(pickle.dumps({"key": key, "analysis": analysis, "seconds": analysed}))
    reader.close()
    records = analysis.records
    h, w = info.height, info.width
    print(f"PETS09-S2L1, {len(records)} frames {w}x{h}, profile {args.profile.value}: analysis "
          f"{analysed / len(records) * 1000:.0f} ms/frame (faces, plates, people)")
    print(f"{'track':>5} {'pick':>5} {'frames':>6} {'visible':>8} {'bystanders hidden':>18} {'flagged':>7} "
          f"{'swaps':>5}")
    sums = np.zeros(5)
    misses = []
    for track, (start, gap) in picks.items():
        box = next(b for t, b in truth[start] if t == track)
        subject = Subject(t=start / fps, point=(box[0] + box[2] / 2, box[1] + box[3] / 2))
        incident = Incident(subjects=(subject,))
        try:
            plan = plan_subjects(records, incident, w, h)
        except ValueError as exc:
            print(f"{track:>5} {start:>5}  not picked: {exc}")
            continue
        seen = visible = others = hidden = swaps = 0
        for i, record in enumerate(records):
            if not truth[i]:
                continue
            final, mask = compose(record.regions, w, h, subjects=plan.frames.get(i), faulted=bool(record.flagged),
                                  observed=record.observed)
            hidden_px, _ = redaction_masks(final, h, w)
            if mask is not None:
                hidden_px |= mask
            ids = [t for t, _ in truth[i]]
            boxes = np.array([b for _, b in truth[i]])
            cover = covered_fraction(hidden_px, boxes)
            for t, c, b in zip(ids, cover, boxes):
                if t == track:
                    seen += 1
                    visible += c < VISIBLE_BELOW
                else:
                    others += 1
                    hidden += c >= HIDDEN_FROM
                    if c < HIDDEN_FROM:
                        misses.append((track, i, t, round(float(c), 2)))
            shown = plan.frames.get(i)
            if shown:
                for row in np.flatnonzero(np.isin(record.regions.track_id, list(shown.people))
                                          & (record.regions.kind == Kind.PERSON)):
                    r = record.regions.xyxy[row]
                    best = max(truth[i], key=lambda tb: iou_xyxy(r, [tb[1][0], tb[1][1], tb[1][0] + tb[1][2],
                                                                      tb[1][1] + tb[1][3]]))
                    bb = best[1]
                    if best[0] != track and iou_xyxy(r, [bb[0], bb[1], bb[0] + bb[2], bb[1] + bb[3]]) >= 0.5:
                        swaps += 1
        sums += (seen, visible, others, hidden, swaps)
        print(f"{track:>5} {start:>5} {seen:>6} {visible / max(seen, 1):>8.3f} {hidden / max(others, 1):>18.4f} "
              f"{len(plan.review):>7} {swaps:>5}")
    seen, visible, others, hidden, swaps = sums
    print(f"{'all':>5} {'':>5} {int(seen):>6} {visible / max(seen, 1):>8.3f} {hidden / max(others, 1):>18.4f} "
          f"{'':>7} {int(swaps):>5}")
    print(f"bystander person-frames not obscured: {len(misses)} of {int(others)}; first few "
          f"(subject, frame, person, share obscured): {misses[:10]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
