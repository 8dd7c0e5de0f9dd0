"""Typed options: how a region is obscured (and, later, which regions an incident keeps)."""
from __future__ import annotations

import enum
from dataclasses import dataclass


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
    feather: float = 0.08
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
