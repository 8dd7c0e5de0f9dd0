"""Typed options: how a region is obscured, what is detected, what an incident keeps."""
from __future__ import annotations

import enum
import math
import numbers
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from .types import Kind

if TYPE_CHECKING:
    from .incident import Incident


class Method(str, enum.Enum):
    """How the pixels of a region are replaced.

    ``SECURE_BLUR`` and ``FILL`` never read the pixels they hide, so nothing inside can be
    recovered (a face embedding matches them at chance, `benchmarks/reid_attack.py`).
    ``PIXELATE`` keeps at most 8 noisy cells across a region: the colour layout of a face
    survives, and an attacker who pixelates their own photos matched 47% of faces (chance
    13.5%), so it is **not** a secure method. ``BLUR`` is the classic look and is
    **reversible** by published attacks (73% matched the same way). Neither is ever the default.
    """

    @property
    def reads_hidden_pixels(self) -> bool:
        """Whether the output is computed from the pixels it hides (not secure, see above)."""
        return self in (Method.PIXELATE, Method.BLUR)

    SECURE_BLUR = "secure_blur"
    FILL = "fill"
    PIXELATE = "pixelate"
    BLUR = "blur"


class Shape(str, enum.Enum):
    """The outline obscured inside each (padded) box. ``BOX`` covers the most."""

    BOX = "box"
    ELLIPSE = "ellipse"


@dataclass(frozen=True)
class Style:
    """How one kind of region is obscured.

    Parameters
    ----------
    method : Method
        See `Method`. Default `Method.SECURE_BLUR`.
    shape : Shape
        Outline inside the padded box. Default `Shape.BOX` (an ellipse leaves the corners).
    padding : float
        Grow each box by this fraction of its width/height on every side (detectors' boxes are
        tight; hair, ears and plate frames are identifying too).
    feather : float
        Soft edge *outside* the padded shape, as a fraction of the box's longer side. It only
        ever adds coverage: the shape itself is always fully obscured.
    color : tuple of int
        RGB colour for `Method.FILL`.
    noise : float
        Amplitude (grey levels) of the seeded noise added by ``SECURE_BLUR`` and ``PIXELATE``.
    """

    method: Method = Method.SECURE_BLUR
    shape: Shape = Shape.BOX
    padding: float = 0.1
    feather: float = 0.05
    color: tuple = (0, 0, 0)
    noise: float = 8.0

    def __post_init__(self):
        object.__setattr__(self, "method", Method(self.method))
        object.__setattr__(self, "shape", Shape(self.shape))
        if not 0 <= self.padding <= 4:
            raise ValueError(f"Style.padding: expected a fraction in [0, 4], got {self.padding}")
        if not 0 <= self.feather <= 1:
            raise ValueError(f"Style.feather: expected a fraction in [0, 1], got {self.feather}")
        color = tuple(int(c) for c in self.color)
        if len(color) != 3 or not all(0 <= c <= 255 for c in color):
            raise ValueError(f"Style.color: expected three values in 0..255, got {self.color!r}")
        object.__setattr__(self, "color", color)
        if not 0 <= self.noise <= 64:
            raise ValueError(f"Style.noise: expected 0..64 grey levels, got {self.noise}")


class Profile(str, enum.Enum):
    """Speed/recall trade-off of the detectors, and how often they run.

    ``FAST`` aims at real time on a small device, ``BALANCED`` (the default) at the recall
    targets, ``THOROUGH`` at the highest recall for batch work. ``PI`` runs the ``FAST``
    detectors less often, for a Raspberry Pi 4 or 5. Every profile but ``thorough`` detects
    on every `detect_every`-th frame by default, with tracking, the motion check and the
    look-ahead hold in between (`Policy.detect_every`): measured with
    ``benchmarks/exposure.py``, that exposed no face on the six face clips (see the README).

    >>> Profile.PI.detectors, Profile.PI.detect_every, Profile.BALANCED.detect_every
    (<Profile.FAST: 'fast'>, 4, 3)
    """

    FAST = "fast"
    BALANCED = "balanced"
    THOROUGH = "thorough"
    PI = "pi"

    @property
    def detectors(self) -> "Profile":
        """The profile whose detector settings this one uses."""
        return Profile.FAST if self is Profile.PI else self

    @property
    def detect_every(self) -> int:
        """Run the detectors on every N-th frame, unless a `Policy` says otherwise."""
        return {Profile.FAST: 3, Profile.BALANCED: 3, Profile.PI: 4}.get(self, 1)


class Units(str, enum.Enum):
    """What a `Zone`'s four numbers count: pixels, or fractions of the frame's width/height."""

    PX = "px"
    FRACTION = "fraction"


#: The look-ahead holds every frame of it in memory (a 1080p frame is 6 MB): 10 s at 60 fps.
MAX_LOOKAHEAD_SECONDS, MAX_LOOKAHEAD_FRAMES = 10.0, 600
_ZONE_HELP = "e.g. 0.7,0,0.3,0.4 (fractions of the frame) or px:448,0,192,400"


@dataclass(frozen=True)
class Zone:
    """A fixed privacy zone, always obscured (like a doorbell's privacy mask).

    ``x, y`` is the top-left corner and ``w, h`` the size, in ``units``: `Units.PX` (pixels)
    or `Units.FRACTION` (of the frame's width and height). Without ``units`` the numbers
    must say it themselves: all four in [0, 1] are fractions, all four 0 or > 1 are pixels;
    anything else (``0.7,0,0.3,400``, or a size of exactly 1 beside pixel values) is
    refused rather than guessed, since a wrong guess leaves a sliver where a zone was meant.

    >>> Zone.parse("0.5,0,0.5,0.25").box(200, 100)
    (100.0, 0.0, 200.0, 25.0)
    >>> Zone.parse("px:10,0,50,1")
    Zone(x=10.0, y=0.0, w=50.0, h=1.0, units=<Units.PX: 'px'>)
    >>> str(Zone(0.7, 0, 0.3, 0.4))
    'fraction:0.7,0,0.3,0.4'
    """

    x: float
    y: float
    w: float
    h: float
    units: Units | None = None

    def __post_init__(self):
        values = []
        for name in ("x", "y", "w", "h"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise ValueError(f"Zone.{name}: expected a finite number, got {value!r}")
            values.append(float(value))
        if self.units is None:
            units = None
        else:
            try:
                units = Units(self.units)
            except ValueError:
                raise ValueError(f"Zone.units: expected 'px' or 'fraction', got {self.units!r}") from None
        units = _check_zone(values, units, _zone_text(values, units))
        for name, value in zip(("x", "y", "w", "h"), values):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "units", units)

    @property
    def relative(self) -> bool:
        """Whether the values are fractions of the frame (`Units.FRACTION`)."""
        return self.units is Units.FRACTION

    def __str__(self) -> str:
        """The zone as `parse` reads it back, unit included: ``px:448,0,192,400``."""
        return _zone_text((self.x, self.y, self.w, self.h), self.units)

    @classmethod
    def parse(cls, text: str) -> "Zone":
        """From ``"x,y,w,h"``, optionally with a unit: ``px:`` or ``fraction:`` in front, or
        ``px`` at the end. Without one, all four <= 1 are fractions and all four 0 or > 1
        pixels; a mix is a ValueError saying how to write it."""
        body, units = text.strip(), None
        for prefix, unit in (("px:", Units.PX), ("fraction:", Units.FRACTION)):
            if body.lower().startswith(prefix):
                body, units = body[len(prefix):], unit
                break
        else:
            if body.lower().endswith("px"):
                body, units = body[:-2], Units.PX
        try:
            x, y, w, h = (float(v) for v in body.split(","))
        except ValueError:
            raise ValueError(f"zone {text!r}: expected four numbers x,y,w,h, {_ZONE_HELP}") from None
        if not all(math.isfinite(v) for v in (x, y, w, h)):
            raise ValueError(f"zone {text!r}: expected four finite numbers x,y,w,h, {_ZONE_HELP}")
        # Checked here too so that messages quote the zone as the user wrote it.
        return cls(x, y, w, h, _check_zone((x, y, w, h), units, text))

    def box(self, width: int, height: int) -> tuple:
        """``x0, y0, x1, y1`` in pixels of a ``width`` x ``height`` frame."""
        sx, sy = (width, height) if self.relative else (1, 1)
        return (self.x * sx, self.y * sy, (self.x + self.w) * sx, (self.y + self.h) * sy)

    def check_inside(self, width: int, height: int) -> None:
        """Raise ValueError if the zone lies wholly outside a ``width`` x ``height`` frame: it
        would obscure nothing, which is never what was meant."""
        x0, y0, _, _ = self.box(width, height)
        if x0 >= width or y0 >= height:
            raise ValueError(f"zone {self} lies outside the {width}x{height} frame")


def _zone_text(values, units) -> str:
    """``x,y,w,h`` as `Zone.parse` reads them back exactly (shortest repr, no trailing .0)."""
    numbers_ = ",".join(repr(float(v)).removesuffix(".0") for v in values)
    return numbers_ if units is None else f"{Units(units).value}:{numbers_}"


def _check_zone(values, units, text: str) -> Units:
    """The units of a zone whose numbers are ``values`` (given ``units`` or inferred when
    None); ValueError quoting ``text`` when they are invalid or do not say their units."""
    x, y, w, h = values
    if w <= 0 or h <= 0 or min(x, y) < 0:
        raise ValueError(f"zone {text!r}: expected x, y >= 0 and w, h > 0, {_ZONE_HELP}")
    if units is None:
        if max(values) <= 1:
            units = Units.FRACTION
        elif any(0 < v < 1 for v in values):
            raise ValueError(f"zone {text!r} mixes fractions (<= 1) and pixels; write all four as fractions "
                             f"of the frame or all as pixels, or add a unit, {_ZONE_HELP}")
        elif 1 in (w, h):
            raise ValueError(f"zone {text!r} is ambiguous: a size of 1 beside pixel values reads as one pixel "
                             f"or as the whole frame; add a unit (px:{text.strip()}) or write all four as fractions")
        else:
            units = Units.PX
    if units is Units.FRACTION and max(x, y) >= 1:
        raise ValueError(f"zone {text!r} starts at or past the frame's far edge (fractions x, y must be < 1), "
                         f"{_ZONE_HELP}")
    return units


@dataclass(frozen=True)
class Policy:
    """Everything that decides what is obscured and what leaves the device.

    Parameters
    ----------
    kinds : frozenset of Kind
        What the detectors look for. Whole bodies (`Kind.PERSON`) only when asked.
    styles : tuple of (Kind or None, Style)
        How each kind is obscured; ``None`` is the fallback.
    zones : tuple of Zone
        Always obscured, in every frame.
    profile : Profile
        Detector speed/recall trade-off.
    hold_seconds : float
        How long a lost track keeps being obscured at its predicted place (backward hold).
    lookahead_seconds : float
        How far ahead the pipeline looks so a region also covers the frames *before* an
        object's first detection. 0 for live use (latency), at the cost of those frames.
        At most `MAX_LOOKAHEAD_SECONDS`: every frame of it is held in memory.
    hold_frames, lookahead_frames : int, optional
        The same in frames (look-ahead at most `MAX_LOOKAHEAD_FRAMES`); when set, they
        replace the seconds (see `in_frames`).
    detect_every : int, optional
        Run the detectors every N-th frame (tracking and a motion check fill the gaps);
        default: the profile's (`Profile.detect_every`: 3 for ``fast`` and ``balanced``, 4 for
        ``pi``, 1 for ``thorough``), and 1 for an incident that keeps subjects (their identity
        is judged on detected frames).
    keep_audio, keep_metadata : bool
        Side channels are dropped unless these are set.
    plates_only : bool
        With plates: obscure only text on vehicles (`redact.pipeline.vehicles.on_vehicle`), showing
        street and shop signs and house numbers (`Kind.TEXT`). Off by default: a plate on a
        vehicle the vehicle detector misses is text on no vehicle, and fail-closed means
        all text is obscured unless asked.
    plugins : tuple of str
        Detector plugins to run beside the built-in detectors (entry points in the
        ``redact.detectors`` group; see `redact.detectors`).
    incident : Incident, optional
        Keep only the incident (`redact.core.incident.Incident`): its window, its subjects, its
        keep zones; with subjects, people are detected and every other one hidden whole.
    """

    kinds: frozenset = frozenset({Kind.FACE, Kind.PLATE})
    styles: tuple = ((None, Style()),)
    zones: tuple = ()
    profile: Profile = Profile.BALANCED
    hold_seconds: float = 0.5
    lookahead_seconds: float = 0.5
    hold_frames: int | None = None
    lookahead_frames: int | None = None
    # None asks for the profile's; an int from construction on, which is what readers see.
    detect_every: int = None  # type: ignore[assignment]
    keep_audio: bool = False
    keep_metadata: bool = False
    incident: Incident | None = None
    plugins: tuple = ()
    plates_only: bool = False

    def __post_init__(self):
        kinds = frozenset(Kind(k) for k in self.kinds)
        if self.incident is not None:
            from .incident import Incident

            if not isinstance(self.incident, Incident):
                raise ValueError(f"Policy.incident: expected an Incident, got {type(self.incident).__name__}")
            if self.incident.subjects:
                # Naming subjects means everyone else is a bystander, hidden whole: that needs people.
                kinds |= {Kind.PERSON}
        object.__setattr__(self, "kinds", kinds)
        if isinstance(self.plugins, str) or not all(isinstance(n, str) and n for n in self.plugins):
            raise ValueError(f"Policy.plugins: expected a tuple of plugin names, got {self.plugins!r}")
        object.__setattr__(self, "plugins", tuple(self.plugins))
        object.__setattr__(self, "profile", Profile(self.profile))
        object.__setattr__(self, "zones", tuple(self.zones))
        styles = dict(self.styles)
        if None not in styles:
            styles[None] = Style()
        object.__setattr__(self, "styles", tuple(styles.items()))
        for name in ("hold_seconds", "lookahead_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < math.inf:
                raise ValueError(f"Policy.{name}: expected a finite number of seconds >= 0, got {value!r}")
        for name in ("hold_frames", "lookahead_frames"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"Policy.{name}: expected a whole number of frames >= 0, got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.lookahead_seconds > MAX_LOOKAHEAD_SECONDS or (self.lookahead_frames or 0) > MAX_LOOKAHEAD_FRAMES:
            raise ValueError(f"Policy.lookahead: at most {MAX_LOOKAHEAD_SECONDS} s or {MAX_LOOKAHEAD_FRAMES} frames "
                             "(each frame of it is held in memory), got "
                             f"{self.lookahead_seconds if self.lookahead_frames is None else self.lookahead_frames}")
        every = self.profile.detect_every if self.detect_every is None else self.detect_every
        if self.detect_every is None and self.incident is not None and self.incident.subjects:
            # A kept subject's identity is judged frame to frame on detected boxes (who its
            # box continues, who comes out of a crossing): an incident detects every frame.
            every = 1
        if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1:
            raise ValueError(f"Policy.detect_every: expected a whole number of frames >= 1, got {every!r}")
        object.__setattr__(self, "detect_every", int(every))

    def in_frames(self, fps) -> tuple[int, int]:
        """(hold, look-ahead) in frames at ``fps``: the frame counts where set, otherwise the
        seconds rounded up to whole frames (never shorter than asked).

        >>> from fractions import Fraction
        >>> Policy().in_frames(Fraction(30000, 1001))
        (15, 15)
        >>> Policy(lookahead_frames=0).in_frames(25)
        (13, 0)
        """
        fps = Fraction(fps)
        hold = math.ceil(_decimal(self.hold_seconds) * fps) if self.hold_frames is None else self.hold_frames
        ahead = (math.ceil(_decimal(self.lookahead_seconds) * fps) if self.lookahead_frames is None
                 else self.lookahead_frames)
        return int(hold), int(ahead)

    @property
    def style_map(self) -> dict:
        return dict(self.styles)


def _decimal(seconds) -> Fraction:
    """Seconds as the exact number written: 0.1 s is 1/10, not the binary float just above
    it (whose 3.0000000000000004 frames at 30 fps would round up to 4)."""
    return Fraction(seconds) if isinstance(seconds, numbers.Rational) else Fraction(repr(float(seconds)))
