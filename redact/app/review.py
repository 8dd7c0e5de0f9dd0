"""Look before sharing: a contact sheet of a redacted clip, and numbered people to pick from.

`review_sheet` draws what a recipient will see, large enough to read on a phone: the kept
subject first (green box, at its first and last frame shown), then one frame from each of
the longest stretches flagged for review, then frames sampled over the output; each person
or vehicle obscured is a thin outline where its first or last frame is drawn (faces and
plates are counted in the legend, not outlined, except on a photo). A legend strip says what
was obscured, which window was kept, who asked for the clip, and where to anchor a subject
that was lost.

`pick_frame` draws the *input* frame at a time with every person and plate numbered, in the
order `redact.pipeline.subjects.numbered` uses, so ``--keep N@T`` names the one to keep.

Both decode once, in order, and keep only the few frames they draw (constant memory).
"""
from __future__ import annotations

import json
import math
import numbers
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..core.jsonfile import MANIFEST_LIMIT, JsonFileError, read_json
from ..core.profile import Profile
from ..core.safetext import shown
from ..core.types import Kind
from ..detectors import build_detectors
from ..media.images import read_image
from ..media.paths import is_image
from ..media.safeio import check_paths, partial_path, sha256_file
from ..media.video import VideoReader
from ..pipeline.subjects import numbered_boxes
from ..record.manifest import Count, FlaggedFrame, KeptWindow, Manifest, manifest_path

#: Most tiles on one sheet: subjects, then flagged stretches, then time samples.
MAX_TILES = 12
#: Flagged stretches shown at most, one frame each (the legend counts all of them).
MAX_FLAGGED = 4
#: Frames sampled evenly over the clip.
SAMPLES = 6
#: Kinds outlined on a video's tiles: the people and vehicles obscured, one quiet outline
#: each; a clip's faces and plates are hundreds of boxes, counted in the legend instead.
OUTLINED_KINDS = ("person", "vehicle")

# Colours (RGB).
OBSCURED = (215, 60, 60)
SUBJECT = (40, 215, 60)
FLAGGED = (255, 190, 0)
_TEXT = (240, 240, 240)
_BACKGROUND = (28, 28, 28)
_FONT_SCALE = 0.45
_LINE = 18  # px per text line
#: Height of the caption strip above each tile's frame (px).
CAPTION_HEIGHT = _LINE + 4


@dataclass(frozen=True)
class Outline:
    """A box drawn on a tile: ``role`` is ``"obscured"`` or ``"subject"``; ``box`` is x0, y0, x1, y1 px."""

    box: tuple
    role: str
    label: str


@dataclass(frozen=True)
class Tile:
    """One frame of the sheet: its output index, why it is flagged (or None), its outlines."""

    frame: int
    flagged: str | None = None
    outlines: tuple = ()


def _load_manifest(clip: Path, manifest) -> dict | None:
    """The manifest as a dict: given as a dict, a `Manifest`, a path, or found beside ``clip``."""
    if isinstance(manifest, dict):
        return manifest
    if isinstance(manifest, Manifest):
        return json.loads(manifest.to_json())
    path = Path(manifest) if manifest is not None else manifest_path(clip)
    if manifest is None and not path.is_file():
        return None
    try:
        data = read_json(path, "manifest", MANIFEST_LIMIT)
    except FileNotFoundError:
        raise ValueError(f"manifest {path} not found; pass the one written beside the redacted clip") from None
    except JsonFileError as exc:
        raise ValueError(f"{exc}; pass the one redact wrote") from None
    if not isinstance(data, dict):
        raise ValueError(f"manifest {path}: expected a JSON object, got {type(data).__name__}")
    return data


def _box(value):
    if isinstance(value, (list, tuple)) and len(value) == 4 and all(isinstance(v, numbers.Real) for v in value):
        return tuple(float(v) for v in value)
    return None


#: More frames than any clip holds (a day at 24,000 fps): a larger frame number in a manifest
#: is damage, read as absent, not arithmetic for floats to overflow on.
MAX_FRAME = 2 ** 31 - 1


def _frame(value):
    return int(value) if isinstance(value, numbers.Integral) and not isinstance(value, bool) \
        and 0 <= value <= MAX_FRAME else None


def _object(value) -> dict:
    """A manifest's JSON object field; a value of another type (damage, a hand edit) is absent."""
    return value if isinstance(value, dict) else {}


def _array(value) -> list:
    """A manifest's JSON array field; a value of another type is absent."""
    return value if isinstance(value, list) else []


def plan_tiles(manifest: dict | None, frames: int, *, max_tiles: int = MAX_TILES) -> list:
    """The tiles of a sheet, in the order drawn.

    The kept subjects' first and last frames shown come first; then the middle frame of each
    of the longest stretches flagged for review (at most `MAX_FLAGGED`); then `SAMPLES`
    frames spread over the clip, in time order. People and vehicles obscured (and, on an
    image, everything obscured) are outlined on the tiles that hold their first or last
    frame; they add no tiles. A frame that serves several purposes is one tile.

    Parameters
    ----------
    manifest : dict or None
        The manifest JSON (see `redact.record.manifest.Manifest`); None draws time samples only.
    frames : int
        Frames in the clip (the manifest's ``frames_out``, 1 for an image).

    Returns
    -------
    list of Tile
    """
    manifest = manifest or {}
    frames = max(1, int(frames))
    image = manifest.get("kind") == "image"
    outlines: dict = {}  # frame -> list of Outline
    lead: list = []

    incident = _object(manifest.get("incident"))
    for subject in _array(incident.get("subjects_kept")):
        if not isinstance(subject, dict):
            continue
        for end in ("first", "last"):
            frame, box = _frame(subject.get(f"{end}_frame")), _box(subject.get(f"{end}_box"))
            if frame is not None and frame < frames:
                lead.append(frame)
                if box:
                    outlines.setdefault(frame, []).append(Outline(box, "subject", "subject"))
    flagged: dict = {}
    items = [f for f in _flagged(manifest) if f.frame is not None and 0 <= f.frame < frames]
    for first, last, reason in stretches(items)[:MAX_FLAGGED]:
        flagged.setdefault((first + last) // 2, reason if first == last else f"{reason} (frames {first}-{last})")
    samples = {round(k * (frames - 1) / max(1, min(SAMPLES, frames) - 1)) for k in range(min(SAMPLES, frames))}
    chosen: list = []
    for frame in [*lead, *flagged, *sorted(samples)]:
        if frame not in chosen and len(chosen) < max_tiles:
            chosen.append(frame)
    for track in _array(manifest.get("tracks")):
        if not isinstance(track, dict) or not (image or track.get("kind") in OUTLINED_KINDS):
            continue
        label = f"{track.get('kind', '?')} {track.get('id', '')}".strip()
        for end in ("first", "last"):
            frame, box = _frame(track.get(f"{end}_frame")), _box(track.get(f"{end}_box"))
            if frame in chosen and box:
                outlines.setdefault(frame, []).append(Outline(box, "obscured", label))
    return [Tile(f, flagged.get(f), tuple(outlines.get(f, ()))) for f in chosen]


def _ascii(text) -> str:
    """Hershey fonts draw ASCII only; what would not read as written is escaped first
    (`redact.core.safetext.shown`), so a bidi override shows as ``\\u202e``, not as ``?``."""
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in shown(str(text)))


def _text_width(text: str, scale: float = _FONT_SCALE) -> int:
    import cv2

    return cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0]


def _fit(text: str, width: int) -> str:
    """``text`` cut (ending in ``~``) to fit ``width`` px; empty when not even that fits."""
    text = _ascii(text)
    if _text_width(text) <= width:
        return text
    while text and _text_width(text + "~") > width:
        text = text[:-1]
    return text + "~" if text else ""


def _wrap(text: str, width: int) -> list:
    words, lines, line = _ascii(text).split(" "), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if line and _text_width(trial) > width:
            lines.append(line)
            line = "  " + word
        else:
            line = trial
    return lines + [_fit(line, width)] if line else lines


def _put(img, text, x, y, colour=_TEXT, scale=_FONT_SCALE):
    import cv2

    cv2.putText(img, text, (int(x), int(y)), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)


def _legend(clip: Path, manifest: dict | None, frames: int, kind: str, clip_sha: str) -> list:
    """The legend's lines of text (plain ASCII, before wrapping)."""
    if manifest is None:
        return [f"{clip.name}: {frames} frames; no manifest beside it, so no outlines are drawn"]
    timing = _object(manifest.get("timing"))
    fps = timing.get("fps")
    try:
        fps_text = f" at {float(Fraction(str(fps))):.3g} fps" if fps else ""
    except (ValueError, ZeroDivisionError):
        fps_text = ""
    lines = [f"{clip.name}: {'image' if kind == 'image' else f'{frames} frames{fps_text}'}"]
    recorded = manifest.get("output_sha256")
    if recorded and clip_sha and recorded != clip_sha:
        lines.append("WARNING: this clip's sha256 differs from the manifest's: the outlines may not belong to it")
    counts = manifest.get("counts")
    parts = []
    for key, noun in (("face", "faces"), ("plate", "plates"), ("person", "people"), ("other", "zones/whole frames")):
        c = Count.from_json(counts.get(key)) if isinstance(counts, dict) else None
        if c is not None and c.frames:
            parts.append(f"{noun} ({c.frames} frames{_how_many(c) if key != 'other' else ''})")
    lines.append("obscured: " + (", ".join(parts) or "nothing"))
    incident = _object(manifest.get("incident"))
    window = KeptWindow.from_json(incident.get("window"))
    if window is not None and window.kept_seconds is not None:
        first, last = window.kept_seconds
        frames_kept = "?" if window.frames_kept is None else window.frames_kept
        lines.append(f"window kept: {first:.2f}-{last:.2f} s of the input ({frames_kept} frames; "
                     f"{window.frames_cut_before or 0} cut before)")
    elif incident:
        lines.append("window kept: the whole clip")
    kept = [s for s in _array(incident.get("subjects_kept")) if isinstance(s, dict)]
    if kept:
        each = "; ".join(f"{s.get('kind', '?')}: {s.get('frames_shown', 0)} frames shown, "
                         f"{s.get('frames_uncertain', 0)} obscured as uncertain" for s in kept)
        people = Count.from_json(counts.get("person")) if isinstance(counts, dict) else None
        # Counted on the obscured rows: a subject counts only on frames where it was hidden.
        obscured = (f"most found at once {people.at_once}" if people is not None and people.at_once
                    else f"{incident.get('bystanders_obscured', 0)} tracks")
        lines.append(f"subjects kept: {len(kept)} ({each}); people obscured: {obscured}")
    flagged = _flagged(manifest)
    if flagged:
        reasons: dict = {}
        for f in flagged:
            reasons[str(f.reason)] = reasons.get(str(f.reason), 0) + 1
        listed = ", ".join(f"{n} x {r}" for r, n in sorted(reasons.items(), key=lambda rn: -rn[1]))
        shown = min(len({f.frame for f in flagged}), MAX_FLAGGED)
        lines.append(f"frames flagged: {len(flagged)} ({listed}); the first {shown} lead the sheet")
        lines += _stretch_lines(flagged, fps, window)
    else:
        lines.append("frames flagged: none")
    asked = [f"{label}: {incident[key]}" for key, label in
             (("request", "request"), ("recipient", "recipient"), ("purpose", "purpose")) if incident.get(key)]
    if asked:
        lines.append("; ".join(asked))
    return lines


#: Flagged stretches listed in the legend, longest first.
MAX_STRETCHES = 5


def _how_many(count: Count) -> str:
    """How many objects a count stands for, as the sheet words it: the most found (detected,
    and obscured) in one frame. Not a bound either way: held boxes are not counted, and one
    head may be a face box and a head box. A tracker breaks and repeats one object (a walker's
    face on PETS09 came as a dozen tracks), so tracks overcount people far more; `redact
    verify` prints both."""
    if count.at_once:
        return f", most found at once {count.at_once}"
    return f", {count.tracks} track{'s' if count.tracks != 1 else ''}" if count.tracks else ""


def _flagged(manifest: dict) -> list:
    """The manifest's flagged frames as `redact.record.manifest.FlaggedFrame` entries; an
    entry that is no JSON object is left out."""
    return [f for f in map(FlaggedFrame.from_json, _array(manifest.get("flagged_frames"))) if f is not None]


def stretches(flagged: list) -> list:
    """``(first frame, last frame, reason)`` of each run of consecutive output frames
    flagged for one reason (``flagged``: `redact.record.manifest.FlaggedFrame` entries), longest first.

    >>> stretches([FlaggedFrame(3, "a"), FlaggedFrame(4, "a"), FlaggedFrame(9, "a")])
    [(3, 4, 'a'), (9, 9, 'a')]
    """
    runs: list = []
    for item in sorted((f for f in flagged if f.frame is not None), key=lambda f: f.frame):
        frame, reason = item.frame, str(item.reason)
        if runs and runs[-1][2] == reason and runs[-1][1] == frame - 1:
            runs[-1][1] = frame
        else:
            runs.append([frame, frame, reason])
    return [tuple(r) for r in sorted(runs, key=lambda r: (r[0] - r[1], r[0]))]


def _stretch_lines(flagged: list, fps, window: KeptWindow | None) -> list:
    """The longest flagged stretches, with the input time in their middle: where the subject
    is hidden for its identity, another anchor there (``--keep N@T+M@T2``, numbers from
    ``redact pick --at T2``) re-joins it."""
    try:
        rate = float(Fraction(str(fps))) if fps else None
    except (ValueError, ZeroDivisionError):
        rate = None
    offset = window.kept_seconds[0] if window is not None and window.kept_seconds is not None else 0.0
    lines = []
    for first, last, reason in stretches(flagged)[:MAX_STRETCHES]:
        middle = offset + (first + last) / 2 / rate if rate else None
        at = f"; anchor at {middle:.2f} s of the input" if middle is not None and "subject" in reason else ""
        lines.append(f"  frames {first}-{last}: {reason}{at}")
    return lines


def _thumb(rgb: np.ndarray, width: int) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    height = max(1, round(width * h / w))
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)


def _collect(clip: Path, wanted: set, image: bool, width: int) -> tuple:
    """Thumbnails of the ``wanted`` frames, their times (s), and the frame size; one pass."""
    if image:
        rgb = read_image(clip)
        return {0: _thumb(rgb, width)}, {0: 0.0}, rgb.shape[:2]
    thumbs, times, size = {}, {}, None
    with VideoReader(clip) as reader:
        origin: int | None = None
        for frame in reader:
            size = frame.rgb.shape[:2]
            origin = frame.pts if origin is None else origin
            if frame.index in wanted:
                thumbs[frame.index] = _thumb(frame.rgb, width)
                times[frame.index] = float((frame.pts - origin) * reader.info.time_base)
                if len(thumbs) == len(wanted):
                    break
        if size is None:
            size = (reader.info.height, reader.info.width)
    return thumbs, times, size


def _draw_tile(tile: Tile, thumb, seconds, scale: float, width: int, height: int) -> np.ndarray:
    import cv2

    canvas = np.full((height + CAPTION_HEIGHT, width, 3), _BACKGROUND, np.uint8)
    caption = f"frame {tile.frame}" + (f"  {seconds:.2f} s" if seconds is not None else "")
    if tile.flagged:
        cv2.rectangle(canvas, (0, 0), (width - 1, CAPTION_HEIGHT - 1), FLAGGED, -1)
        _put(canvas, _fit(f"{caption}  FLAGGED", width - 8), 4, _LINE - 3, (0, 0, 0))
    else:
        _put(canvas, _fit(caption, width - 8), 4, _LINE - 3)
    body = canvas[CAPTION_HEIGHT:]
    if thumb is None:
        _put(body, _fit("frame not in the clip", width - 8), 4, height // 2)
        return canvas
    body[:thumb.shape[0]] = thumb[:height]
    # Obscured ones first, thin and unlabelled; the subject over them, thick and named.
    for outline in sorted(tile.outlines, key=lambda o: o.role == "subject"):
        subject = outline.role == "subject"
        x0, y0, x1, y1 = (v * scale for v in outline.box)
        p0 = (int(math.floor(x0)), int(math.floor(y0)))
        p1 = (int(math.ceil(x1)) - 1, int(math.ceil(y1)) - 1)
        cv2.rectangle(body, p0, p1, SUBJECT if subject else OBSCURED, 3 if subject else 1)
        if subject:
            ty = p0[1] - 4 if p0[1] > 14 else p1[1] + 14
            _put(body, _fit(outline.label, width - max(0, p0[0])), max(0, p0[0]), min(height - 3, ty), SUBJECT)
    if tile.flagged:
        cv2.rectangle(body, (0, height - _LINE - 2), (width - 1, height - 1), _BACKGROUND, -1)
        _put(body, _fit(tile.flagged, width - 8), 4, height - 6, FLAGGED)
        cv2.rectangle(body, (0, 0), (width - 1, height - 1), FLAGGED, 2)
    return canvas


def _key(width: int) -> np.ndarray:
    import cv2

    strip = np.full((_LINE + 6, width, 3), _BACKGROUND, np.uint8)
    x = 6
    for colour, text in ((OBSCURED, "person or vehicle obscured"),
                         (SUBJECT, "subject kept visible"), (FLAGGED, "flagged for review")):
        if x + 30 + _text_width(text) > width:
            break
        cv2.rectangle(strip, (x, 5), (x + 14, 5 + 12), colour, 2)
        _put(strip, text, x + 20, 16)
        x += 34 + _text_width(text)
    return strip


def _write_png(rgb: np.ndarray, path: Path) -> None:
    import cv2

    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"could not encode {path} as PNG")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(path)
    try:
        tmp.write_bytes(data.tobytes())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def review_sheet(clip, out_png=None, *, manifest=None, columns: int = 2, thumb_width: int = 640,
                 overwrite: bool = False) -> Path:
    """Write a contact sheet PNG of a redacted clip (or image): what the recipient will see.

    Parameters
    ----------
    clip : path
        The redacted output (video or image).
    out_png : path, optional
        Default ``<clip>.review.png``.
    manifest : dict, Manifest or path, optional
        Default ``<clip>.redaction.json``; without one, only time samples are drawn.
    columns : int
        Tiles per row.
    thumb_width : int
        Width of each tile in pixels; the sheet is ``columns * thumb_width`` wide.
    overwrite : bool
        Replace an existing ``out_png`` (never the clip itself).

    Returns
    -------
    Path
        The PNG written: a legend strip, then tiles (see `plan_tiles` for their order).
        Thin red boxes are people and vehicles obscured at their first and last frame,
        thick green boxes kept subjects, an amber caption a flagged stretch.

    Raises
    ------
    ValueError
        For a bad ``columns``/``thumb_width`` or an unreadable ``manifest``.
    redact.media.safeio.UsageError
        When ``out_png`` is the clip, or exists and ``overwrite`` is false.
    """
    for name, value, low in (("columns", columns, 1), ("thumb_width", thumb_width, 32)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"review_sheet: {name} must be a whole number >= {low}, got {value!r}")
    clip = Path(clip)
    if not clip.is_file():
        raise ValueError(f"review_sheet: {clip} is not a file; give the redacted clip")
    out = Path(out_png) if out_png is not None else clip.with_name(clip.name + ".review.png")
    check_paths(clip, out, overwrite=overwrite)
    data = _load_manifest(clip, manifest)
    kind = (data or {}).get("kind") or ("image" if is_image(clip) else "video")
    image = kind == "image"
    if image:
        frames = 1
    elif data and _frame(data.get("frames_out")):
        frames = int(data["frames_out"])
    else:
        with VideoReader(clip) as reader:
            frames = reader.info.declared_frames or sum(1 for _ in reader)
    tiles = plan_tiles(data, frames)
    thumbs, times, (height, width) = _collect(clip, {t.frame for t in tiles}, image, thumb_width)
    scale = thumb_width / width
    thumb_height = max(1, round(thumb_width * height / width))
    drawn = [_draw_tile(t, thumbs.get(t.frame), times.get(t.frame), scale, thumb_width, thumb_height) for t in tiles]
    sheet_width = columns * thumb_width
    rows = [drawn[i:i + columns] for i in range(0, len(drawn), columns)]
    blank = np.full_like(drawn[0], _BACKGROUND)
    grid = np.vstack([np.hstack(row + [blank] * (columns - len(row))) for row in rows])
    text = [line for raw in _legend(clip, data, frames, kind, sha256_file(clip) if data else "")
            for line in _wrap(raw, sheet_width - 12)]
    legend = np.full((len(text) * _LINE + 8, sheet_width, 3), _BACKGROUND, np.uint8)
    for i, line in enumerate(text):
        _put(legend, line, 6, (i + 1) * _LINE)
    parts = [legend, _key(sheet_width), grid] if data is not None else [legend, grid]  # no outlines, no key
    _write_png(np.vstack(parts), out)
    return out


def _check_seconds(at_seconds) -> float:
    if isinstance(at_seconds, bool) or not isinstance(at_seconds, numbers.Real) or not math.isfinite(at_seconds) \
            or at_seconds < 0:
        raise ValueError(f"pick: expected a time in seconds >= 0, got {at_seconds!r}")
    return float(at_seconds)


def _frame_at(clip: Path, at: float) -> tuple:
    """``(rgb, seconds)`` of the input frame nearest to ``at`` s of its own timeline."""
    best, best_t = None, float("inf")
    last_t = 0.0
    with VideoReader(clip) as reader:
        step = 1 / float(reader.info.fps) if reader.info.fps else 0.0
        origin: int | None = None
        for frame in reader:
            origin = frame.pts if origin is None else origin
            t = float((frame.pts - origin) * reader.info.time_base)
            last_t = t
            if best is None or abs(t - at) < abs(best_t - at):
                best, best_t = frame.rgb, t
            elif t > at:
                break  # presentation order: later frames are only farther
    if best is None:
        raise ValueError(f"pick: {clip} holds no frames")
    if at > last_t + step:  # only when every frame was read (a break means t > at)
        raise ValueError(f"pick: {at:g} s is past the end of {clip} (its last frame is at {last_t:.2f} s); "
                         f"give a time from 0 to {last_t:.2f}")
    return best, best_t


def keep_prefix(profile) -> str:
    """What ``--keep`` puts before a number `redact pick` drew with ``profile``: nothing for
    the default, ``PROFILE:`` otherwise (see `redact.core.incident.subject_from_text`)."""
    profile = Profile(profile)
    return "" if profile is Profile.BALANCED else f"{profile.value}:"


def pick_frame(clip, at_seconds, out_png=None, *, profile=Profile.BALANCED, models_dir=None,
               overwrite: bool = False) -> tuple[Path, list]:
    """Draw the input frame at ``at_seconds`` with every person and plate numbered.

    The numbers are those ``--keep N@T`` (a subject's ``number``) refers to: people, then
    plates, each left to right (`redact.pipeline.subjects.numbered`). The PNG shows the frame *as
    recorded*, faces and all: it is for the device's owner, not for sharing.

    Parameters
    ----------
    clip : path
        The input video (or image, with ``at_seconds`` 0).
    at_seconds : float
        Seconds of the input's own timeline (0 at its first frame); the nearest frame is used.
    out_png : path, optional
        Default ``<clip>.pick-<at_seconds>.png``.
    profile : Profile
        Detector profile that numbers them; a number given to ``--keep`` names it
        (``PROFILE:N@T``) unless it is ``balanced``, whatever profile the redaction uses.
    models_dir : path, optional
        Model cache folder (see `redact.detectors.models.models_dir`).
    overwrite : bool
        Replace an existing ``out_png`` (never the clip itself).

    Returns
    -------
    (Path, list of (int, str, tuple))
        The PNG, and ``(number, kind, (x0, y0, x1, y1))`` per numbered region, kind
        ``"person"`` or ``"plate"``, box in pixels of the input frame.

    Raises
    ------
    ValueError
        When ``at_seconds`` is negative or past the end of the clip.
    redact.media.safeio.UsageError
        When ``out_png`` is the clip, or exists and ``overwrite`` is false.
    redact.detectors.models.ModelMissingError
        When a detector model is not installed (the message says how to fetch it).
    """
    import cv2

    at = _check_seconds(at_seconds)
    clip = Path(clip)
    if not clip.is_file():
        raise ValueError(f"pick: {clip} is not a file; give the input clip")
    out = Path(out_png) if out_png is not None else clip.with_name(f"{clip.name}.pick-{at:g}.png")
    check_paths(clip, out, overwrite=overwrite)
    build_detectors({Kind.PERSON, Kind.PLATE}, profile, models_dir)  # a missing model stops us before decoding
    if is_image(clip):
        if at > 0:
            raise ValueError(f"pick: {clip} is an image, it has one frame; use the time 0")
        rgb, seconds = read_image(clip), 0.0
    else:
        rgb, seconds = _frame_at(clip, at)
    found = []
    canvas = rgb.copy()
    thick = max(2, round(max(rgb.shape[:2]) / 400))
    scale = max(0.6, max(rgb.shape[:2]) / 900)
    for number, (kind, drawn) in enumerate(numbered_boxes(rgb, profile, models_dir, still=is_image(clip)), start=1):
        kind = kind.name.lower()
        box = tuple(round(v, 1) for v in drawn)
        found.append((number, kind, box))
        colour = {"person": (255, 220, 0), "vehicle": (0, 200, 255)}.get(kind, (255, 0, 255))
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        cv2.rectangle(canvas, (x0, y0), (x1, y1), colour, thick)
        label = str(number)
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        lx, ly = max(0, x0), max(th + 6, y0)
        cv2.rectangle(canvas, (lx, ly - th - 6), (lx + tw + 6, ly), colour, -1)
        cv2.putText(canvas, label, (lx + 3, ly - 3), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick, cv2.LINE_AA)
    strip = np.full((_LINE + 8, canvas.shape[1], 3), _BACKGROUND, np.uint8)
    # What to type first: on a narrow frame the rest is cut.
    _put(strip, _fit(f"--keep {keep_prefix(profile)}N@{at:g} keeps number N; {len(found)} numbered at {seconds:.2f} s "
                     f"by profile {Profile(profile).value} (people, then plates, then vehicles, left to right)",
                     canvas.shape[1] - 8), 4, _LINE)
    _write_png(np.vstack([strip, canvas]), out)
    return out, found
