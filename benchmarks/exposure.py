"""Video exposure measure: does a face's fine detail survive in the redacted output?

A judge detector stronger than the profile under test finds faces in the *input* frames.
A face counts as **exposed** in the output when the normalised correlation between the
Laplacian of input and output inside its box is at least `EXPOSED_CORR`: codec noise alone
keeps it near 0.8-1, real obscuring brings it near 0. (Running a judge on the output alone
is not enough: it also "finds" well-blurred heads.)

    python benchmarks/exposure.py ../shared/data/videos/*.mp4 --profile balanced

prints faces judged, exposed faces per 1000 judged frames and the longest run of
consecutive frames in which one face stays exposed. A proposed face counts only when two
different networks, BlazeFace and CenterFace, both see it on a crop twice its size (see
`Judge`); those one network confirms are counted apart (one_j, one_e), every proposal
too (raw_j, raw_e), and ``--crops DIR`` saves every exposure that at least one of the two
networks confirms, for a person to look at.
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
    frames_judged: int = 0  # frames the judge looked at (every ``stride``-th)
    judged: int = 0  # confirmed by both networks (of the judge: see `Judge`)
    exposed: int = 0
    longest_run: int = 0
    seconds: float = 0.0
    frames_detected: int = 0
    one_judged: int = 0  # confirmed by one network only
    one_exposed: int = 0
    raw_judged: int = 0  # every proposal, confirmed or not
    raw_exposed: int = 0
    runs: dict = field(default_factory=dict)
    exposures: list = field(default_factory=list)  # (frame, box, Laplacian corr, label)

    @property
    def per_1000(self) -> float:
        """Exposed objects per 1000 judged frames."""
        return 1000.0 * self.exposed / max(1, self.frames_judged)

    def tally(self, frame: int, track: int, box, exposed: bool, corr: float, confirmations: int, label) -> None:
        """Count one judged object of one frame: every proposal, those one check confirms, and
        those both confirm (the ones that count), with the longest run a track stays exposed."""
        self.raw_judged += 1
        self.raw_exposed += exposed
        if confirmations == 1:
            self.one_judged += 1
            self.one_exposed += exposed
        if confirmations < 2:
            return  # not an object by the judge's rule: neither extends nor ends a run
        self.judged += 1
        if exposed:
            self.exposures.append((frame, box, corr, label))
        run = self.runs.get(track, 0) + 1 if exposed else 0
        self.runs[track] = run
        self.exposed += exposed
        self.longest_run = max(self.longest_run, run)


def _decode(path):
    import av

    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            yield frame.to_ndarray(format="rgb24")


#: Bump when `Judge` changes, so ``--judge-cache`` entries of the old judge are not reused.
JUDGE_VERSION = 3
#: Side of the square crop, centred on a proposed face and twice its size, that the two
#: confirming networks look at; small faces are enlarged to it.
CROP = 256


def face_crop(frame: np.ndarray, box) -> tuple[np.ndarray, float, float, float]:
    """A CROP x CROP view of the square twice the size of ``box`` around its centre (black
    where it leaves the frame), with the map back: frame x = x0 + u * scale."""
    import cv2

    h, w = frame.shape[:2]
    side = 2 * max(box[2] - box[0], box[3] - box[1])
    x0 = int(round((box[0] + box[2]) / 2 - side / 2))
    y0 = int(round((box[1] + box[3]) / 2 - side / 2))
    side = max(1, int(round(side)))
    square = np.zeros((side, side, 3), np.uint8)
    sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(w, x0 + side), min(h, y0 + side)
    if sx1 > sx0 and sy1 > sy0:
        square[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = frame[sy0:sy1, sx0:sx1]
    crop = cv2.resize(square, (CROP, CROP), interpolation=cv2.INTER_AREA if side > CROP else cv2.INTER_LINEAR)
    return crop, float(x0), float(y0), side / CROP


def judge_plan():
    """The judge's proposing views: at least every view of every profile (`JUDGE_VERSION` 3:
    ``thorough`` as of 2026-12-02, with the mirrored stretched view ``balanced`` runs)."""
    from redact.detectors.faces import CenterFaceView, FacePlan

    return FacePlan(blazeface_tiles=(0.5,),
                    centerface=(CenterFaceView(1_000_000), CenterFaceView(400_000, stretch=1.5),
                                CenterFaceView(400_000, stretch=1.5, mirror=True)))


class Judge:
    """Faces in input frames, found by a detector stronger than any profile and confirmed
    by *two different* networks.

    The proposer is `judge_plan` (the ``thorough`` views, pinned here so that the judge
    does not move with the profiles it judges) at JUDGE_SCORE. Each proposal is then shown,
    enlarged (`face_crop`), to BlazeFace and to CenterFace; it counts as a face when both
    put a face centre inside its box. One network confirming its own family's proposal is
    not enough: BlazeFace alone takes an ear in curly hair for a face, CenterFace alone
    hands and knees. Proposals only one network confirms are counted apart (``one_j``,
    ``one_e``) and saved with ``--crops`` for a person to look at, so a real face that one
    network misses cannot hide.
    """

    def __init__(self):
        from redact.detectors.faces import CenterFaceView, FaceDetector, FacePlan

        self.proposer = FaceDetector(plan=judge_plan())
        self.blazeface = FaceDetector(plan=FacePlan(blazeface_whole=True, centerface=()))
        self.centerface = FaceDetector(plan=FacePlan(
            blazeface_whole=False, centerface_threshold=JUDGE_SCORE,
            centerface=(CenterFaceView(CROP * CROP, max_upscale=1.0),)))

    def confirmations(self, frame: np.ndarray, box) -> int:
        """How many of the two confirming networks see a face at ``box`` (0, 1 or 2)."""
        crop, x0, y0, scale = face_crop(frame, box)
        seen = 0
        for network in (self.blazeface, self.centerface):
            for fx0, fy0, fx1, fy1 in network.detect(crop).xyxy:
                mx, my = x0 + scale * (fx0 + fx1) / 2, y0 + scale * (fy0 + fy1) / 2
                if box[0] <= mx <= box[2] and box[1] <= my <= box[3]:
                    seen += 1
                    break
        return seen


def judge_clip(path, judge: Judge, stride=1, phase=0) -> list:
    """Per input frame, the judge's faces >= MIN_FACE as (box, track id, confirmations), or
    None for frames skipped by ``stride`` (frames ``i`` with ``i % stride == phase`` are judged)."""
    from redact.pipeline.tracking import Tracker

    ids = Tracker(hold_frames=0)  # only to give the judge's faces identities across frames
    judged = []
    for i, frame in enumerate(_decode(path)):
        if i % stride != phase:
            judged.append(None)
            continue
        faces = ids.update(judge.proposer.detect(frame))
        judged.append([(box, int(tid), judge.confirmations(frame, box))
                       for box, tid, score in zip(faces.xyxy, faces.track_id, faces.score)
                       if min(box[2] - box[0], box[3] - box[1]) >= MIN_FACE and score >= JUDGE_SCORE])
    return judged


def cached(cache: Path | None, path: Path, settings: str, judge):
    """``judge()`` (a judge's answer for the clip ``path``), kept in the folder ``cache``
    under the clip's name, size and time and the judge's ``settings``."""
    import pickle

    if cache is None:
        return judge()
    stat = path.stat()
    entry = cache / f"{path.name}.{stat.st_size}.{stat.st_mtime_ns}.{settings}.pickle"
    if entry.exists():
        return pickle.loads(entry.read_bytes())
    judged = judge()
    cache.mkdir(parents=True, exist_ok=True)
    entry.write_bytes(pickle.dumps(judged))
    return judged


def cached_judgement(path: Path, judge: Judge, stride: int, cache: Path | None, phase: int = 0) -> list:
    """`judge_clip`, kept in ``cache`` under the clip's name, size, stride and phase."""
    shifted = f".p{phase}" if phase else ""  # phase 0: the entries cached before phases existed
    return cached(cache, path, f"v{JUDGE_VERSION}.c{CROP}.s{stride}{shifted}.m{MIN_FACE}.j{JUDGE_SCORE}",
                  lambda: judge_clip(path, judge, stride, phase))


def measure_clip(path, policy, judged, crops=None) -> ClipResult:
    """Redact ``path`` with ``policy`` and compare the judged faces of input and output;
    with ``crops`` (a folder), save input|output crops of every exposure there."""
    from redact.jobs.files import redact_video

    result = ClipResult(Path(path).name)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.mp4"
        start = time.perf_counter()
        # A fixed noise seed: a borderline exposure then reproduces, to be looked at.
        manifest = redact_video(path, out, policy, crf=18, seed=0)
        result.seconds = time.perf_counter() - start
        result.frames_detected = manifest.timing["frames_detected"]
        for i, (before, after, faces) in enumerate(zip(_decode(path), _decode(out), judged)):
            result.frames += 1
            result.frames_judged += faces is not None
            for box, tid, confirmations in faces or ():
                exposed, corr = face_exposed(before, after, box)
                if exposed and confirmations and crops is not None:
                    save_crop(crops / f"{Path(path).stem}_N{policy.detect_every}_f{i:05d}_c{confirmations}.png",
                              before, after, box)
                result.tally(i, tid, box, exposed, corr, confirmations, confirmations)
        if result.frames != manifest.frames_in or manifest.frames_out != manifest.frames_in:
            raise RuntimeError(f"{path}: {manifest.frames_in} frames in, {manifest.frames_out} out, "
                               f"{result.frames} compared")
    return result


def save_crop(path: Path, before: np.ndarray, after: np.ndarray, box) -> None:
    """Input and output side by side around ``box`` (twice its size), for a person to judge."""
    import cv2

    pair = [face_crop(image, box)[0] for image in (before, after)]
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(np.hstack(pair), cv2.COLOR_RGB2BGR))


HEADER = (f"{'clip':40} {'N':>3} {'frames':>6} {'judged':>6} {'exposed':>7} {'/1000f':>7} {'run':>4} "
          f"{'one_j':>6} {'one_e':>6} {'raw_j':>6} {'raw_e':>6} {'detected':>8} {'fps':>6}")


def row(r: ClipResult, every: int) -> str:
    """One line of the table under `HEADER`."""
    return (f"{r.name[:40]:40} {every:3d} {r.frames_judged:6d} {r.judged:6d} {r.exposed:7d} "
            f"{r.per_1000:7.2f} {r.longest_run:4d} {r.one_judged:6d} {r.one_exposed:6d} {r.raw_judged:6d} "
            f"{r.raw_exposed:6d} {r.frames_detected:8d} {r.frames / max(r.seconds, 1e-9):6.1f}")


def add(total: ClipResult, r: ClipResult) -> None:
    """Add clip ``r``'s counts to ``total``."""
    for name in ("frames", "frames_judged", "judged", "exposed", "seconds", "frames_detected",
                 "one_judged", "one_exposed", "raw_judged", "raw_exposed"):
        setattr(total, name, getattr(total, name) + getattr(r, name))
    total.longest_run = max(total.longest_run, r.longest_run)


def main(argv=None) -> int:
    from redact.core.policy import Policy
    from redact.core.profile import Profile
    from redact.core.types import Kind

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("videos", nargs="+", type=Path)
    p.add_argument("--profile", type=Profile, default=Profile.BALANCED)
    p.add_argument("--detect-every", type=int, nargs="+", default=[1],
                   help="one or more N; all run in this process, so their fps compare fairly")
    p.add_argument("--hold", type=float, default=Policy.hold_seconds,
                   help="seconds a lost face stays obscured (0 with --lookahead 0: no tracking help)")
    p.add_argument("--lookahead", type=float, default=Policy.lookahead_seconds,
                   help="seconds of look-ahead for the backward hold")
    p.add_argument("--stride", type=int, default=1, help="judge every N-th frame (speed)")
    p.add_argument("--phase", type=int, default=0,
                   help="with --stride N: judge frames i with i %% N == PHASE. The detectors run on frames "
                        "0, N, 2N, ... at --detect-every N; phase 0 judges only those, a phase of 1 to N-1 "
                        "the frames in between, where only tracking and the holds cover a face")
    p.add_argument("-v", "--verbose", action="store_true", help="list every exposure")
    p.add_argument("--crops", type=Path, help="save input|output crops of every exposure in this folder")
    p.add_argument("--judge-cache", type=Path,
                   help="keep the judge's faces per clip here, so a re-measure redacts only (the judge "
                        "takes most of the time and does not depend on the profile; empty it when the judge changes)")
    args = p.parse_args(argv)
    if not 0 <= args.phase < args.stride:
        p.error(f"--phase {args.phase}: expected 0 to {args.stride - 1} (below --stride)")

    judge = Judge()
    print(f"profile={args.profile.value} hold={args.hold}s lookahead={args.lookahead}s; "
          f"judge: thorough's views (pinned) propose (score >= {JUDGE_SCORE}), BlazeFace and "
          f"CenterFace confirm on a crop; exposed: Laplacian corr >= {EXPOSED_CORR} in faces >= {MIN_FACE} px")
    print("frames: frames judged; judged/exposed: faces both networks confirm; one_j/one_e: faces one "
          "confirms; raw_j/raw_e: every proposal; detected: frames the detectors ran on; fps: all frames")
    print(HEADER)
    totals = {every: ClipResult("TOTAL") for every in args.detect_every}
    for video in args.videos:
        judged = cached_judgement(video, judge, args.stride, args.judge_cache, args.phase)
        for every in args.detect_every:
            policy = Policy(kinds={Kind.FACE}, profile=args.profile, hold_seconds=args.hold,
                            lookahead_seconds=args.lookahead, detect_every=every)
            r = measure_clip(video, policy, judged, args.crops)
            print(row(r, every), flush=True)
            if args.verbose:
                for frame, box, corr, _ in r.exposures:
                    print(f"    exposed: frame {frame}, box {np.round(box).astype(int).tolist()}, "
                          f"Laplacian corr {corr:.2f}")
            add(totals[every], r)
    for every, total in totals.items():
        print(row(total, every))
    base = totals[args.detect_every[0]]
    for every, total in totals.items():
        print(f"N={every}: {total.frames / total.seconds / (base.frames / base.seconds):.2f}x the fps of "
              f"N={args.detect_every[0]}, {total.exposed} exposed vs {base.exposed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
