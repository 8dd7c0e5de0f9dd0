"""Fixed privacy zones: a `Zone` and the `Units` its four numbers count."""
from __future__ import annotations

import enum
import math
import numbers
from dataclasses import dataclass


class Units(str, enum.Enum):
    """What a `Zone`'s four numbers count: pixels, or fractions of the frame's width/height."""

    PX = "px"
    FRACTION = "fraction"


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
