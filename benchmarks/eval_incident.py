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
  (an identity switch that would show a bystander);
* the share of each shared frame obscured (all subjects' frames): what a recipient sees of
  the scene.

    python benchmarks/eval_incident.py ../shared/data/people/pets09_s2l1 \\
        ../shared/data/videos/opencv_vtest_pedestrians.avi [--frames N] [--profile P] [--oracle]

``--why`` tallies, for every subject frame not visible, its main cause (`why_hidden`): not
shown (no row of the subject's track on the frame, or its identity in doubt, with the
reason), or shown and covered by what covers most of its box (a bystander's body, a
duplicate or part of the subject, a box around a group, a held prediction, a face, a
plate, the carved mask...), with, per cause, the frames where it alone covers >= 20%.

``--mend N`` then plays N rounds of the owner's review (`mend`): each round gives every
subject one more anchor, where the review shows it hidden (its longest flagged stretch), at
the moment there where it stands clearest, as a point at its true centre; the totals are
printed after each round.

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
from collections import Counter
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_detect import covered_fraction, redaction_masks  # noqa: E402

from redact.app.review import stretches  # noqa: E402
from redact.core.geometry import iou_matrix  # noqa: E402
from redact.core.incident import Incident, Subject  # noqa: E402
from redact.core.policy import Policy  # noqa: E402
from redact.core.profile import Profile  # noqa: E402
from redact.core.types import Kind, Regions  # noqa: E402
from redact.detectors import build_detectors  # noqa: E402
from redact.jobs.first_pass import analyse_frames  # noqa: E402
from redact.pipeline.compose import compose  # noqa: E402
from redact.pipeline.looks import appearance  # noqa: E402
from redact.pipeline.subjects import FrameRecord, plan_subjects  # noqa: E402
from redact.record.manifest import FlaggedFrame  # noqa: E402

VISIBLE_BELOW = 0.2
HIDDEN_FROM = 0.8


def load_truth(dataset: Path, frames: int) -> list:
    """Per decoded frame: list of (track id, xywh) of labelled, non-ignored people. ``dataset``
    is a folder holding ``gt_boxes.json`` or such a file itself (PETS09's layout: ``images``
    keyed ``NAME/NNNNNN``, the N-th decoded frame, 1-based); frames with no key are not
    labelled, and not measured."""
    path = dataset / "gt_boxes.json" if dataset.is_dir() else dataset
    images = json.loads(path.read_text())["images"]
    truth = [[] for _ in range(frames)]
    for key, entry in images.items():
        index = int(key.rsplit("/", 1)[1]) - 1
        if index < frames:
            truth[index] = [(b["track_id"], np.array(b["bbox"], float)) for b in entry["boxes"] if not b["ignore"]]
    return truth


def clear_frame(truth: list, track: int):
    """The frame where ``track`` stands farthest from everyone else (box at least 40 px tall);
    among frames where it is alone, the one where its box is largest (a person walking in at
    the frame's edge is picked once it is in, as a user would pick it)."""
    best, best_gap, best_area = None, -1.0, 0.0
    for i, people in enumerate(truth):
        mine = [b for t, b in people if t == track]
        if not mine or mine[0][3] < 40:
            continue
        x, y, w, h = mine[0]
        gaps = [max(abs((bx + bw / 2) - (x + w / 2)) - (bw + w) / 2, abs((by + bh / 2) - (y + h / 2)) - (bh + h) / 2)
                for t, (bx, by, bw, bh) in people if t != track]
        gap = min(gaps) if gaps else 1e9
        if gap > best_gap or (gap == best_gap and w * h > best_area):
            best, best_gap, best_area = i, gap, w * h
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


#: Causes `why_hidden` tells apart, in the order the table prints them.
CAUSES = ("not shown: no subject row", "not shown: identity", "shown: bystander body", "shown: subject duplicate",
          "shown: subject part", "shown: group box", "shown: other body", "shown: held body",
          "shown: face in subject head", "shown: face of bystander", "shown: face elsewhere", "shown: plate or text",
          "shown: mask (held carve / zone)", "shown: zone or faulted frame")


def _box_xyxy(xywh) -> np.ndarray:
    x, y, bw, bh = xywh
    return np.array([x, y, x + bw, y + bh], np.float64)


def _inside_share(box, other) -> float:
    """Share of ``box``'s area inside ``other``."""
    ix = max(0.0, min(box[2], other[2]) - max(box[0], other[0]))
    iy = max(0.0, min(box[3], other[3]) - max(box[1], other[1]))
    return ix * iy / max(1e-6, (box[2] - box[0]) * (box[3] - box[1]))


def _cause_of_row(regions: Regions, row: int, observed, subject: np.ndarray, others: list) -> str:
    """Which kind of obscured row this is, seen from the subject's ground-truth box."""
    kind, box = int(regions.kind[row]), regions.xyxy[row].astype(np.float64)
    if kind in (Kind.PLATE, Kind.TEXT):
        return "shown: plate or text"
    if kind == Kind.FACE:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        sx0, sy0, sx1, sy1 = subject
        if sx0 <= cx <= sx1 and sy0 <= cy <= sy0 + 0.3 * (sy1 - sy0):
            return "shown: face in subject head"
        if any(o[0] <= cx <= o[2] and o[1] <= cy <= o[1] + 0.3 * (o[3] - o[1]) for o in others):
            return "shown: face of bystander"
        return "shown: face elsewhere"
    if int(regions.track_id[row]) not in observed:
        return "shown: held body"
    mine = iou_xyxy(box, subject)
    theirs = max((iou_xyxy(box, o) for o in others), default=0.0)
    if theirs >= 0.3 and theirs >= mine:
        return "shown: bystander body"
    if mine >= 0.3:
        return "shown: subject duplicate"
    if _inside_share(box, subject) >= 0.7:
        return "shown: subject part"
    if _inside_share(subject, box) >= 0.7:
        return "shown: group box"
    if any(_inside_share(box, o) >= 0.7 for o in others):
        return "shown: bystander body"
    return "shown: other body"


def why_hidden(record, final: Regions, mask, shown: bool, reason: str | None, subject: np.ndarray, others: list,
               width: int, height: int, padding: float = 0.1) -> tuple[str, dict]:
    """The main cause of a subject frame not being visible, and each cause's share of the
    subject's box (the obscured rows of ``final`` grouped by `_cause_of_row`, each group's
    padded boxes alone): the cause covering most of it is the main one."""
    if not shown:
        return (f"not shown: identity ({reason})" if reason else "not shown: no subject row"), {}
    from redact.core.geometry import pad_boxes, pixel_boxes

    x0, y0, x1, y1 = pixel_boxes(subject[None], width, height)[0]
    if x1 <= x0 or y1 <= y0:
        return "shown: other body", {}
    regions = record.regions
    groups: dict = {}
    # ``final`` holds record rows (subset, same boxes), then zones and the faulted frame.
    for r in range(len(final)):
        same = np.flatnonzero((regions.track_id == final.track_id[r]) & (regions.kind == final.kind[r])
                              & np.all(regions.xyxy == final.xyxy[r], axis=1))
        cause = (_cause_of_row(regions, int(same[0]), record.observed, subject, others) if len(same)
                 else "shown: zone or faulted frame")
        groups.setdefault(cause, []).append(final.xyxy[r])
    shares = {}
    for cause, boxes in groups.items():
        covered = np.zeros((y1 - y0, x1 - x0), bool)
        for bx0, by0, bx1, by1 in pixel_boxes(pad_boxes(np.array(boxes), padding), width, height):
            covered[max(by0, y0) - y0:max(min(by1, y1) - y0, 0), max(bx0, x0) - x0:max(min(bx1, x1) - x0, 0)] = True
        shares[cause] = float(covered.mean())
    if mask is not None:
        shares["shown: mask (held carve / zone)"] = float(mask[y0:y1, x0:x1].mean())
    main = max(shares, key=shares.get) if shares else "shown: other body"
    return main, shares


def score(records: list, truth: list, track: int, plan, w: int, h: int, look=None) -> tuple:
    """``(seen, visible, others, hidden, swaps)`` of one subject's plan over the clip, the
    bystander person-frames under `HIDDEN_FROM` as ``(subject, frame, person, share)``, and
    the share of each frame (with people) obscured. ``look(i, record, final, mask, hidden_px,
    cover, box)`` is called on each subject frame."""
    seen = visible = others = hidden = swaps = 0
    misses, shares = [], []
    for i, record in enumerate(records):
        if not truth[i]:
            continue
        final, mask = compose(record.regions, w, h, subjects=plan.frames.get(i), faulted=bool(record.flagged),
                              observed=record.observed)
        hidden_px, _ = redaction_masks(final, h, w)
        if mask is not None:
            hidden_px |= mask
        shares.append(float(hidden_px.mean()))
        boxes = np.array([b for _, b in truth[i]])
        cover = covered_fraction(hidden_px, boxes)
        for (t, b), c in zip(truth[i], cover):
            if t == track:
                seen += 1
                visible += c < VISIBLE_BELOW
                if look is not None:
                    look(i, record, final, mask, hidden_px, c, b)
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
                best = max(truth[i], key=lambda tb: iou_xyxy(r, _box_xyxy(tb[1])))
                if best[0] != track and iou_xyxy(r, _box_xyxy(best[1])) >= 0.5:
                    swaps += 1
    return np.array([seen, visible, others, hidden, swaps], float), misses, shares


def next_anchor(records: list, truth: list, track: int, plan, taken: set) -> tuple | None:
    """The anchor the owner adds after reading the review: in the longest flagged stretch
    (as `redact review` lists them) where the subject stands clear of everyone on some frame,
    a point at its true box's centre on the frame where it stands clearest (`clear_frame`: the
    owner steps through the stretch with `redact pick --at T` to a moment where it stands
    apart), as ``(frame index, Subject)``. Stretches where it is never clear, or whose frame
    is ``taken`` (an anchor there already), are passed over; None when none is left."""
    for first, last, _ in stretches([FlaggedFrame(i, reason) for i, reason in plan.review.items()]):
        inside = [people if first <= i <= last else [] for i, people in enumerate(truth)]
        at, gap = clear_frame(inside, track)
        if at is not None and gap >= 0 and at not in taken:
            box = next(b for t, b in truth[at] if t == track)
            return at, Subject(t=records[at].time, point=(box[0] + box[2] / 2, box[1] + box[3] / 2))
    return None


def mend(records: list, truth: list, picks: dict, plans: dict, w: int, h: int, rounds: int) -> None:
    """Print the totals after each of ``rounds`` rounds of review, every subject given one
    more anchor a round (`next_anchor`); an anchor that picks nobody is passed over.
    ``plans``: track -> ``(Subject, plan)`` of its one-anchor incident, as measured."""
    subjects = {track: subject for track, (subject, _) in plans.items()}
    plans = {track: plan for track, (_, plan) in plans.items()}
    taken = {track: {picks[track][0]} for track in plans}
    for n in range(1, rounds + 1):
        sums, added, flagged = np.zeros(5), 0, 0
        for track, plan in plans.items():
            while (found := next_anchor(records, truth, track, plan, taken[track])) is not None:
                at, extra = found
                taken[track].add(at)
                try:
                    with_it = replace(subjects[track], anchors=(*subjects[track].anchors, extra))
                    plans[track] = plan = plan_subjects(records, Incident(subjects=(with_it,)), w, h)
                except ValueError:
                    continue  # it picks nobody there: the next stretch
                subjects[track] = with_it
                added += 1
                break
            counts, _, _ = score(records, truth, track, plan, w, h)
            sums += counts
            flagged += len(plan.review)
        seen, visible, others, hidden, swaps = sums
        print(f"after review round {n} ({added} anchors added, "
              f"{sum(len(s.anchors) for s in subjects.values())} in all): subject visible "
              f"{visible / max(seen, 1):.3f}, bystanders hidden {hidden / max(others, 1):.4f} "
              f"({int(others - hidden)} missed), another person shown {int(swaps)}, flagged {flagged}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dataset", type=Path)
    p.add_argument("video", type=Path)
    p.add_argument("--frames", type=int, default=0, help="first N frames only (0: all)")
    p.add_argument("--profile", type=Profile, default=Profile.BALANCED)
    p.add_argument("--models-dir", type=Path)
    p.add_argument("--oracle", action="store_true", help="ground-truth boxes and ids as the detections")
    p.add_argument("--why", action="store_true", help="for every subject frame not visible, the main cause "
                   "(not shown, or what covers it), tallied over all subjects")
    p.add_argument("--mend", type=int, default=0, metavar="N",
                   help="then N rounds of the owner's review: each adds, for every subject, an anchor on "
                   "the clearest frame of its longest flagged stretch (`next_anchor`)")
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
    print(f"{args.video.name}, {len(records)} frames {w}x{h}, profile {args.profile.value}: analysis "
          f"{analysed / len(records) * 1000:.0f} ms/frame (faces, plates, people)")
    print(f"{'track':>5} {'pick':>5} {'frames':>6} {'visible':>8} {'bystanders hidden':>18} {'flagged':>7} "
          f"{'swaps':>5}")
    sums = np.zeros(5)
    frame_hidden = []  # share of each composed frame obscured, over all subjects
    planned: dict = {}  # track -> (Subject, plan) of its one-anchor incident, for --mend
    misses = []
    why_main: Counter = Counter()  # main cause -> subject frames, over all subjects
    why_alone: Counter = Counter()  # cause -> subject frames where it alone hides the subject
    why_per_subject: dict = {}  # track -> Counter of main causes
    for track, (start, gap) in picks.items():
        box = next(b for t, b in truth[start] if t == track)
        subject = Subject(t=start / fps, point=(box[0] + box[2] / 2, box[1] + box[3] / 2))
        incident = Incident(subjects=(subject,))
        try:
            plan = plan_subjects(records, incident, w, h)
        except ValueError as exc:
            print(f"{track:>5} {start:>5}  not picked: {exc}")
            continue
        planned[track] = (subject, plan)

        def look(i, record, final, mask, hidden_px, cover, b, track=track, plan=plan):
            if args.why and cover >= VISIBLE_BELOW:
                others_xyxy = [_box_xyxy(ob) for ot, ob in truth[i] if ot != track]
                main_cause, shares = why_hidden(record, final, mask, bool(plan.frames.get(i)),
                                                plan.review.get(i), _box_xyxy(b), others_xyxy, w, h)
                why_main[main_cause] += 1
                why_per_subject.setdefault(track, Counter())[main_cause] += 1
                # Which causes alone already hide it (>= 20% of its box).
                for cause, share in shares.items():
                    if share >= VISIBLE_BELOW:
                        why_alone[cause] += 1

        counts, missed, shares = score(records, truth, track, plan, w, h, look)
        misses += missed
        frame_hidden += shares
        sums += counts
        seen, visible, others, hidden, swaps = counts
        print(f"{track:>5} {start:>5} {seen:>6.0f} {visible / max(seen, 1):>8.3f} {hidden / max(others, 1):>18.4f} "
              f"{len(plan.review):>7} {swaps:>5.0f}")
    seen, visible, others, hidden, swaps = sums
    print(f"{'all':>5} {'':>5} {int(seen):>6} {visible / max(seen, 1):>8.3f} {hidden / max(others, 1):>18.4f} "
          f"{'':>7} {int(swaps):>5}")
    if args.mend:
        mend(records, truth, picks, planned, w, h, args.mend)
    if args.why:
        hidden_frames = int(seen - visible)
        print(f"why the subject is not visible ({hidden_frames} subject frames): main cause (covers most of "
              "its box), and frames where that cause alone covers >= 20% of it")
        identity = tuple(sorted(c for c in why_main if c.startswith(CAUSES[1])))
        for cause in CAUSES[:1] + identity + CAUSES[2:]:
            if why_main[cause] or why_alone[cause]:
                print(f"  {cause:<58} {why_main[cause]:>5} ({why_main[cause] / max(seen, 1):6.1%} of "
                      f"subject frames)   alone {why_alone[cause]:>5}")
    if args.why:
        for track, causes in why_per_subject.items():
            print(f"  subject {track}: " + ", ".join(f"{c} {n}" for c, n in causes.most_common()))
    if frame_hidden:
        print(f"share of each shared frame obscured: mean {np.mean(frame_hidden):.1%}, largest "
              f"{np.max(frame_hidden):.1%}")
    print(f"bystander person-frames not obscured: {len(misses)} of {int(others)}; first few "
          f"(subject, frame, person, share obscured): {misses[:10]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
