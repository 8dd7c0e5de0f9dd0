"""The manifest: a content-free record of what was done, for whoever receives the clip.

It holds counts, spans, hashes and settings, never pixels, thumbnails, tag values or the
input's file name (names of doorbell clips often carry an address or a date). Nor anything
that ties two clips to one recording: the input is named by a tag keyed with the device key
with the output (``input_hmac``, `redact.record.signing.input_tag`), not its plain SHA-256, and a clip cut to an
incident's window does not record the recording's length (``frames_in`` is null then).
"""
from __future__ import annotations

import dataclasses
import enum
import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from .. import __version__
from ..core.jsonfile import MANIFEST_LIMIT, read_json
from ..media.safeio import sha256_file
from .signing import device_key, input_tag

SCHEMA = "redact.manifest/1"
MANIFEST_SUFFIX = ".redaction.json"

_TAG_GROUPS = {
    "location": ("location", "gps", "xyz", "iso6709", "latitude", "longitude"),
    "time": ("date", "time", "creation"),
    "device": ("make", "model", "serial", "software", "encoder", "handler", "firmware", "device"),
}
#: The flagged-frame reason that means a frame was not analysed (it went out obscured whole).
UNANALYSED = "detector failed"


def manifest_path(output) -> Path:
    output = Path(output)
    return output.with_name(output.name + MANIFEST_SUFFIX)


def tag_groups(keys) -> dict:
    """Count metadata tag names per group (location, time, device, other); values never read."""
    counts = {group: 0 for group in (*_TAG_GROUPS, "other")}
    for key in keys:
        low = key.lower()
        group = next((g for g, words in _TAG_GROUPS.items() if any(w in low for w in words)), "other")
        counts[group] += 1
    return counts


def _plain(value):
    """JSON-ready form of options: enums by value, dataclasses as dicts, Fractions as text."""
    if isinstance(value, enum.Enum):
        return value.value if not isinstance(value, int) else value.name.lower()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, dict):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    return value


def whole_number(value) -> int | None:
    """A JSON whole number as it is, else None (true and false are not numbers here)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Count:
    """One kind's entry in a manifest's ``counts``, read field by field: a field that is
    missing or not a whole number is None (a received manifest is the sender's JSON).

    Attributes
    ----------
    detections : int or None
        Boxes found over the clip.
    tracks : int or None
        Objects followed (a tracker breaks and repeats one object, so these overcount).
    frames : int or None
        Frames where this kind was obscured.
    at_once : int or None
        The most detected in one frame.
    """

    detections: int | None = None
    tracks: int | None = None
    frames: int | None = None
    at_once: int | None = None

    @classmethod
    def from_json(cls, entry) -> "Count | None":
        """The entry's fields, or None when ``entry`` is not a JSON object.

        >>> Count.from_json({"tracks": 9, "at_once": 3, "frames": "lots"})
        Count(detections=None, tracks=9, frames=None, at_once=3)
        """
        if not isinstance(entry, dict):
            return None
        return cls(*(whole_number(entry.get(f.name)) for f in dataclasses.fields(cls)))

    @property
    def found(self) -> int:
        """How many were found: the most at once, else the tracks, else the boxes (an image)."""
        return self.at_once or self.tracks or self.detections or 0


@dataclass(frozen=True)
class FlaggedFrame:
    """One entry of a manifest's ``flagged_frames``: an output frame that went out obscured
    whole (not analysed) or with its subject hidden (identity uncertain).

    Attributes
    ----------
    frame : int or None
        The output frame's index; None when the entry gives no whole number.
    reason : str or None
        Why, as text; None when the entry gives none (read as not analysed: the safe side).
    """

    frame: int | None
    reason: str | None

    @classmethod
    def from_json(cls, entry) -> "FlaggedFrame | None":
        """The entry's fields, or None when ``entry`` is not a JSON object.

        >>> FlaggedFrame.from_json({"frame": 12, "reason": UNANALYSED}).unanalysed
        True
        """
        if not isinstance(entry, dict):
            return None
        return cls(whole_number(entry.get("frame")), str(entry["reason"]) if "reason" in entry else None)

    @property
    def unanalysed(self) -> bool:
        """Whether the frame was not analysed, and so went out obscured whole."""
        return self.reason is None or self.reason.startswith(UNANALYSED)


@dataclass(frozen=True)
class KeptWindow:
    """An incident's window as applied: a manifest's ``incident["window"]``
    (`redact.media.video.window.WindowCut.record`), read field by field.

    Attributes
    ----------
    kept_seconds : (float, float) or None
        The input's seconds kept, first and last; None when the record gives no two numbers.
    frames_kept, frames_cut_before : int or None
        Frames inside the window, and before it; None when not a whole number.
    """

    kept_seconds: tuple[float, float] | None
    frames_kept: int | None = None
    frames_cut_before: int | None = None

    @classmethod
    def from_json(cls, window) -> "KeptWindow | None":
        """The window's fields, or None when ``window`` is not a JSON object.

        >>> KeptWindow.from_json({"kept_seconds": [1.5, "9.5"], "frames_kept": 81})
        KeptWindow(kept_seconds=(1.5, 9.5), frames_kept=81, frames_cut_before=None)
        >>> KeptWindow.from_json({"kept_seconds": {"first": 1}}).kept_seconds is None
        True
        """
        if not isinstance(window, dict):
            return None
        kept = window.get("kept_seconds") or [None, None]
        try:
            seconds: tuple[float, float] | None = (float(kept[0]), float(kept[1]))
        except (TypeError, ValueError, LookupError, OverflowError):  # no list, no numbers, an int beyond float
            seconds = None
        return cls(seconds, whole_number(window.get("frames_kept")), whole_number(window.get("frames_cut_before")))


@dataclass
class Manifest:
    """What one redaction run did. ``to_json`` gives the file written beside the output."""

    kind: str  # "video" or "image"
    tool_version: str
    policy: object  # a Policy when made, its JSON form when read back
    models: list = field(default_factory=list)  # [{"name", "sha256", "licence"}]
    input_hmac: str = ""  # redact.record.signing.input_tag of the input: only the device key's owner can check it
    output_sha256: str = ""
    frames_in: int | None = 0  # None when a window was cut: the recording's length would link its clips
    frames_out: int = 0
    timing: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)  # kind -> {"detections", "tracks", "frames", "at_once"}: `Count`
    tracks: list = field(default_factory=list)  # [{"id", "kind", "first_frame", "last_frame"}]
    flagged_frames: list = field(default_factory=list)  # [{"frame", "reason"}]: `FlaggedFrame`
    side_channels: dict = field(default_factory=dict)
    encoder: dict = field(default_factory=dict)  # {"codec", "crf", "preset", "max_bitrate"} for video
    incident: dict = field(default_factory=dict)  # the incident as applied (see jobs.incident_record)
    schema: str = SCHEMA

    def counted(self) -> dict[str, Count]:
        """``counts`` as `Count` entries, by kind."""
        return {kind: count for kind, entry in self.counts.items() if (count := Count.from_json(entry)) is not None}

    def flagged(self) -> list[FlaggedFrame]:
        """``flagged_frames`` as `FlaggedFrame` entries, in order."""
        return [f for f in map(FlaggedFrame.from_json, self.flagged_frames) if f is not None]

    def to_json(self) -> str:
        return json.dumps(_plain(dataclasses.asdict(self)), indent=2, sort_keys=True) + "\n"

    @classmethod
    def read(cls, path) -> "Manifest":
        """Read a manifest file; `redact.core.jsonfile.JsonFileError` (a ValueError) when it is not one."""
        data = read_json(path, "manifest", MANIFEST_LIMIT)
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            schema = data.get("schema") if isinstance(data, dict) else None
            raise ValueError(f"{path}: manifest schema {schema!r}, expected {SCHEMA!r}")
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def settings_record(policy, models, encoder: dict) -> dict:
    """What decides an output's content besides its input: a rerun with other settings (a
    policy asking for more, upgraded models or tool, another encoder quality) redoes the file."""
    return json.loads(json.dumps(_plain({"policy": policy, "models": list(models), "encoder": encoder,
                                         "tool_version": __version__})))


@dataclass(frozen=True)
class OwnRecord:
    """An output's manifest that reads as ours and names that very output (by sha256): only
    then is the output redact's to replace without being told to, or to skip as complete.
    A stray, empty or copied ``.redaction.json`` proves nothing about the file beside it."""

    manifest: Manifest
    output_sha256: str

    def made_with(self, settings: dict) -> bool:
        """Whether it was made with these ``settings`` (see `settings_record`): a rerun asking
        for more must not be answered with the older, lesser redaction."""
        return all(getattr(self.manifest, name) == value for name, value in settings.items())

    def made_from(self, input_sha256: str, key=None) -> bool:
        """Whether it records this input (its `redact.record.signing.input_tag` under ``key``, default
        this device's): the check that needs the key, which a cluster's client makes and its
        workers, holding none, cannot."""
        key = device_key() if key is None else key
        return self.manifest.input_hmac == input_tag(key, input_sha256, self.output_sha256)


def own_record(output) -> OwnRecord | None:
    """``output``'s `OwnRecord`, or None (no file, no manifest, a stray or damaged one, or
    one that names other bytes)."""
    output = Path(output)
    path = manifest_path(output)
    if not output.is_file() or not path.is_file():
        return None
    try:
        manifest = Manifest.read(path)
    except (ValueError, TypeError, OSError, AttributeError):
        return None
    output_sha256 = sha256_file(output)
    return OwnRecord(manifest, output_sha256) if manifest.output_sha256 == output_sha256 else None
