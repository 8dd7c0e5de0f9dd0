"""OpenCV compositions of the four ``redact`` obscuring methods, one region at a time.

These are the baselines ``bench_obscure.py`` races against ``redact.pipeline.obscure.obscure``. Each
one does the same visual operation as the matching Numba kernel, built from vectorised
OpenCV calls rather than per-pixel Python:

* the region geometry (padding, feather, clipped extent) is the one ``redact`` uses;
* the coverage mask is the shape drawn with ``cv2.ellipse`` / ``cv2.rectangle``, grown by
  half the feather, box-blurred across the feather and redrawn so the shape stays fully
  covered (the kernels' "feather only adds coverage" rule);
* the obscured patch, computed from the untouched source frame as the kernels do, is
  blended over ``out`` with two scaled ``cv2.multiply`` and a ``cv2.add`` (all uint8).

The patches themselves:

``FILL``        a constant colour.
``BLUR``        box mean of radius 0.3 x the extent's longer side over a crop grown by the
                radius, from ``cv2.integral`` and four shifted views (the same output as
                ``cv2.blur`` on that crop, measured ~25% faster for large radii).
``PIXELATE``    ``cv2.resize`` down to at most 8 cells (``INTER_AREA``), seeded noise per
                cell, ``cv2.resize`` up (``INTER_NEAREST``).
``SECURE_BLUR`` segment means of the ring around the extent (pixels inside any region's
                extent excluded; ``cv2.reduce`` per side), a Coons patch of those means on
                a small grid, ``cv2.resize`` up (``INTER_LINEAR``), then uniform noise from
                ``Generator.bytes`` added by ``cv2.addWeighted`` (faster than ``cv2.randu``).

Results are close to, not bit-identical with, ``redact``'s: they are for timing and for
eyeballing, not a reference implementation.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from redact.core.policy import Method, Shape, Style
from redact.pipeline.obscure import BLUR_RADIUS, PIXELATE_CELLS, RING_SEGMENTS
from redact.pipeline.obscure import region_geometry as ops_region_geometry

#: Coons-patch samples per ring segment before the bilinear upscale.
_GRID_PER_SEGMENT = 2


def region_geometry(boxes, style: Style, width: int, height: int):
    """Per-region ``core`` (float x0, y0, x1, y1), ``feather`` (int px), ``ext`` (int32 box),
    by the very rules `redact.pipeline.obscure.obscure` uses."""
    core, feather, ext = ops_region_geometry(boxes, style, width, height)
    return core, feather.astype(np.int64), ext


def _draw_shape(mask, shape: Shape, core, grow: float) -> None:
    """Fill ``core`` (in mask coordinates) grown by ``grow`` pixels with 255."""
    x0, y0, x1, y1 = core
    if shape is Shape.BOX:
        g = int(math.ceil(grow))
        cv2.rectangle(mask, (int(x0) - g, int(y0) - g), (int(x1) - 1 + g, int(y1) - 1 + g), 255, -1)
        return
    # Pixel (x, y) spans [x, x+1); OpenCV puts pixel centres on integers, so shift by 0.5.
    # The extra 0.5 on each axis counts every pixel the ellipse touches (fail closed).
    scale = 16  # shift=4: sub-pixel centre and axes
    centre = (round((0.5 * (x0 + x1) - 0.5) * scale), round((0.5 * (y0 + y1) - 0.5) * scale))
    axes = (round((0.5 * (x1 - x0) + 0.5 + grow) * scale), round((0.5 * (y1 - y0) + 0.5 + grow) * scale))
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 255, -1, cv2.LINE_8, 4)


def coverage_mask(shape: Shape, core, feather: int, ext) -> np.ndarray:
    """uint8 coverage over ``ext``: 255 on the shape, a ramp over ``feather`` px outside it."""
    x0, y0, x1, y1 = ext
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    local = (core[0] - x0, core[1] - y0, core[2] - x0, core[3] - y0)
    if feather > 0:
        half = (feather + 1) // 2
        _draw_shape(mask, shape, local, half)
        cv2.blur(mask, (2 * half + 1, 2 * half + 1), dst=mask)
    _draw_shape(mask, shape, local, 0.0)
    return mask


def _blend(out, ext, patch, mask) -> None:
    """``out[ext] = out[ext] * (1 - mask/255) + patch * mask/255``, in place (uint8).

    ``patch`` is a uint8 image of the extent's size or, for a flat colour, a 4-tuple scalar.
    """
    x0, y0, x1, y1 = ext
    roi = out[y0:y1, x0:x1]
    weight = cv2.merge([mask, mask, mask])
    kept = cv2.multiply(roi, cv2.bitwise_not(weight), scale=1 / 255)
    cv2.add(kept, cv2.multiply(weight, patch, scale=1 / 255), dst=roi)


def fill_patch(color) -> tuple:
    """A flat colour needs no image: ``_blend`` scales the mask by it directly."""
    return (*color, 0)


def blur_patch(src, ext) -> np.ndarray:
    """Box mean of radius 0.3 x the extent's longer side (frame edges mirrored)."""
    h, w = src.shape[:2]
    x0, y0, x1, y1 = ext
    r = max(1, math.ceil(BLUR_RADIUS * max(x1 - x0, y1 - y0)))
    k = 2 * r + 1
    wx0, wy0, wx1, wy1 = max(0, x0 - r), max(0, y0 - r), min(w, x1 + r), min(h, y1 + r)
    window = src[wy0:wy1, wx0:wx1]
    pads = (r - (y0 - wy0), r - (wy1 - y1), r - (x0 - wx0), r - (wx1 - x1))
    if any(pads):
        window = cv2.copyMakeBorder(window, *pads, cv2.BORDER_REFLECT)
    sat = cv2.integral(window)
    sums = cv2.subtract(cv2.add(sat[k:, k:], sat[:-k, :-k]), cv2.add(sat[:-k, k:], sat[k:, :-k]))
    return cv2.convertScaleAbs(sums, alpha=1.0 / (k * k))


def pixelate_patch(src, ext, noise: float, rng: np.random.Generator) -> np.ndarray:
    """At most 8 cells on the longer side, each its area mean plus uniform noise."""
    x0, y0, x1, y1 = ext
    bw, bh = x1 - x0, y1 - y0
    if bw >= bh:
        nx = min(PIXELATE_CELLS, bw)
        ny = max(1, min(bh, math.floor(nx * bh / bw + 0.5)))
    else:
        ny = min(PIXELATE_CELLS, bh)
        nx = max(1, min(bw, math.floor(ny * bw / bh + 0.5)))
    cells = cv2.resize(src[y0:y1, x0:x1], (nx, ny), interpolation=cv2.INTER_AREA)
    cells = np.clip(cells + rng.uniform(-noise, noise, cells.shape), 0, 255).astype(np.uint8)
    return cv2.resize(cells, (bw, bh), interpolation=cv2.INTER_NEAREST)


def _side_sums(src, occupied, rect, vertical: bool, segments: int):
    """Per-segment (sum, count) of the usable pixels of one ring side ``rect``.

    ``rect`` is unclipped; its long axis always lies in the frame (extents are clipped), so
    only the band can be cut short by the frame edge. ``occupied`` is 1 inside any extent.
    Segments split the side as the kernel does: position ``t`` is in ``t * segments // length``.
    """
    h, w = src.shape[:2]
    x0, y0, x1, y1 = max(rect[0], 0), max(rect[1], 0), min(rect[2], w), min(rect[3], h)
    if x1 <= x0 or y1 <= y0:
        return np.zeros((segments, 3), np.float32), np.zeros((segments, 1), np.float32)
    strip, taken = src[y0:y1, x0:x1], occupied[y0:y1, x0:x1]
    if vertical:  # reducing across a narrow multi-channel strip is slow; transpose first
        strip, taken = cv2.transpose(strip), cv2.transpose(taken)
    usable = cv2.bitwise_xor(taken, 1)
    kept = cv2.bitwise_and(strip, strip, mask=usable)
    length = strip.shape[1]
    line_sums = cv2.reduce(kept, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32F).reshape(length, 3)
    line_counts = cv2.reduce(usable, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32F).reshape(length, 1)
    onehot = (np.arange(length) * segments // length == np.arange(segments)[:, None]).astype(np.float32)
    return onehot @ line_sums, onehot @ line_counts


def ring_controls(src, occupied, ext, band: int, segments: int) -> np.ndarray:
    """float32 (4, segments, 3) means along top, bottom, left, right of the ring outside ``ext``."""
    x0, y0, x1, y1 = ext
    sides = [((x0, y0 - band, x1, y0), False), ((x0, y1, x1, y1 + band), False),
             ((x0 - band, y0, x0, y1), True), ((x1, y0, x1 + band, y1), True)]
    parts = [_side_sums(src, occupied, rect, vertical, segments) for rect, vertical in sides]
    sums = np.stack([s for s, _ in parts])
    counts = np.stack([c for _, c in parts])
    total = counts.sum()
    fallback = sums.sum(axis=(0, 1)) / total if total > 0.5 else np.full(3, 127.5, np.float32)
    usable = counts > 0.5
    return np.where(usable, sums / np.where(usable, counts, 1.0), fallback).astype(np.float32)


def coons_grid(ctl: np.ndarray, n: int) -> np.ndarray:
    """The Coons patch spanned by piecewise-linear sides ``ctl``, sampled at n x n cell centres.

    ``cv2.resize`` (``INTER_LINEAR``) of the control knots along each side is exactly the
    kernel's ``edge_value``: knots at segment centres, ends held flat.
    """
    top, bottom, left, right = cv2.resize(ctl, (n, 4), interpolation=cv2.INTER_LINEAR)
    t = (np.arange(n, dtype=np.float32) + 0.5) / n
    c00 = 0.5 * (ctl[0, 0] + ctl[2, 0])
    c10 = 0.5 * (ctl[0, -1] + ctl[3, 0])
    c01 = 0.5 * (ctl[1, 0] + ctl[2, -1])
    c11 = 0.5 * (ctl[1, -1] + ctl[3, -1])
    u = t[None, :, None]
    v = t[:, None, None]
    grid = ((1 - v) * top[None] + v * bottom[None] + (1 - u) * left[:, None] + u * right[:, None]
            - ((1 - u) * (1 - v) * c00 + u * (1 - v) * c10 + (1 - u) * v * c01 + u * v * c11))
    return grid


def secure_blur_patch(src, occupied, ext, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth patch from the ring's segment means plus uniform noise (never reads inside)."""
    x0, y0, x1, y1 = ext
    bw, bh = x1 - x0, y1 - y0
    band = max(2, math.ceil(0.06 * max(bw, bh)))
    ctl = ring_controls(src, occupied, ext, band, RING_SEGMENTS)
    grid = np.clip(coons_grid(ctl, _GRID_PER_SEGMENT * RING_SEGMENTS) + 0.5, 0, 255).astype(np.uint8)
    smooth = cv2.resize(grid, (bw, bh), interpolation=cv2.INTER_LINEAR)
    jitter = np.frombuffer(rng.bytes(smooth.size), np.uint8).reshape(smooth.shape)
    return cv2.addWeighted(smooth, 1.0, jitter, 2 * noise / 255, -noise)


def obscure_opencv(frame, boxes, style: Style = Style(), *, seed: int = 0, out=None) -> np.ndarray:
    """OpenCV counterpart of ``redact.pipeline.obscure.obscure`` for one `Style` and float ``boxes`` (N, 4).

    Patches are read from ``frame``, so ``out`` (written in place if given) must not be it.
    """
    height, width = frame.shape[:2]
    if out is None:
        out = frame.copy()
    else:
        np.copyto(out, frame)
    core, feather, ext = region_geometry(boxes, style, width, height)
    rng = np.random.default_rng(seed)
    occupied = None
    if style.method is Method.SECURE_BLUR:
        occupied = np.zeros((height, width), np.uint8)
        for x0, y0, x1, y1 in ext:
            occupied[y0:y1, x0:x1] = 1
    for i, box in enumerate(ext):
        if box[2] <= box[0] or box[3] <= box[1]:
            continue
        if style.method is Method.FILL:
            patch = fill_patch(style.color)
        elif style.method is Method.BLUR:
            patch = blur_patch(frame, box)
        elif style.method is Method.PIXELATE:
            patch = pixelate_patch(frame, box, style.noise, rng)
        else:
            patch = secure_blur_patch(frame, occupied, box, style.noise, rng)
        _blend(out, box, patch, coverage_mask(style.shape, core[i], int(feather[i]), box))
    return out
