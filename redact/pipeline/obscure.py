"""Public array API: validate, convert, allocate (or use ``out=``), then call a kernel."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..core.geometry import contained, pad_boxes, pixel_boxes
from ..core.policy import Method, Shape, Style
from ..core.types import Kind, Regions, check_frame  # noqa: F401 (check_frame: public here too)

#: Cells along a pixelated region's longer side: few enough that no face can be rebuilt.
PIXELATE_CELLS = 8
#: Stretches sampled along each side of the ring that spans a secure blur.
RING_SEGMENTS = 6
#: Depth of the ring sampled around a secure blur, as a share of the region's longer side.
RING_BAND = 0.03
#: Box-blur radius as a share of the region's longer side (strong enough to look blurred).
BLUR_RADIUS = 0.3

_SHAPE_CODE = {Shape.BOX: 0, Shape.ELLIPSE: 1}
_SHAPE_MASK = 2


def _check_mask(mask, frame) -> np.ndarray | None:
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.shape != frame.shape[:2]:
        raise ValueError(f"mask: expected shape {frame.shape[:2]} (the frame's H, W), got {mask.shape}")
    return np.ascontiguousarray(mask != 0)


def _same_pixels(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two arrays of one shape and dtype address exactly the same bytes, element for element."""
    return (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
            and a.strides == b.strides)


def _as_regions(regions) -> Regions:
    if isinstance(regions, Regions):
        return regions
    return Regions.from_boxes(regions)


def style_of(style: Mapping, kind: Kind) -> Style:
    """The style a mapping Kind -> Style (None: the default) gives regions of ``kind``: a
    silhouette is obscured as a person unless it has a style of its own."""
    default = style.get(None, Style())
    if kind == Kind.SILHOUETTE and kind not in style:
        return style.get(Kind.PERSON, default)
    return style.get(kind, default)


def _styles_for(regions: Regions, style) -> list[tuple[Style, np.ndarray]]:
    """Group region indices by the style that applies to their kind."""
    if isinstance(style, Style):
        return [(style, np.arange(len(regions)))]
    if not isinstance(style, Mapping):
        raise TypeError(f"style: expected a Style or a mapping Kind -> Style, got {type(style).__name__}")
    groups: dict[Style, list[int]] = {}
    for i, k in enumerate(regions.kind):
        groups.setdefault(style_of(style, Kind(int(k))), []).append(i)
    return [(s, np.asarray(idx, dtype=np.int64)) for s, idx in groups.items()]


class _Geometry:
    """Kernel geometry for every region of one call (see ``redact._kernels.obscure``)."""

    def __init__(self, n: int):
        self.shape = np.zeros(n, np.int8)
        self.core = np.zeros((n, 4), np.float64)
        self.feather = np.zeros(n, np.float64)
        self.ext = np.zeros((n, 4), np.int32)

    def take(self, index):
        return self.shape[index], self.core[index], self.feather[index], self.ext[index]


def region_geometry(xyxy, style: Style, width: int, height: int):
    """Kernel geometry of boxes under one style: ``core``, ``feather`` (px), clipped ``ext``.

    Pad, feather = ceil(feather x shorter padded side), box cores rounded outward to whole
    pixels, extent = core grown by the feather and clipped to the frame.
    """
    padded = pad_boxes(xyxy, style.padding)
    # The shorter side: scaled by the longer one, a line of text 10 times wider than tall got
    # a blended band half its height again above and below, and a tall face a wide halo.
    size = np.minimum(padded[:, 2] - padded[:, 0], padded[:, 3] - padded[:, 1])
    feather = np.ceil(style.feather * size)
    if style.shape is Shape.BOX:
        # Box cores are whole pixels, rounded outward like every other box.
        core = np.concatenate([np.floor(padded[:, :2]), np.ceil(padded[:, 2:])], axis=1)
    else:
        core = padded
    grown = core + np.stack([-feather, -feather, feather, feather], axis=1)
    return core, feather, pixel_boxes(grown, width, height)


def _drawn(geo: _Geometry, style: Style, idx: np.ndarray) -> np.ndarray:
    """The regions of one style group worth drawing.

    A box whose padded core and soft edge lie within another box of its style is hidden
    wholly by that box (its core fully, every pixel of its soft edge at least as much), so it
    is drawn once, by the outer box; where such boxes' soft edges overlapped, the edge was
    blended twice before and is blended once now, as for one detection. Trackers and holds
    repeat one face many times over (docs/measurements.md, "Nested boxes drawn once").

    Parameters
    ----------
    geo : _Geometry
        The call's geometry.
    style : Style
        The group's style; ellipses are all drawn (one inside another's box may stick out).
    idx : ndarray of int
        The group's rows.

    Returns
    -------
    ndarray of int
        The rows of ``idx`` to draw, in order.
    """
    if style.shape is not Shape.BOX or len(idx) < 2:
        return idx
    core, feather = geo.core[idx], geo.feather[idx]
    # within[i, j]: box i lies in box j, its soft edge no wider. Of two such equal boxes the
    # later one goes.
    within = contained(core, core) & (feather[:, None] <= feather[None, :])
    order = np.arange(len(idx))
    covered = within & (~within.T | (order[None, :] < order[:, None]))
    np.fill_diagonal(covered, False)
    return idx[~covered.any(axis=1)]


def _geometry(regions: Regions, groups, mask, width: int, height: int) -> _Geometry:
    """Geometry of every region; the mask, if any, is the last row."""
    geo = _Geometry(len(regions) + (mask is not None))
    for style, idx in groups:
        core, feather, ext = region_geometry(regions.xyxy[idx], style, width, height)
        geo.shape[idx] = _SHAPE_CODE[style.shape]
        geo.core[idx] = core
        geo.feather[idx] = feather
        geo.ext[idx] = ext
    if mask is not None:
        ys, xs = np.nonzero(mask)
        geo.shape[-1] = _SHAPE_MASK
        if len(xs):
            box = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
            geo.core[-1] = box
            geo.ext[-1] = box
    return geo


def obscure(frame, regions, style=Style(), *, mask=None, seed: int = 0, out=None) -> np.ndarray:
    """Obscure regions of an RGB (or BGR) frame.

    Parameters
    ----------
    frame : ndarray, uint8, shape (H, W, 3)
        Any size from 1x1. Grayscale and 4-channel frames are refused with the conversion
        to use: silently guessing a channel layout could leave a region visible.
    regions : Regions or array_like (N, 4)
        Float ``x0, y0, x1, y1`` boxes; off-frame, empty and overlapping boxes are fine.
    style : Style or Mapping[Kind | None, Style]
        One style for all regions, or one per `Kind` (key ``None`` is the fallback).
    mask : array_like (H, W), optional
        Extra per-pixel silhouette (non-zero = obscure), drawn in the style of `Kind.PERSON`.
    seed : int
        Seeds the noise of ``SECURE_BLUR`` and ``PIXELATE``. Use a fresh random value per
        frame in production so the noise cannot be reproduced and subtracted.
    out : ndarray, optional
        Where to write (same shape, uint8, C-contiguous); may be ``frame`` itself or a view
        of it for in-place work (any memory shared with ``frame`` is detected). Without it
        the input is left untouched and a new array is returned.

    Returns
    -------
    ndarray
        ``out`` if given, else a new array. Pixels outside every region (padding and feather
        included) are bit-identical to the input.

    Examples
    --------
    >>> frame = np.full((20, 20, 3), 200, np.uint8)
    >>> result = obscure(frame, [[5, 5, 10, 10]], Style(method=Method.FILL, padding=0, feather=0))
    >>> int(result[7, 7, 0]), int(result[0, 0, 0]), int(frame[7, 7, 0])
    (0, 200, 200)
    """
    from .._kernels import obscure as k  # numba (~1 s): on the first obscured frame only

    frame = check_frame(frame)
    regions = _as_regions(regions)
    mask = _check_mask(mask, frame)
    if out is not None:
        if not isinstance(out, np.ndarray) or out.shape != frame.shape or out.dtype != np.uint8:
            raise ValueError(f"out: expected a uint8 array of shape {frame.shape}, got "
                             f"{getattr(out, 'dtype', type(out).__name__)} {getattr(out, 'shape', '')}")
        if not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError("out: expected a writeable C-contiguous array")
    # In-place work is any ``out`` sharing memory with the frame, not just ``out is frame``:
    # a view (``frame[:]``, or another window on the same buffer) is overwritten just the same.
    in_place = False
    if out is None:
        out = frame.copy()
    elif _same_pixels(out, frame):
        in_place = True  # out is frame, or a view of exactly the same pixels
    elif np.shares_memory(out, frame):
        # Partly overlapping: writing ``out`` corrupts the frame before it is read, so
        # work from a snapshot, exactly as if the frame had been a separate array.
        frame = frame.copy()
        np.copyto(out, frame)
    else:
        np.copyto(out, frame)
    height, width = frame.shape[:2]
    groups = _styles_for(regions, style)
    geo = _geometry(regions, groups, mask, width, height)
    if mask is not None:
        mask_style = style if isinstance(style, Style) else style.get(Kind.PERSON, style.get(None, Style()))
        groups.append((mask_style, np.array([len(regions)], np.int64)))
    # Pixelate and blur read the pixels they hide, so in-place work gives them a snapshot of
    # the input. Fill reads nothing and secure blur only the ring outside every region,
    # which no region writes: they can read ``out`` itself.
    reads_inside = any(s.method.reads_hidden_pixels for s, _ in groups)
    src = frame.copy() if in_place and reads_inside else np.ascontiguousarray(frame)
    mask_arr = mask if mask is not None else np.zeros((1, 1), np.bool_)
    seed_u64 = np.uint64(seed & 0xFFFFFFFFFFFFFFFF)
    for style, idx in groups:
        idx = _drawn(geo, style, idx)
        shape, core, feather, ext = geo.take(idx)
        method = style.method
        if method is Method.FILL:
            k.fill_kernel(out, shape, core, feather, ext, mask_arr, np.asarray(style.color, np.float64))
        elif method is Method.SECURE_BLUR:
            # Sampling band and ring exclusions use every region of the call, whatever its style.
            size = np.maximum(ext[:, 2] - ext[:, 0], ext[:, 3] - ext[:, 1])
            band = np.maximum(2, np.ceil(RING_BAND * size)).astype(np.int64)
            k.secure_blur_kernel(src, out, shape, core, feather, geo.ext, idx, mask_arr,
                                 band, RING_SEGMENTS, style.noise, seed_u64)
        elif method is Method.PIXELATE:
            k.pixelate_kernel(src, out, shape, core, feather, ext, mask_arr, PIXELATE_CELLS,
                              style.noise, seed_u64)
        else:
            size = np.maximum(ext[:, 2] - ext[:, 0], ext[:, 3] - ext[:, 1])
            radius = np.maximum(1, np.ceil(BLUR_RADIUS * size)).astype(np.int64)
            k.blur_kernel(src, out, shape, core, feather, ext, mask_arr, radius)
    return out
