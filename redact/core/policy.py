"""Typed options: how a region is obscured, what is detected, what an incident keeps."""
from __future__ import annotations

import enum
import math
import numbers
from dataclasses import dataclass
from fractions import Fraction

from .incident import Incident
from .profile import Profile
from .types import Kind


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
        Soft edge *outside* the padded shape, as a fraction of the box's shorter side. It only
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


#: The look-ahead holds every frame of it in memory (a 1080p frame is 6 MB): 10 s at 60 fps.
MAX_LOOKAHEAD_SECONDS, MAX_LOOKAHEAD_FRAMES = 10.0, 600
#: Frames between scheduled detections, at most. Between them a track is never ended and its
#: held box widens by 5% of its size per frame on every side (`redact.pipeline.tracking`);
#: the motion check excuses motion inside it, so a long gap lets the held boxes swallow the
#: frame and the check stop asking: at 10**9 a fixed camera's clip (intel one-by-one, 0-30 s)
#: was detected on 9 of 300 frames, left a head uncovered on 4 and ended as one grey slab.
#: 15 is the default hold and look-ahead (0.5 s) at 30 fps: a newcomer the motion check
#: misses is found by the next scheduled detection and drawn back over the frames before it.
MAX_DETECT_EVERY = 15


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
        Run the detectors every N-th frame (tracking and a motion check fill the gaps), 1 to
        `MAX_DETECT_EVERY`;
        default: the profile's (`Profile.detect_every`: 3 for ``fast`` and ``balanced``, 4 for
        ``pi``, 1 for ``thorough``), and 1 for an incident that keeps subjects (their identity
        is judged on detected frames).
    keep_audio, keep_metadata : bool
        Side channels are dropped unless these are set.
    plates_only : bool
        With plates: obscure only text on vehicles (`redact.core.geometry.on_vehicle`), showing
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
        if isinstance(every, bool) or not isinstance(every, numbers.Integral) or not 1 <= every <= MAX_DETECT_EVERY:
            raise ValueError(f"Policy.detect_every: expected a whole number of frames from 1 to {MAX_DETECT_EVERY} "
                             f"(longer gaps between detections expose faces that enter), got {every!r}")
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
