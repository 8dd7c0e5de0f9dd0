"""Video exposure measure: does a face's fine detail survive in the redacted output?

A judge detector stronger than the profile under test finds faces in the *input* frames.
A face counts as **exposed** in the output when the normalised correlation between the
Laplacian of input and output inside its box is at least `EXPOSED_CORR`: codec noise alone
keeps it near 0.8-1, real obscuring brings it near 0. (Running a judge on the output alone
is not enough: it also "finds" well-blurred heads.)

    python benchmarks/exposure.py ../shared/data/videos/*.mp4 --profile balanced

prints faces judged, exposed faces per 1000 frames and the longest run of consecutive
frames in which one face stays exposed. A judged face must be confirmed by a second,
different network (BlazeFace on a crop twice its size): the judge alone also "finds"
hands, chimneys, headlights and the backs of heads. The unconfirmed counts are printed
too (raw_j, raw_e).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

EXPOSED_CORR = 0.5
MIN_FACE = 24
#: The judge runs with low thresholds (fail-closed settings); as a judge only its confident
#: faces count, or torsos and posters it half-believes would be scored as exposed faces.
JUDGE_SCORE = 0.5


def laplacian_corr(before: np.ndarray, after: np.ndarray) -> float:
    """Normalised correlation of the Laplacians of two RGB crops of the same place."""
    import cv2

    a = cv2.Laplacian(cv2.cvtColor(before, cv2.COLOR_RGB2GRAY).astype(np.float32), cv2.CV_32F)
    b = cv2.Laplacian(cv2.cvtColor(after, cv2.COLOR_RGB2GRAY).astype(np.float32), cv2.CV_32F)
    a -= a.mean()
    b -= b.mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def face_exposed(before: np.ndarray, after: np.ndarray, box) -> tuple[bool, float]:
    """Whether the face in ``box`` (x0, y0, x1, y1) of ``before`` is still readable in ``after``."""
    h, w = before.shape[:2]
    x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
    x1, y1 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    if x1 - x0 < 3 or y1 - y0 < 3:
        return False, 0.0
    corr = laplacian_corr(before[y0:y1, x0:x1], after[y0:y1, x0:x1])
    return corr >= EXPOSED_CORR, corr


@dataclass
class ClipResult:
    name: str
    frames: int = 0
    faces_judged: int = 0
    exposed: int = 0
    longest_run: int = 0
    seconds: float = 0.0
    frames_detected: int = 0
    raw_judged: int = 0  # before the second network's confirmation
    raw_exposed: int = 0
    runs: dict = field(default_factory=dict)
    exposures: list = field(default_factory=list)  # (frame, box height, Laplacian corr)

    @property
    def per_1000(self) -> float:
        return 1000.0 * self.exposed / max(1, self.frames)


def _decode(path):
    import av

    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            yield frame.to_ndarray(format="rgb24")


def confirmed(frame: np.ndarray, box, second) -> bool:
    """Whether a second, different network also sees a face at ``box``.

    The judge's own false positives (hands, chimneys, headlights, the backs of heads) would
    otherwise be scored as exposed faces. The crop, twice the box's size, is what the
    second network sees, so small faces are enlarged for it.
    """
    h, w = frame.shape[:2]
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half = max(box[2] - box[0], box[3] - box[1])
    x0, y0 = int(max(0, cx - half)), int(max(0, cy - half))
    x1, y1 = int(min(w, cx + half)), int(min(h, cy + half))
    found = second.detect(np.ascontiguousarray(frame[y0:y1, x0:x1]))
    for fx0, fy0, fx1, fy1 in found.xyxy:
        mx, my = (fx0 + fx1) / 2 + x0, (fy0 + fy1) / 2 + y0
        if box[0] <= mx <= box[2] and box[1] <= my <= box[3]:
            return True
    return False


def judge_clip(path, judge, second, stride=1) -> list:
    """Per input frame, the judge's confident faces >= MIN_FACE as (box, track id, confirmed
    by the second network), or None for frames skipped by ``stride``."""
    from redact.tracking import Tracker

    ids = Tracker(hold_frames=0)  # only to give the judge's faces identities across frames
    judged = []
    for i, frame in enumerate(_decode(path)):
        if i % stride:
            judged.append(None)
            continue
        faces = ids.update(judge.detect(frame))
        judged.append([(box, int(tid), confirmed(frame, box, second))
                       for box, tid, score in zip(faces.xyxy, faces.track_id, faces.score)
                       if min(box[2] - box[0], box[3] - box[1]) >= MIN_FACE and score >= JUDGE_SCORE])
    return judged


def measure_clip(path, profile, judged, detect_every=1, workdir=None) -> ClipResult:
    """Redact ``path`` with ``profile`` and compare the judged faces of input and output."""
    from redact.jobs import redact_video
    from redact.policy import Policy
    from redact.types import Kind

    result = ClipResult(Path(path).name)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        out = Path(tmp) / "out.mp4"
        start = time.perf_counter()
        manifest = redact_video(path, out, Policy(kinds={Kind.FACE}, profile=profile, detect_every=detect_every),
                                crf=18)
        result.seconds = time.perf_counter() - start
        result.frames_detected = manifest.timing["frames_detected"]
        for i, (before, after, faces) in enumerate(zip(_decode(path), _decode(out), judged)):
            result.frames += 1
            for box, tid, sure in faces or ():
                exposed, corr = face_exposed(before, after, box)
                result.raw_judged += 1
                result.raw_exposed += exposed
                if not sure:
                    continue
                result.faces_judged += 1
                if exposed:
                    result.exposures.append((i, float(box[3] - box[1]), corr))
                run = result.runs.get(tid, 0) + 1 if exposed else 0
                result.runs[tid] = run
                result.exposed += exposed
                result.longest_run = max(result.longest_run, run)
    return result


def _row(r: ClipResult, every: int) -> str:
    return (f"{r.name[:40]:40} {every:3d} {r.frames:6d} {r.faces_judged:6d} {r.exposed:7d} {r.per_1000:7.2f} "
            f"{r.longest_run:4d} {r.raw_judged:6d} {r.raw_exposed:6d} {r.frames_detected:8d} "
            f"{r.frames / r.seconds:6.1f}")


def _add(total: ClipResult, r: ClipResult) -> None:
    total.frames += r.frames
    total.faces_judged += r.faces_judged
    total.exposed += r.exposed
    total.longest_run = max(total.longest_run, r.longest_run)
    total.seconds += r.seconds
    total.frames_detected += r.frames_detected
    total.raw_judged += r.raw_judged
    total.raw_exposed += r.raw_exposed


def main(argv=None) -> int:
    from redact.detectors.faces import FaceDetector
    from redact.policy import Profile

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("videos", nargs="+", type=Path)
    p.add_argument("--profile", type=Profile, default=Profile.BALANCED)
    p.add_argument("--detect-every", type=int, nargs="+", default=[1],
                   help="one or more N; all run in this process, so their fps compare fairly")
    p.add_argument("--stride", type=int, default=1, help="judge every N-th frame (speed)")
    p.add_argument("-v", "--verbose", action="store_true", help="list every exposure")
    args = p.parse_args(argv)
    from redact.detectors.faces import Plan

    judge = FaceDetector(Profile.THOROUGH)
    second = FaceDetector(plan=Plan(blazeface_whole=True, centerface=()))  # BlazeFace alone
    print(f"profile={args.profile.value} judge=thorough, confirmed by BlazeFace on the crop; exposed: "
          f"Laplacian corr >= {EXPOSED_CORR} in faces >= {MIN_FACE}px with judge score >= {JUDGE_SCORE}")
    print(f"{'clip':40} {'N':>3} {'frames':>6} {'judged':>6} {'exposed':>7} {'/1000f':>7} {'run':>4} "
          f"{'raw_j':>6} {'raw_e':>6} {'detected':>8} {'fps':>6}")
    totals = {every: ClipResult("TOTAL") for every in args.detect_every}
    for video in args.videos:
        judged = judge_clip(video, judge, second, args.stride)
        for every in args.detect_every:
            r = measure_clip(video, args.profile, judged, every)
            print(_row(r, every), flush=True)
            if args.verbose:
                for frame, height, corr in r.exposures:
                    print(f"    exposed: frame {frame}, face {height:.0f} px high, Laplacian corr {corr:.2f}")
            _add(totals[every], r)
    for every, total in totals.items():
        print(_row(total, every))
    base = totals[args.detect_every[0]]
    for every, total in totals.items():
        print(f"N={every}: {total.frames / total.seconds / (base.frames / base.seconds):.2f}x the fps of "
              f"N={args.detect_every[0]}, {total.exposed} exposed vs {base.exposed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
