"""What an incident keeps: its time window, its subjects, the zones where it happened.

An `Incident` is read from a JSON file whose form is fixed, so other tools can write it::

    {"units": "px",
     "window": {"start": 2.0, "end": 20.0, "margin": 0.5},
     "subjects": [{"t": 5.0, "point": [410, 220], "hide_face": false}],
     "keep_zones": [[[0, 0], [640, 0], [640, 360], [0, 360]]],
     "privacy_zones": [[500, 0, 140, 120]],
     "request": "police request 2026-118", "recipient": "Anytown PD", "purpose": "parcel theft"}

``units`` is ``"px"`` (pixels of the input frame) or ``"fraction"`` (0-1 of its width and
height), stated, never guessed. Times are seconds of the input's own timeline (0 at its
first frame). A subject is picked by a ``point``, a ``box`` (``[x, y, w, h]``) or the
``number`` that ``redact pick`` printed on it; ``"anchors"`` (a list of further ``{"t", "point"|
"box"|"number"}``) gives the same subject at other times, to re-join it where it was lost
or its identity was in doubt. The rules these feed are in `redact.pipeline.compose`.

>>> inc = Incident.from_dict({"units": "fraction", "window": {"start": 1, "end": 2}})
>>> inc.window.contains(0.5), inc.window.contains(1.5)
(False, True)
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

from .jsonfile import INCIDENT_LIMIT, JsonFileError, read_json
from .profile import Profile
from .safetext import unsafe_reason
from .zones import Units, Zone

_FIELDS = {"units", "window", "subjects", "keep_zones", "privacy_zones", "request", "recipient", "purpose"}
_SUBJECT_FIELDS = {"t", "point", "box", "number", "numbered_by", "hide_face", "anchors"}


class IncidentError(ValueError):
    """An incident description that cannot be applied as written; the message says where."""


#: How far outside the frame a keep-zone corner may lie, in frame sizes: enough for any edge
#: drawn past the frame, and far from the int32 pixels the zone is drawn in (a corner at
#: 1e308 px became -2**31 there, and the zone kept the frame's other side visible).
MAX_CORNER_OUTSIDE = 100


def _number(value, where: str, *, minimum=None) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise IncidentError(f"{where}: expected a number, got {value!r}")
    if minimum is not None and value < minimum:
        raise IncidentError(f"{where}: expected >= {minimum}, got {value!r}")
    return float(value)


def _pair(value, where: str) -> tuple:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise IncidentError(f"{where}: expected [x, y], got {value!r}")
    return tuple(_number(v, where) for v in value)


def _area(corners) -> float:
    """Shoelace area of a polygon's corners."""
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1]))) / 2


def _check_units(values, units: Units, where: str) -> None:
    if units is Units.FRACTION and any(not 0 <= v <= 1 for v in values):
        raise IncidentError(f"{where}: units are 'fraction' but {list(values)} is not within 0..1; "
                            "use pixels with \"units\": \"px\"")


@dataclass(frozen=True)
class Window:
    """Seconds of the input kept: ``[start - margin, end + margin]``; the rest is cut."""

    start: float
    end: float
    margin: float = 0.0

    def __post_init__(self):
        for name in ("start", "end", "margin"):
            object.__setattr__(self, name, _number(getattr(self, name), f"window.{name}", minimum=0))
        if self.end <= self.start:
            raise IncidentError(f"window: end ({self.end} s) must be after start ({self.start} s)")

    @property
    def first(self) -> float:
        return max(0.0, self.start - self.margin)

    @property
    def last(self) -> float:
        return self.end + self.margin

    def contains(self, seconds: float) -> bool:
        return self.first <= seconds <= self.last


@dataclass(frozen=True)
class Subject:
    """The person or vehicle at ``point`` (or in ``box``, or numbered ``number``) at ``t`` s.

    It stays visible for as long as it is followed, forwards and backwards from ``t``;
    ``hide_face`` keeps the body but obscures the face. A vehicle keeps its own plate.

    A ``number`` is the one `redact pick` drew with the detectors of ``numbered_by``
    (default ``balanced``, pick's default), whatever profile the redaction itself uses:
    it is resolved to the box pick drew (``drawn``, set by `redact.pipeline.subjects.resolve_numbers`)
    and kept only if this run finds a person or plate on that box.

    ``anchors`` are the same subject given at other times (each a `Subject` without anchors
    of its own): it is followed from every anchor, and where the anchors disagree about who
    it is, it is hidden.
    """

    t: float
    point: tuple | None = None
    box: tuple | None = None  # x, y, w, h
    number: int | None = None
    numbered_by: Profile | str | None = None
    hide_face: bool = False
    anchors: tuple = ()
    #: x0, y0, x1, y1 px of the box `redact pick` drew for ``number`` (never read from a file).
    drawn: tuple | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "t", _number(self.t, "subject.t", minimum=0))
        if not isinstance(self.anchors, (list, tuple)):
            raise IncidentError(f"subject.anchors: expected a list of {{\"t\", \"point\"|\"box\"|\"number\"}}, "
                                f"got {self.anchors!r}")
        anchors = tuple(_anchor(a) for a in self.anchors)
        if len({a.t for a in anchors} | {self.t}) != len(anchors) + 1:
            raise IncidentError(f"subject at {self.t} s: two anchors at one time; give each time once")
        object.__setattr__(self, "anchors", anchors)
        given = [name for name in ("point", "box", "number") if getattr(self, name) is not None]
        if len(given) != 1:
            raise IncidentError(f"subject at {self.t} s: give exactly one of point, box or number, got "
                                f"{given or 'none'}")
        if self.point is not None:
            object.__setattr__(self, "point", _pair(self.point, "subject.point"))
        if self.box is not None:
            box = self.box
            if not isinstance(box, (list, tuple)) or len(box) != 4:
                raise IncidentError(f"subject.box: expected [x, y, w, h], got {box!r}")
            box = tuple(_number(v, "subject.box", minimum=0) for v in box)
            if box[2] <= 0 or box[3] <= 0:
                raise IncidentError(f"subject.box: expected w, h > 0, got {list(box)}")
            object.__setattr__(self, "box", box)
        if self.number is not None and (isinstance(self.number, bool) or not isinstance(self.number, int)
                                        or self.number < 1):
            raise IncidentError(f"subject.number: expected a whole number >= 1 (from `redact pick`), got "
                                f"{self.number!r}")
        if self.numbered_by is not None:
            if self.number is None:
                raise IncidentError("subject.numbered_by: names the profile `redact pick` numbered with; give it "
                                    "with a number")
            try:
                object.__setattr__(self, "numbered_by", Profile(self.numbered_by))
            except ValueError:
                raise IncidentError(f"subject.numbered_by: expected one of {[p.value for p in Profile]}, got "
                                    f"{self.numbered_by!r}") from None
        elif self.number is not None:
            object.__setattr__(self, "numbered_by", Profile.BALANCED)
        if not isinstance(self.hide_face, bool):
            raise IncidentError(f"subject.hide_face: expected true or false, got {self.hide_face!r}")

    def every_anchor(self) -> tuple:
        """This subject at its own ``t``, then at each of its ``anchors``."""
        import dataclasses

        return (dataclasses.replace(self, anchors=()), *self.anchors)

    def target_px(self, units: Units, width: int, height: int) -> tuple | None:
        """``x0, y0, x1, y1`` in pixels that picks the subject (a point is a zero-size box)."""
        sx, sy = (width, height) if units is Units.FRACTION else (1, 1)
        if self.point is not None:
            x, y = self.point
            return (x * sx, y * sy, x * sx, y * sy)
        if self.box is not None:
            x, y, w, h = self.box
            return (x * sx, y * sy, (x + w) * sx, (y + h) * sy)
        return None

    def describe(self) -> str:
        how = (f"point {list(self.point)}" if self.point is not None else
               f"box {list(self.box)}" if self.box is not None else
               f"number {self.number} of `redact pick --profile {Profile(self.numbered_by).value}`")
        return f"subject at {self.t:g} s ({how})"


def _anchor(value) -> "Subject":
    if isinstance(value, Subject):
        anchor = value
    elif isinstance(value, dict) and "t" in value and set(value) <= _SUBJECT_FIELDS - {"anchors", "hide_face"}:
        anchor = Subject(**value)
    else:
        raise IncidentError(f"subject.anchors: expected {{\"t\", \"point\"|\"box\"|\"number\"}} each, got {value!r}")
    if anchor.anchors:
        raise IncidentError("subject.anchors: an anchor has no anchors of its own; list them all on the subject")
    return anchor


@dataclass(frozen=True)
class Incident:
    """An incident to share: what is kept (window, subjects, keep zones) and the request.

    Parameters
    ----------
    units : Units
        Of every point, box and zone below.
    window : Window, optional
        Frames outside it are cut; None keeps the whole clip.
    subjects : tuple of Subject
        Kept visible; every other person is obscured whole, with every other face and plate.
    keep_zones : tuple of polygons
        Each a tuple of ``(x, y)`` corners. Outside every keep zone, everything is obscured.
    privacy_zones : tuple of Zone
        Obscured over everything, subjects included.
    request, recipient, purpose : str
        Who asked, who receives, why: recorded in the signed manifest and the share log.
    """

    units: Units = Units.PX
    window: Window | None = None
    subjects: tuple = ()
    keep_zones: tuple = ()
    privacy_zones: tuple = ()
    request: str = ""
    recipient: str = ""
    purpose: str = ""

    def __post_init__(self):
        try:
            units = Units(self.units)
        except ValueError:
            raise IncidentError(f"units: expected 'px' or 'fraction', got {self.units!r}") from None
        object.__setattr__(self, "units", units)
        object.__setattr__(self, "subjects", tuple(self.subjects))
        for s in self.subjects:
            if not isinstance(s, Subject):
                raise IncidentError(f"subjects: expected Subject objects, got {type(s).__name__}")
            target = s.point or s.box
            if target is not None:
                _check_units(target, units, s.describe())
        polygons = []
        for i, polygon in enumerate(self.keep_zones):
            corners = tuple(_pair(c, f"keep_zones[{i}]") for c in polygon)
            if len(corners) < 3:
                raise IncidentError(f"keep_zones[{i}]: a polygon needs at least 3 corners, got {len(corners)}")
            if _area(corners) == 0:
                # Its outline would still be drawn: a line of original pixels across the frame.
                raise IncidentError(f"keep_zones[{i}]: the corners {[list(c) for c in corners]} enclose no area")
            _check_units([v for c in corners for v in c], units, f"keep_zones[{i}]")
            polygons.append(corners)
        object.__setattr__(self, "keep_zones", tuple(polygons))
        zones = []
        for z in self.privacy_zones:
            zone = z if isinstance(z, Zone) else None
            if zone is None:
                if not isinstance(z, (list, tuple)) or len(z) != 4:
                    raise IncidentError(f"privacy_zones: expected [x, y, w, h], got {z!r}")
                try:
                    zone = Zone(*z, units=units)
                except ValueError as exc:
                    raise IncidentError(f"privacy_zones: {exc}") from None
            zones.append(zone)
        object.__setattr__(self, "privacy_zones", tuple(zones))
        for name in ("request", "recipient", "purpose"):
            value = getattr(self, name)
            if not isinstance(value, str) or len(value) > 500:
                raise IncidentError(f"{name}: expected one line of text (under 500 characters), got {value!r}")
            # Shown later on terminals and the review sheet: text must display as it reads.
            why = unsafe_reason(value)
            if why is not None:
                raise IncidentError(f"{name}: expected one line of text that reads as it displays, but {why}; "
                                    "type it plainly, without that character")

    @classmethod
    def from_dict(cls, data: dict) -> "Incident":
        """From the JSON form (see the module docstring); unknown keys are refused."""
        if not isinstance(data, dict):
            raise IncidentError(f"incident: expected a JSON object, got {type(data).__name__}")
        unknown = set(data) - _FIELDS
        if unknown:
            raise IncidentError(f"incident: unknown field {sorted(unknown)[0]!r}; expected {sorted(_FIELDS)}")
        if "units" not in data and any(k in data for k in ("subjects", "keep_zones", "privacy_zones")):
            raise IncidentError("incident: state \"units\": \"px\" or \"fraction\" (never guessed)")
        window = data.get("window")
        if window is not None:
            if not isinstance(window, dict) or not {"start", "end"} <= set(window) <= {"start", "end", "margin"}:
                raise IncidentError(f"window: expected {{\"start\", \"end\", \"margin\"}}, got {window!r}")
            window = Window(**window)
        subjects = []
        for s in data.get("subjects", ()):
            if not isinstance(s, dict) or not set(s) <= _SUBJECT_FIELDS or "t" not in s:
                raise IncidentError(f"subjects: expected {{\"t\", \"point\"|\"box\"|\"number\", \"hide_face\"}}, "
                                    f"got {s!r}")
            subjects.append(Subject(**s))
        return cls(units=data.get("units", "px"), window=window, subjects=tuple(subjects),
                   keep_zones=tuple(data.get("keep_zones", ())), privacy_zones=tuple(data.get("privacy_zones", ())),
                   **{k: data.get(k, "") for k in ("request", "recipient", "purpose")})

    @classmethod
    def load(cls, path) -> "Incident":
        try:
            data = read_json(path, "incident file", INCIDENT_LIMIT)
        except FileNotFoundError:
            raise IncidentError(f"incident file {path} does not exist; give the incident JSON file") from None
        except JsonFileError as exc:
            raise IncidentError(str(exc)) from None
        return cls.from_dict(data)

    def keep_polygons_px(self, width: int, height: int) -> list:
        """Keep zones as float (K, 2) corner arrays in pixels."""
        import numpy as np

        scale = np.array([width, height] if self.units is Units.FRACTION else [1, 1], np.float64)
        return [np.asarray(p, np.float64) * scale for p in self.keep_zones]

    def check_frame(self, width: int, height: int) -> None:
        """Refuse zones and subject targets that lie outside a ``width`` x ``height`` frame,
        and keep-zone corners farther out than `MAX_CORNER_OUTSIDE` frames."""
        for zone in self.privacy_zones:
            zone.check_inside(width, height)
        reach = MAX_CORNER_OUTSIDE * max(width, height)
        for i, polygon in enumerate(self.keep_polygons_px(width, height)):
            far = polygon[(polygon < -reach).any(axis=1) | (polygon > [width + reach, height + reach]).any(axis=1)]
            if len(far):
                raise IncidentError(f"keep_zones[{i}]: the corner {far[0].tolist()} lies far outside the "
                                    f"{width}x{height} frame (more than {MAX_CORNER_OUTSIDE} frames beyond it); "
                                    "put the corners on or near the frame")
            if (polygon[:, 0].min() >= width or polygon[:, 1].min() >= height or polygon[:, 0].max() <= 0
                    or polygon[:, 1].max() <= 0):
                raise IncidentError(f"keep_zones[{i}] lies outside the {width}x{height} frame")
        for s in self.subjects:
            for anchor in s.every_anchor():
                target = anchor.target_px(self.units, width, height)
                if target is not None and (target[0] > width or target[1] > height):
                    raise IncidentError(f"{anchor.describe()} lies outside the {width}x{height} frame")


def seconds_from_text(text: str) -> float:
    """``12.5``, ``1:02.5`` or ``1:00:02`` -> seconds.

    >>> seconds_from_text("1:02.5")
    62.5
    """
    parts = text.strip().split(":")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise IncidentError(f"time {text!r}: expected seconds (12.5) or [h:]m:s (1:02.5)") from None
    if len(values) > 3 or any(v < 0 or not math.isfinite(v) for v in values):
        raise IncidentError(f"time {text!r}: expected seconds (12.5) or [h:]m:s (1:02.5)")
    total = 0.0
    for v in values:
        total = total * 60 + v
    return total


def window_from_text(text: str, margin: float = 0.0) -> Window:
    """``START,END`` (seconds or [h:]m:s) -> `Window`."""
    bits = text.split(",")
    if len(bits) != 2:
        raise IncidentError(f"window {text!r}: expected START,END, e.g. 2,20 or 1:02,1:30")
    return Window(seconds_from_text(bits[0]), seconds_from_text(bits[1]), margin)


def subject_from_text(text: str, hide_face: bool = False) -> Subject:
    """``[PROFILE:]N@T`` (number from `redact pick`), ``X,Y@T`` (a point) or ``X,Y,W,H@T`` (a box);
    several joined by ``+`` are one subject at several times (anchors).

    ``PROFILE`` is the ``--profile`` `redact pick` ran with (it prints it when not the default).

    >>> subject_from_text("3@12.5").number, subject_from_text("410,220@5").point
    (3, (410.0, 220.0))
    >>> subject_from_text("fast:16@5").numbered_by.value
    'fast'
    >>> [a.t for a in subject_from_text("3@5+7@12").anchors]
    [12.0]
    """
    first, *more = text.split("+")
    subject = _one_subject(first, hide_face)
    if more:
        import dataclasses

        subject = dataclasses.replace(subject, anchors=tuple(_one_subject(m, False) for m in more))
    return subject


def _one_subject(text: str, hide_face: bool) -> Subject:
    what, at, when = text.rpartition("@")
    if not at:
        raise IncidentError(f"subject {text!r}: expected N@T, X,Y@T or X,Y,W,H@T, e.g. 3@12.5 or 410,220@5")
    t = seconds_from_text(when)
    profile, colon, what = what.rpartition(":")
    if colon and "," not in what:
        return Subject(t=t, number=_whole(what, text), numbered_by=profile, hide_face=hide_face)
    if colon:
        raise IncidentError(f"subject {text!r}: only a number (PROFILE:N@T) names a profile")
    bits = what.split(",")
    try:
        if len(bits) == 1:
            return Subject(t=t, number=_whole(bits[0], text), hide_face=hide_face)
        values = [float(b) for b in bits]
    except ValueError:
        raise IncidentError(f"subject {text!r}: expected N@T, X,Y@T or X,Y,W,H@T, e.g. 3@12.5 or 410,220@5") from None
    if len(values) == 2:
        return Subject(t=t, point=tuple(values), hide_face=hide_face)
    if len(values) == 4:
        return Subject(t=t, box=tuple(values), hide_face=hide_face)
    raise IncidentError(f"subject {text!r}: expected N@T, X,Y@T or X,Y,W,H@T, e.g. 3@12.5 or 410,220@5")


def _whole(text: str, subject: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise IncidentError(f"subject {subject!r}: expected N@T, X,Y@T or X,Y,W,H@T, e.g. 3@12.5 or "
                            "410,220@5") from None


def polygon_from_text(text: str) -> tuple:
    """``X,Y;X,Y;X,Y`` -> corners.

    >>> polygon_from_text("0,0;640,0;640,360")
    ((0.0, 0.0), (640.0, 0.0), (640.0, 360.0))
    """
    try:
        corners = tuple(tuple(float(v) for v in c.split(",")) for c in text.split(";") if c.strip())
    except ValueError:
        corners = ()
    if len(corners) < 3 or any(len(c) != 2 for c in corners):
        raise IncidentError(f"keep zone {text!r}: expected at least 3 corners X,Y;X,Y;X,Y, e.g. 0,0;640,0;640,360")
    return corners
