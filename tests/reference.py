"""Slow, obviously-correct NumPy references for the Numba kernels (shared with benchmarks).

Only the constants (cell count, ring depth, blur radius, noise tile) come from the code under
test; which style a region gets and its geometry are worked out here again, one box at a
time, from the documented rules.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from redact._kernels.obscure import NOISE_TILE, RING_SAMPLES
from redact.core.policy import Method, Shape, Style
from redact.core.types import Kind, Regions
from redact.pipeline.obscure import BLUR_RADIUS, PIXELATE_CELLS, RING_BAND, RING_SEGMENTS

M64 = (1 << 64) - 1

#: `coverage` shapes: a box, an ellipse inscribed in the box, the per-pixel mask.
BOX, ELLIPSE, MASK = 0, 1, 2


def style_groups(regions: Regions, style) -> list:
    """``(style, region indices)`` pairs, in order of each style's first region.

    One `Style` applies to every region; a mapping gives each `Kind` its own, key ``None``
    being the fallback and `Style()` the fallback's fallback.
    """
    if isinstance(style, Style):
        return [(style, list(range(len(regions))))]
    groups: dict = {}
    for i, kind in enumerate(regions.kind):
        chosen = style.get(Kind(int(kind)), style.get(None, Style()))
        groups.setdefault(chosen, []).append(i)
    return list(groups.items())


def mask_style(style) -> Style:
    """The mask is drawn in the style of `Kind.PERSON`."""
    if isinstance(style, Style):
        return style
    return style.get(Kind.PERSON, style.get(None, Style()))


def clip(value: int, high: int) -> int:
    return min(max(value, 0), high)


def box_geometry(box, style: Style, width: int, height: int):
    """``(shape, core, feather, ext)`` of one float box under one style.

    Padding adds ``style.padding`` times the box's width (height) on the left and right (top
    and bottom). The feather is ``ceil(style.feather * shorter padded side)`` pixels. A box's
    core is rounded outward to whole pixels (floor the minimum, ceil the maximum); an
    ellipse's is the padded box itself. The extent is the core grown by the feather on every
    side, rounded outward, clipped to the frame, and empty (``x0 == x1`` or ``y0 == y1``)
    when nothing of it is on the frame.
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    dx, dy = (x1 - x0) * style.padding, (y1 - y0) * style.padding
    x0, y0, x1, y1 = x0 - dx, y0 - dy, x1 + dx, y1 + dy
    feather = math.ceil(style.feather * min(x1 - x0, y1 - y0))
    if style.shape is Shape.BOX:
        core = (math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1))
    else:
        core = (x0, y0, x1, y1)
    ex0 = clip(math.floor(core[0] - feather), width)
    ey0 = clip(math.floor(core[1] - feather), height)
    ex1 = max(clip(math.ceil(core[2] + feather), width), ex0)
    ey1 = max(clip(math.ceil(core[3] + feather), height), ey0)
    shape = BOX if style.shape is Shape.BOX else ELLIPSE
    return shape, core, feather, (ex0, ey0, ex1, ey1)


@dataclass
class Geometry:
    """Per-region ``shape``, ``core``, ``feather`` and ``ext``; the mask, if any, is the last row."""

    shape: list
    core: list
    feather: list
    ext: np.ndarray


def geometry(regions: Regions, style, mask, width: int, height: int) -> Geometry:
    rows = [None] * len(regions)
    for style_, idx in style_groups(regions, style):
        for i in idx:
            rows[i] = box_geometry(regions.xyxy[i], style_, width, height)
    shape = [row[0] for row in rows]
    core = [row[1] for row in rows]
    feather = [row[2] for row in rows]
    ext = [row[3] for row in rows]
    if mask is not None:
        ys, xs = np.nonzero(mask)
        # The mask's own bounding box, or nothing when it is all zero.
        box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) if len(xs) else (0, 0, 0, 0)
        shape.append(MASK)
        core.append(box)
        feather.append(0)
        ext.append(box)
    return Geometry(shape, core, feather, np.array(ext, np.int64).reshape(-1, 4))


def drawn(geo: Geometry, style: Style, idx: list) -> list:
    """The regions of one style group that are drawn: a box whose core lies inside another
    box's core (edges included) with a soft edge no wider is skipped; of two equal boxes
    with equal soft edges, the later one."""
    if style.shape is not Shape.BOX:
        return list(idx)

    def covers(j, i):
        (a0, b0, a1, b1), (c0, d0, c1, d1) = geo.core[j], geo.core[i]
        return a0 <= c0 and b0 <= d0 and c1 <= a1 and d1 <= b1 and geo.feather[j] >= geo.feather[i]

    return [i for i in idx
            if not any(j != i and covers(j, i) and (not covers(i, j) or j < i) for j in idx)]


def hash64(seed: int, index: np.ndarray) -> np.ndarray:
    """splitmix64, in Python ints so overflow is explicit."""
    with np.errstate(over="ignore"):
        z = (np.uint64(seed) + index.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def noise_unit(h: np.ndarray, channel: int) -> np.ndarray:
    byte = (h >> np.uint64(8 * channel)) & np.uint64(255)
    return (byte.astype(np.float64) - 127.5) / 127.5


def coverage(shape: int, core, feather: float, mask, height: int, width: int) -> np.ndarray:
    """Per-pixel share to obscure over the whole frame, (H, W) float64."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    if shape == MASK:
        return mask.astype(np.float64)
    x0, y0, x1, y1 = core
    if shape == BOX:
        gx = np.maximum.reduce([np.zeros_like(xs), x0 - (xs + 1), xs - x1])
        gy = np.maximum.reduce([np.zeros_like(ys), y0 - (ys + 1), ys - y1])
        inside = (xs + 1 > x0) & (ys + 1 > y0) & (xs < x1) & (ys < y1)
        if feather > 0:
            a = np.clip(1 - (np.maximum(gx, gy) + 1) / (np.ceil(feather) + 1), 0, None)
        else:
            a = np.zeros_like(xs)
        return np.where(inside, 1.0, a)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    ra, rb = max((x1 - x0) / 2, 1e-6), max((y1 - y0) / 2, 1e-6)
    px = np.clip(cx, xs, xs + 1) - cx
    py = np.clip(cy, ys, ys + 1) - cy
    r1 = (px / ra) ** 2 + (py / rb) ** 2
    if feather <= 0:
        return (r1 <= 1).astype(np.float64)
    r2 = (px / (ra + feather)) ** 2 + (py / (rb + feather)) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = np.sqrt(r1) - 1
        d2 = 1 - np.sqrt(r2)
        soft = d2 / (d1 + d2)
    return np.where(r1 <= 1, 1.0, np.where(r2 >= 1, 0.0, soft))


def blend(out: np.ndarray, a: np.ndarray, value: np.ndarray) -> None:
    """out = round(out * (1 - a) + value * a) where a > 0, clipped to uint8."""
    sel = a > 0
    mixed = np.where(a[..., None] >= 1, value, out * (1 - a[..., None]) + value * a[..., None])
    out[sel] = np.clip(np.floor(mixed[sel] + 0.5), 0, 255).astype(np.uint8)


def ring_controls(src, ext, i, band, segments):
    h, w = src.shape[:2]
    x0, y0, x1, y1 = ext[i]
    valid_ext = [e for e in ext if e[0] < e[2] and e[1] < e[3]]

    def usable(x, y):
        if not (0 <= x < w and 0 <= y < h):
            return False
        return not any(e[0] <= x < e[2] and e[1] <= y < e[3] for e in valid_ext)

    sums = np.zeros((4, segments, 3))
    counts = np.zeros((4, segments))
    gap, depth = 0, max(1, band)
    while True:  # a ring with no usable pixel: the next, twice as deep, farther out (see the kernel)
        rx0, ry0, rx1, ry1 = x0 - gap, y0 - gap, x1 + gap, y1 + gap
        for side in range(4):
            length = (rx1 - rx0) if side < 2 else (ry1 - ry0)
            for t in range(0, length, max(1, length // RING_SAMPLES)):
                for k in range(0, depth, max(1, depth // max(1, band))):
                    x, y = [(rx0 + t, ry0 - 1 - k), (rx0 + t, ry1 + k), (rx0 - 1 - k, ry0 + t),
                            (rx1 + k, ry0 + t)][side]
                    if usable(x, y):
                        sums[side, t * segments // length] += src[y, x]
                        counts[side, t * segments // length] += 1
        gap += depth
        depth *= 2
        if counts.sum() or (x0 - gap <= 0 and y0 - gap <= 0 and x1 + gap >= w and y1 + gap >= h):
            break
    total = sums.sum(axis=(0, 1)) / counts.sum() if counts.sum() else np.full(3, 127.5)
    return np.where(counts[..., None] > 0, sums / np.maximum(counts, 1)[..., None], total)


def edge(ctl, side, t):
    segments = ctl.shape[1]
    knots = (np.arange(segments) + 0.5) / segments
    return np.stack([np.interp(t, knots, ctl[side, :, c]) for c in range(3)], axis=-1)


def reference_obscure(frame, regions, style, *, mask=None, seed=0):
    """What `redact.pipeline.obscure.obscure` should return, computed slowly and directly."""
    regions = regions if isinstance(regions, Regions) else Regions.from_boxes(regions)
    h, w = frame.shape[:2]
    src = frame.astype(np.float64)
    out = frame.copy()
    mask = None if mask is None else np.asarray(mask) != 0
    groups = style_groups(regions, style)
    geo = geometry(regions, style, mask, w, h)
    if mask is not None:
        groups.append((mask_style(style), [len(regions)]))
    ys, xs = np.mgrid[0:h, 0:w]
    for st, idx in groups:
        for n, i in enumerate(drawn(geo, st, idx)):
            x0, y0, x1, y1 = geo.ext[i]
            if x1 <= x0 or y1 <= y0:
                continue
            a = coverage(geo.shape[i], geo.core[i], geo.feather[i], mask, h, w)
            inside = (xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)
            a = np.where(inside, a, 0.0)
            bw, bh = x1 - x0, y1 - y0
            if st.method is Method.FILL:
                value = np.broadcast_to(np.array(st.color, np.float64), (h, w, 3))
            elif st.method is Method.SECURE_BLUR:
                band = max(2, int(np.ceil(RING_BAND * max(bw, bh))))
                ctl = ring_controls(src, geo.ext, i, band, RING_SEGMENTS)
                u = (xs - x0 + 0.5) / bw
                v = ((ys - y0 + 0.5) / bh)[..., None]
                uu = u[..., None]
                s = RING_SEGMENTS - 1
                c00 = (ctl[0, 0] + ctl[2, 0]) / 2
                c10 = (ctl[0, s] + ctl[3, 0]) / 2
                c01 = (ctl[1, 0] + ctl[2, s]) / 2
                c11 = (ctl[1, s] + ctl[3, s]) / 2
                value = ((1 - v) * edge(ctl, 0, u) + v * edge(ctl, 1, u)
                         + (1 - uu) * edge(ctl, 2, v[..., 0]) + uu * edge(ctl, 3, v[..., 0])
                         - ((1 - uu) * (1 - v) * c00 + uu * (1 - v) * c10
                            + (1 - uu) * v * c01 + uu * v * c11))
                tile_index = np.arange(NOISE_TILE * NOISE_TILE).reshape(NOISE_TILE, NOISE_TILE)
                hsh = hash64(seed, tile_index)
                tile = np.stack([noise_unit(hsh, c) for c in range(3)], -1) * st.noise
                value = value + tile[ys % NOISE_TILE, xs % NOISE_TILE]
            elif st.method is Method.PIXELATE:
                if bw >= bh:
                    nx = min(PIXELATE_CELLS, bw)
                    ny = max(1, min(bh, int(np.floor(nx * bh / bw + 0.5))))
                else:
                    ny = min(PIXELATE_CELLS, bh)
                    nx = max(1, min(bw, int(np.floor(ny * bw / bh + 0.5))))
                value = np.zeros((h, w, 3))
                for cy in range(ny):
                    ya, yb = y0 + cy * bh // ny, y0 + (cy + 1) * bh // ny
                    for cx in range(nx):
                        xa, xb = x0 + cx * bw // nx, x0 + (cx + 1) * bw // nx
                        hsh = hash64(seed, np.array([n * 4096 + cy * nx + cx]))
                        noise = np.array([noise_unit(hsh, c)[0] for c in range(3)])
                        value[ya:yb, xa:xb] = src[ya:yb, xa:xb].mean(axis=(0, 1)) + st.noise * noise
            else:
                r = max(1, int(np.ceil(BLUR_RADIUS * max(bw, bh))))
                value = np.zeros((h, w, 3))
                for y in range(y0, y1):
                    for x in range(x0, x1):
                        win = src[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1]
                        value[y, x] = win.mean(axis=(0, 1))
            blend(out, a, value)
    return out
