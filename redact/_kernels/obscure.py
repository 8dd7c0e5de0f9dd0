"""Obscuring kernels. One call handles many regions of one method on one frame.

Geometry per region (prepared by ``redact.ops``):

``shape``   0 box, 1 ellipse, 2 per-pixel mask
``core``    float64 (x0, y0, x1, y1): the padded shape, unclipped (box cores are already
            rounded outward to whole pixels)
``feather`` float64 soft-edge width in pixels, outside the core
``ext``     int32 (x0, y0, x1, y1): clipped, half-open pixels the region may touch

Regions are applied in order onto ``out`` (which starts as a copy of ``src``); values are
always computed from ``src``, so overlapping regions never feed one another.
"""
import math

import numpy as np

from ._jit import jit

SHAPE_BOX = 0
SHAPE_ELLIPSE = 1
SHAPE_MASK = 2

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@jit
def hash64(seed, index):
    """splitmix64 of ``seed + index``: seeded noise that never reads a pixel."""
    z = np.uint64(seed) + np.uint64(index) * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@jit
def noise_unit(h, channel):
    """One of three byte lanes of a hash as a value in [-1, 1]."""
    byte = (h >> np.uint64(8 * channel)) & np.uint64(255)
    return (np.float64(byte) - 127.5) / 127.5


@jit
def coverage(shape, core, feather, mask, x, y):
    """Share of pixel (x, y) to obscure, in [0, 1]; 1 on every pixel the core touches."""
    if shape == SHAPE_MASK:
        return 1.0 if mask[y, x] else 0.0
    x0, y0, x1, y1 = core[0], core[1], core[2], core[3]
    if shape == SHAPE_BOX:
        gx = max(0.0, x0 - (x + 1.0), x - x1)
        gy = max(0.0, y0 - (y + 1.0), y - y1)
        g = max(gx, gy)
        if g <= 0.0 and x + 1.0 > x0 and y + 1.0 > y0 and x < x1 and y < y1:
            return 1.0
        if feather <= 0.0:
            return 0.0
        a = 1.0 - (g + 1.0) / (math.ceil(feather) + 1.0)
        return a if a > 0.0 else 0.0
    # Ellipse: use the point of the pixel square nearest the centre, so every pixel the
    # ellipse touches counts as inside (fail closed on the outline).
    cx = 0.5 * (x0 + x1)
    cy = 0.5 * (y0 + y1)
    ra = max(0.5 * (x1 - x0), 1e-6)
    rb = max(0.5 * (y1 - y0), 1e-6)
    px = min(max(cx, x), x + 1.0) - cx
    py = min(max(cy, y), y + 1.0) - cy
    r1 = (px / ra) ** 2 + (py / rb) ** 2
    if r1 <= 1.0:
        return 1.0
    if feather <= 0.0:
        return 0.0
    r2 = (px / (ra + feather)) ** 2 + (py / (rb + feather)) ** 2
    if r2 >= 1.0:
        return 0.0
    d1 = math.sqrt(r1) - 1.0
    d2 = 1.0 - math.sqrt(r2)
    return d2 / (d1 + d2)


@jit
def blend(out, y, x, c, a, value):
    """Write ``value`` with weight ``a`` over ``out``; rounds half up and clips to uint8."""
    if a >= 1.0:
        v = value
    else:
        v = out[y, x, c] * (1.0 - a) + value * a
    v = math.floor(v + 0.5)
    out[y, x, c] = np.uint8(min(255.0, max(0.0, v)))


@jit
def fill_kernel(out, shape, core, feather, ext, mask, color):
    for i in range(ext.shape[0]):
        for y in range(ext[i, 1], ext[i, 3]):
            for x in range(ext[i, 0], ext[i, 2]):
                a = coverage(shape[i], core[i], feather[i], mask, x, y)
                if a > 0.0:
                    for c in range(3):
                        blend(out, y, x, c, a, np.float64(color[c]))


@jit
def _inside_any(ext, candidates, n_candidates, x, y):
    for k in range(n_candidates):
        j = candidates[k]
        if ext[j, 0] <= x < ext[j, 2] and ext[j, 1] <= y < ext[j, 3]:
            return True
    return False


@jit
def ring_controls(src, ext, i, band, segments):
    """Mean colour of ``segments`` stretches along each side of region ``i``'s outer ring.

    Returns float64 (4, segments, 3) for top, bottom, left, right, filled only from pixels
    in the frame and outside every region's extent. Stretches with no such pixel borrow the
    mean of all usable ring pixels, or mid grey when there is none.
    """
    h, w = src.shape[0], src.shape[1]
    x0, y0, x1, y1 = ext[i, 0], ext[i, 1], ext[i, 2], ext[i, 3]
    # Only regions whose extent meets this ring can exclude a ring pixel.
    candidates = np.empty(ext.shape[0], np.int64)
    n_candidates = 0
    for j in range(ext.shape[0]):
        if (ext[j, 0] < x1 + band and ext[j, 2] > x0 - band and ext[j, 1] < y1 + band
                and ext[j, 3] > y0 - band and ext[j, 0] < ext[j, 2] and ext[j, 1] < ext[j, 3]):
            candidates[n_candidates] = j
            n_candidates += 1
    sums = np.zeros((4, segments, 3), np.float64)
    counts = np.zeros((4, segments), np.float64)
    total = np.zeros(3, np.float64)
    total_count = 0.0
    bw = x1 - x0
    bh = y1 - y0
    for side in range(4):
        length = bw if side < 2 else bh
        for t in range(length):
            seg = (t * segments) // length
            for k in range(band):
                if side == 0:
                    x, y = x0 + t, y0 - 1 - k
                elif side == 1:
                    x, y = x0 + t, y1 + k
                elif side == 2:
                    x, y = x0 - 1 - k, y0 + t
                else:
                    x, y = x1 + k, y0 + t
                if x < 0 or y < 0 or x >= w or y >= h:
                    continue
                if _inside_any(ext, candidates, n_candidates, x, y):
                    continue
                for c in range(3):
                    sums[side, seg, c] += src[y, x, c]
                    total[c] += src[y, x, c]
                counts[side, seg] += 1.0
                total_count += 1.0
    for c in range(3):
        total[c] = total[c] / total_count if total_count > 0 else 127.5
    for side in range(4):
        for s in range(segments):
            for c in range(3):
                if counts[side, s] > 0:
                    sums[side, s, c] /= counts[side, s]
                else:
                    sums[side, s, c] = total[c]
    return sums


@jit
def edge_value(controls, side, t, c):
    """Piecewise-linear value along one side at ``t`` in [0, 1] (segment centres as knots)."""
    segments = controls.shape[1]
    p = t * segments - 0.5
    if p <= 0.0:
        return controls[side, 0, c]
    if p >= segments - 1:
        return controls[side, segments - 1, c]
    k = int(p)
    f = p - k
    return controls[side, k, c] * (1.0 - f) + controls[side, k + 1, c] * f


@jit
def secure_blur_kernel(src, out, shape, core, feather, all_ext, index, mask, band, segments,
                       noise, seed):
    """A smooth Coons patch spanned by the ring outside the region, plus seeded noise.

    ``index`` picks this call's regions out of ``all_ext``; the ring skips the extent of
    every region in ``all_ext``, so no hidden pixel of any region feeds any patch.
    """
    w_frame = src.shape[1]
    for n in range(index.shape[0]):
        i = index[n]
        x0, y0, x1, y1 = all_ext[i, 0], all_ext[i, 1], all_ext[i, 2], all_ext[i, 3]
        if x1 <= x0 or y1 <= y0:
            continue
        ctl = ring_controls(src, all_ext, i, band[n], segments)
        bw = x1 - x0
        bh = y1 - y0
        for y in range(y0, y1):
            v = (y - y0 + 0.5) / bh
            for x in range(x0, x1):
                a = coverage(shape[n], core[n], feather[n], mask, x, y)
                if a <= 0.0:
                    continue
                u = (x - x0 + 0.5) / bw
                h = hash64(seed, np.uint64(y) * np.uint64(w_frame) + np.uint64(x))
                for c in range(3):
                    top = edge_value(ctl, 0, u, c)
                    bottom = edge_value(ctl, 1, u, c)
                    left = edge_value(ctl, 2, v, c)
                    right = edge_value(ctl, 3, v, c)
                    c00 = 0.5 * (ctl[0, 0, c] + ctl[2, 0, c])
                    c10 = 0.5 * (ctl[0, segments - 1, c] + ctl[3, 0, c])
                    c01 = 0.5 * (ctl[1, 0, c] + ctl[2, segments - 1, c])
                    c11 = 0.5 * (ctl[1, segments - 1, c] + ctl[3, segments - 1, c])
                    value = ((1.0 - v) * top + v * bottom + (1.0 - u) * left + u * right
                             - ((1.0 - u) * (1.0 - v) * c00 + u * (1.0 - v) * c10
                                + (1.0 - u) * v * c01 + u * v * c11))
                    value += noise * noise_unit(h, c)
                    blend(out, y, x, c, a, value)


@jit
def pixelate_kernel(src, out, shape, core, feather, ext, mask, max_cells, noise, seed):
    """At most ``max_cells`` cells along the longer side; each cell's mean plus noise."""
    for i in range(ext.shape[0]):
        x0, y0, x1, y1 = ext[i, 0], ext[i, 1], ext[i, 2], ext[i, 3]
        bw = x1 - x0
        bh = y1 - y0
        if bw <= 0 or bh <= 0:
            continue
        if bw >= bh:
            nx = min(max_cells, bw)
            ny = max(1, min(bh, int(math.floor(nx * bh / bw + 0.5))))
        else:
            ny = min(max_cells, bh)
            nx = max(1, min(bw, int(math.floor(ny * bw / bh + 0.5))))
        for cy in range(ny):
            ya = y0 + (cy * bh) // ny
            yb = y0 + ((cy + 1) * bh) // ny
            for cx in range(nx):
                xa = x0 + (cx * bw) // nx
                xb = x0 + ((cx + 1) * bw) // nx
                mean = np.zeros(3, np.float64)
                for y in range(ya, yb):
                    for x in range(xa, xb):
                        for c in range(3):
                            mean[c] += src[y, x, c]
                n = (yb - ya) * (xb - xa)
                h = hash64(seed, np.uint64(i) * np.uint64(4096) + np.uint64(cy * nx + cx))
                for c in range(3):
                    mean[c] = mean[c] / n + noise * noise_unit(h, c)
                for y in range(ya, yb):
                    for x in range(xa, xb):
                        a = coverage(shape[i], core[i], feather[i], mask, x, y)
                        if a > 0.0:
                            for c in range(3):
                                blend(out, y, x, c, a, mean[c])


@jit
def blur_kernel(src, out, shape, core, feather, ext, mask, radius):
    """Box blur of radius ``radius[i]`` (window clipped to the frame), via a summed-area table."""
    h, w = src.shape[0], src.shape[1]
    for i in range(ext.shape[0]):
        x0, y0, x1, y1 = ext[i, 0], ext[i, 1], ext[i, 2], ext[i, 3]
        if x1 <= x0 or y1 <= y0:
            continue
        r = radius[i]
        wx0 = max(0, x0 - r)
        wy0 = max(0, y0 - r)
        wx1 = min(w, x1 + r)
        wy1 = min(h, y1 + r)
        sat = np.zeros((wy1 - wy0 + 1, wx1 - wx0 + 1, 3), np.float64)
        for y in range(wy0, wy1):
            for x in range(wx0, wx1):
                for c in range(3):
                    sat[y - wy0 + 1, x - wx0 + 1, c] = (
                        src[y, x, c] + sat[y - wy0, x - wx0 + 1, c]
                        + sat[y - wy0 + 1, x - wx0, c] - sat[y - wy0, x - wx0, c])
        for y in range(y0, y1):
            ya = max(wy0, y - r) - wy0
            yb = min(wy1, y + r + 1) - wy0
            for x in range(x0, x1):
                a = coverage(shape[i], core[i], feather[i], mask, x, y)
                if a <= 0.0:
                    continue
                xa = max(wx0, x - r) - wx0
                xb = min(wx1, x + r + 1) - wx0
                n = (yb - ya) * (xb - xa)
                for c in range(3):
                    s = sat[yb, xb, c] - sat[ya, xb, c] - sat[yb, xa, c] + sat[ya, xa, c]
                    blend(out, y, x, c, a, s / n)
