"""Typed options: how a region is obscured (and, later, which regions an incident keeps)."""
from __future__ import annotations

import enum
import math
import numbers
from dataclasses import dataclass
from fractions import Fraction

from .types import Kind


class Method(str, enum.Enum):
    """How the pixels of a region are replaced.

    ``SECURE_BLUR`` and ``FILL`` never read the pixels they hide, so nothing inside can be
    recovered. ``PIXELATE`` keeps at most 8 noisy cells across a region. ``BLUR`` is the
    classic look and is **reversible** by published attacks; it is never the default.
    """

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
    """Speed/recall trade-off of the detectors.

    ``FAST`` aims at real time on a small device, ``BALANCED`` (the default) at the recall
    targets, ``THOROUGH`` at the highest recall for batch work.
    """

    FAST = "fast"
    BALANCED = "balanced"
    THOROUGH = "thorough"


@dataclass(frozen=True)
class Zone:
    """A fixed privacy zone, always obscured (like a doorbell's privacy mask).

    Values in [0, 1] for all four are fractions of the frame; otherwise pixels.

    >>> Zone.parse("0.5,0,0.5,0.25").box(200, 100)
    (100.0, 0.0, 200.0, 25.0)
    """

    x: float
    y: float
    w: float
    h: float

    def __post_init__(self):
        if self.w <= 0 or self.h <= 0 or min(self.x, self.y) < 0:
            raise ValueError(f"Zone: expected x, y >= 0 and w, h > 0, got {self.x},{self.y},{self.w},{self.h}")

    @property
    def relative(self) -> bool:
        return max(self.x, self.y, self.w, self.h) <= 1.0

    @classmethod
    def parse(cls, text: str) -> "Zone":
        """From ``"x,y,w,h"`` (pixels, or fractions of the frame when all are <= 1)."""
        try:
            x, y, w, h = (float(v) for v in text.split(","))
        except ValueError:
            raise ValueError(f"zone {text!r}: expected four numbers x,y,w,h, e.g. 0,0,0.25,1 or 10,20,300,200") from None
        return cls(x, y, w, h)

    def box(self, width: int, height: int) -> tuple:
        """``x0, y0, x1, y1`` in pixels of a ``width`` x ``height`` frame."""
        sx, sy = (width, height) if self.relative else (1, 1)
        return (self.x * sx, self.y * sy, (self.x + self.w) * sx, (self.y + self.h) * sy)


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
    hold_frames, lookahead_frames : int, optional
        The same in frames; when set, they replace the seconds (see `in_frames`).
    detect_every : int
        Run the detectors every N-th frame (tracking and a motion check fill the gaps).
    keep_audio, keep_metadata : bool
        Side channels are dropped unless these are set.
    """

    kinds: frozenset = frozenset({Kind.FACE, Kind.PLATE})
    styles: tuple = ((None, Style()),)
    zones: tuple = ()
    profile: Profile = Profile.BALANCED
    hold_seconds: float = 0.5
    lookahead_seconds: float = 0.5
    hold_frames: int | None = None
    lookahead_frames: int | None = None
    detect_every: int = 1
    keep_audio: bool = False
    keep_metadata: bool = False

    def __post_init__(self):
        object.__setattr__(self, "kinds", frozenset(Kind(k) for k in self.kinds))
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
        if int(self.detect_every) < 1:
            raise ValueError(f"Policy.detect_every: expected >= 1, got {self.detect_every}")

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
