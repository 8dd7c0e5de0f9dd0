"""Obscuring kernels. One call handles many regions of one method on one frame.

Geometry per region (prepared by ``redact.pipeline.obscure``):

``shape``   0 box, 1 ellipse, 2 per-pixel mask
``core``    float64 (x0, y0, x1, y1): the padded shape, unclipped (box cores are already
            rounded outward to whole pixels)
``feather`` float64 soft-edge width in pixels, outside the core
``ext``     int32 (x0, y0, x1, y1): clipped, half-open pixels the region may touch

Regions are applied in order onto ``out`` (which starts as a copy of ``src``); values are
always computed from ``src``, so overlapping regions never feed one another.

Speed comes from rows: `row_spans` splits each row of a region into pixels fully covered
(written straight), pixels surely untouched (skipped) and a thin soft edge where the
per-pixel `coverage` decides. The spans keep one pixel of margin, so float rounding in the
span arithmetic can only send a pixel to `coverage`, never misclassify it.
"""
import math

import numpy as np

from ._jit import jit, jit_inline

SHAPE_BOX = 0
SHAPE_ELLIPSE = 1
SHAPE_MASK = 2

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_U32 = np.int64(0xFFFFFFFF)
#: Samples per ring row along one side (more only cost time).
RING_SAMPLES = 96
#: Side of the square tile of seeded noise repeated over secure-blur patches.
NOISE_TILE = 64


@jit_inline
def hash64(seed, index):
    """splitmix64 of ``seed + index``: seeded noise that never reads a pixel."""
    z = np.uint64(seed) + np.uint64(index) * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@jit_inline
def noise_unit(h, channel):
    """One of three byte lanes of a hash as a value in [-1, 1]."""
    byte = (h >> np.uint64(8 * channel)) & np.uint64(255)
    return (np.float64(byte) - 127.5) / 127.5


@jit_inline
def coverage(shape, x0, y0, x1, y1, feather, mask, x, y):
    """Share of pixel (x, y) to obscure, in [0, 1]; 1 on every pixel the core touches."""
    if shape == SHAPE_MASK:
        return 1.0 if mask[y, x] else 0.0
    return shape_coverage(shape, x0, y0, x1, y1, feather, x, y)


@jit_inline
def shape_coverage(shape, x0, y0, x1, y1, feather, x, y):
    """`coverage` of a box or ellipse (scalars only, so it inlines cheaply)."""
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
def box_alpha(lo, hi, feather, start, stop):
    """Coverage of a box along one axis for pixels ``start..stop-1``.

    A box's coverage is ``min(alpha_x[x], alpha_y[y])`` (equal, bit for bit, to
    `shape_coverage`), so soft edges of boxes cost a table look-up per pixel.
    """
    alpha = np.empty(max(0, stop - start))
    for t in range(start, stop):
        if t + 1.0 > lo and t < hi:
            alpha[t - start] = 1.0
        elif feather <= 0.0:
            alpha[t - start] = 0.0
        else:
            g = max(0.0, lo - (t + 1.0), t - hi)
            a = 1.0 - (g + 1.0) / (math.ceil(feather) + 1.0)
            alpha[t - start] = a if a > 0.0 else 0.0
    return alpha


@jit_inline
def edge_alpha(shape, ax, ay_row, ex0, x0, y0, x1, y1, feather, mask, x, y):
    """`coverage` of a soft-edge pixel, from the box tables where the shape is a box."""
    if shape == SHAPE_BOX:
        return min(ax[x - ex0], ay_row)
    return coverage(shape, x0, y0, x1, y1, feather, mask, x, y)


@jit_inline
def row_spans(shape, x0, y0, x1, y1, feather, ex0, ex1, y):
    """``(ox0, ix0, ix1, ox1)`` for row ``y``: [ix0, ix1) fully covered, outside [ox0, ox1)
    untouched, the rest soft (ask `coverage`)."""
    if shape == SHAPE_MASK:
        return ex0, ex0, ex0, ex1
    if shape == SHAPE_BOX:
        if y + 1.0 > y0 and y < y1:
            ix0 = int(math.floor(x0)) + 1
            ix1 = int(math.ceil(x1)) - 1
        else:
            ix0 = ex0
            ix1 = ex0
        ox0 = ex0
        ox1 = ex1
    else:
        cx = 0.5 * (x0 + x1)
        cy = 0.5 * (y0 + y1)
        ra = max(0.5 * (x1 - x0), 1e-6)
        rb = max(0.5 * (y1 - y0), 1e-6)
        py = min(max(cy, y), y + 1.0) - cy
        q = (py / rb) ** 2
        if q < 1.0:
            t = ra * math.sqrt(1.0 - q)
            ix0 = int(math.ceil(cx - t - 1.0)) + 1
            ix1 = int(math.floor(cx + t))
        else:
            ix0 = ex0
            ix1 = ex0
        oa = ra + max(feather, 0.0)
        ob = rb + max(feather, 0.0)
        q2 = (py / ob) ** 2
        if q2 >= 1.0:
            return ex0, ex0, ex0, ex0
        t2 = oa * math.sqrt(1.0 - q2)
        ox0 = int(math.floor(cx - t2 - 1.0))
        ox1 = int(math.ceil(cx + t2)) + 1
    ox0 = min(max(ox0, ex0), ex1)
    ox1 = min(max(ox1, ox0), ex1)
    ix0 = min(max(ix0, ox0), ox1)
    ix1 = min(max(ix1, ix0), ox1)
    return ox0, ix0, ix1, ox1


@jit_inline
def to_u8(v):
    """Round half up and clip to 0..255."""
    v = math.floor(v + 0.5)
    return np.uint8(min(255.0, max(0.0, v)))


@jit_inline
def mix(old, a, value):
    """``value`` with weight ``a`` over ``old``, rounded half up and clipped to uint8."""
    if a >= 1.0:
        return to_u8(value)
    return to_u8(old * (1.0 - a) + value * a)


@jit
def fill_kernel(out, shape, core, feather, ext, mask, color):
    solid = np.empty(3, np.uint8)
    for c in range(3):
        solid[c] = to_u8(color[c])
    for i in range(ext.shape[0]):
        ex0, ey0, ex1, ey1 = ext[i, 0], ext[i, 1], ext[i, 2], ext[i, 3]
        x0, y0, x1, y1 = core[i, 0], core[i, 1], core[i, 2], core[i, 3]
        f = feather[i]
        ax = box_alpha(x0, x1, f, ex0, ex1)
        ay = box_alpha(y0, y1, f, ey0, ey1)
        for y in range(ey0, ey1):
            ay_row = ay[y - ey0]
            ox0, ix0, ix1, ox1 = row_spans(shape[i], x0, y0, x1, y1, f, ex0, ex1, y)
            for x in range(ix0, ix1):
                for c in range(3):
                    out[y, x, c] = solid[c]
            for part in range(2):
                xa, xb = (ox0, ix0) if part == 0 else (ix1, ox1)
                for x in range(xa, xb):
                    a = edge_alpha(shape[i], ax, ay_row, ex0, x0, y0, x1, y1, f, mask, x, y)
                    if a > 0.0:
                        for c in range(3):
                            out[y, x, c] = mix(out[y, x, c], a, color[c])


@jit
def _inside_any(ext, candidates, n_candidates, x, y):
    for k in range(n_candidates):
        j = candidates[k]
        if ext[j, 0] <= x < ext[j, 2] and ext[j, 1] <= y < ext[j, 3]:
            return True
    return False


@jit
def _ring_sums(src, ext, x0, y0, x1, y1, band, row_step, segments, sums, counts):
    """Add to ``sums``/``counts`` (4, segments) the pixels of the ``band``-wide ring just
    outside the rectangle ``x0, y0, x1, y1`` (every ``row_step``-th row of it) that lie in the
    frame and outside every region's extent; return how many there were."""
    h, w = src.shape[0], src.shape[1]
    # Only regions whose extent meets this ring can exclude a ring pixel.
    candidates = np.empty(ext.shape[0], np.int64)
    n_candidates = 0
    for j in range(ext.shape[0]):
        if (ext[j, 0] < x1 + band and ext[j, 2] > x0 - band and ext[j, 1] < y1 + band
                and ext[j, 3] > y0 - band and ext[j, 0] < ext[j, 2] and ext[j, 1] < ext[j, 3]):
            candidates[n_candidates] = j
            n_candidates += 1
    found = 0
    bw = x1 - x0
    bh = y1 - y0
    for side in range(4):
        length = bw if side < 2 else bh
        # A colour estimate needs a few hundred samples, not every ring pixel of a big region.
        step = max(1, length // RING_SAMPLES)
        # Rows outermost so the top and bottom strips are read along memory.
        for k in range(0, band, row_step):
            for t in range(0, length, step):
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
                seg = (t * segments) // length
                for c in range(3):
                    sums[side, seg, c] += src[y, x, c]
                counts[side, seg] += 1.0
                found += 1
    return found


@jit
def ring_controls(src, ext, i, band, segments):
    """Mean colour of ``segments`` stretches along each side of region ``i``'s outer ring.

    Returns float64 (4, segments, 3) for top, bottom, left, right, filled only from pixels
    in the frame and outside every region's extent. Stretches with no such pixel borrow the
    mean of all usable ring pixels. A region whose ring has none at all (inside a cluster of
    regions, or against the frame's edges) reads the next rings out, each twice as deep as
    the one before it (rows sampled as sparsely as the ring's depth allows), until one has
    some: otherwise such a region was a flat mid-grey slab in a scene of any colour (a dark
    theatre on the Hamilton clip). Mid grey remains only when no pixel of the frame lies
    outside every region.
    """
    h, w = src.shape[0], src.shape[1]
    x0, y0, x1, y1 = ext[i, 0], ext[i, 1], ext[i, 2], ext[i, 3]
    sums = np.zeros((4, segments, 3), np.float64)
    counts = np.zeros((4, segments), np.float64)
    gap, depth = 0, max(1, band)  # a depth of 0 would never move outwards
    while True:
        found = _ring_sums(src, ext, x0 - gap, y0 - gap, x1 + gap, y1 + gap, depth, max(1, depth // max(1, band)),
                           segments, sums, counts)
        gap += depth
        depth *= 2
        if found > 0 or (x0 - gap <= 0 and y0 - gap <= 0 and x1 + gap >= w and y1 + gap >= h):
            break
    total = np.zeros(3, np.float64)
    total_count = 0.0
    for side in range(4):
        for s in range(segments):
            total_count += counts[side, s]
            for c in range(3):
                total[c] += sums[side, s, c]
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
def coons_tables(ctl, bw, bh):
    """Per-column and per-row tables of the Coons patch spanned by the ring controls.

    The patch ``(1-v)T(u) + vB(u) + (1-u)L(v) + uR(v) - bilinear(corners)`` regroups as
    ``P[x] + v Q[x] + L[y] + u E[y]``, so each pixel costs two multiply-adds per channel.
    """
    s = ctl.shape[1] - 1
    col_p = np.empty((bw, 3))
    col_q = np.empty((bw, 3))
    col_u = np.empty(bw)
    row_l = np.empty((bh, 3))
    row_e = np.empty((bh, 3))
    row_v = np.empty(bh)
    for c in range(3):
        c00 = 0.5 * (ctl[0, 0, c] + ctl[2, 0, c])
        c10 = 0.5 * (ctl[0, s, c] + ctl[3, 0, c])
        c01 = 0.5 * (ctl[1, 0, c] + ctl[2, s, c])
        c11 = 0.5 * (ctl[1, s, c] + ctl[3, s, c])
        for x in range(bw):
            u = (x + 0.5) / bw
            col_u[x] = u
            top = edge_value(ctl, 0, u, c)
            bottom = edge_value(ctl, 1, u, c)
            col_p[x, c] = top - c00 - u * (c10 - c00)
            col_q[x, c] = bottom - top - (c01 - c00) - u * (c11 - c10 - c01 + c00)
        for y in range(bh):
            v = (y + 0.5) / bh
            row_v[y] = v
            left = edge_value(ctl, 2, v, c)
            row_l[y, c] = left
            row_e[y, c] = edge_value(ctl, 3, v, c) - left
    return col_p, col_q, col_u, row_l, row_e, row_v


@jit
def noise_tile(seed):
    """(NOISE_TILE, NOISE_TILE, 3) values in [-1, 1] from the seed alone; tiled over patches."""
    tile = np.empty((NOISE_TILE, NOISE_TILE, 3))
    for ty in range(NOISE_TILE):
        for tx in range(NOISE_TILE):
            h = hash64(seed, np.uint64(ty * NOISE_TILE + tx))
            for c in range(3):
                tile[ty, tx, c] = noise_unit(h, c)
    return tile


@jit
def secure_blur_kernel(src, out, shape, core, feather, all_ext, index, mask, band, segments,
                       noise, seed):
    """A smooth Coons patch spanned by the ring outside the region, plus seeded noise.

    ``index`` picks this call's regions out of ``all_ext``; the ring skips the extent of
    every region in ``all_ext``, so no hidden pixel of any region feeds any patch.
    """
    grain = noise_tile(seed) * noise
    mod = NOISE_TILE - 1
    for n in range(index.shape[0]):
        i = index[n]
        ex0, ey0, ex1, ey1 = all_ext[i, 0], all_ext[i, 1], all_ext[i, 2], all_ext[i, 3]
        if ex1 <= ex0 or ey1 <= ey0:
            continue
        ctl = ring_controls(src, all_ext, i, band[n], segments)
        col_p, col_q, col_u, row_l, row_e, row_v = coons_tables(ctl, ex1 - ex0, ey1 - ey0)
        x0, y0, x1, y1 = core[n, 0], core[n, 1], core[n, 2], core[n, 3]
        f = feather[n]
        ax = box_alpha(x0, x1, f, ex0, ex1)
        ay = box_alpha(y0, y1, f, ey0, ey1)
        for y in range(ey0, ey1):
            ay_row = ay[y - ey0]
            ry = y - ey0
            v = row_v[ry]
            gy = y & mod
            ox0, ix0, ix1, ox1 = row_spans(shape[n], x0, y0, x1, y1, f, ex0, ex1, y)
            for x in range(ix0, ix1):
                rx = x - ex0
                gx = x & mod
                for c in range(3):
                    out[y, x, c] = to_u8(col_p[rx, c] + v * col_q[rx, c] + row_l[ry, c]
                                         + col_u[rx] * row_e[ry, c] + grain[gy, gx, c])
            for part in range(2):
                xa, xb = (ox0, ix0) if part == 0 else (ix1, ox1)
                for x in range(xa, xb):
                    a = edge_alpha(shape[n], ax, ay_row, ex0, x0, y0, x1, y1, f, mask, x, y)
                    if a <= 0.0:
                        continue
                    rx = x - ex0
                    gx = x & mod
                    for c in range(3):
                        value = (col_p[rx, c] + v * col_q[rx, c] + row_l[ry, c]
                                 + col_u[rx] * row_e[ry, c] + grain[gy, gx, c])
                        out[y, x, c] = mix(out[y, x, c], a, value)


@jit
def _cell_bounds(start, length, cells):
    """Index of the cell of each pixel along one side (cells split ``length`` evenly)."""
    which = np.empty(length, np.int64)
    for k in range(cells):
        for t in range((k * length) // cells, ((k + 1) * length) // cells):
            which[t] = k
    return which


@jit
def pixelate_kernel(src, out, shape, core, feather, ext, mask, max_cells, noise, seed):
    """At most ``max_cells`` cells along the longer side; each cell's mean plus noise."""
    for i in range(ext.shape[0]):
        ex0, ey0, ex1, ey1 = ext[i, 0], ext[i, 1], ext[i, 2], ext[i, 3]
        bw = ex1 - ex0
        bh = ey1 - ey0
        if bw <= 0 or bh <= 0:
            continue
        if bw >= bh:
            nx = min(max_cells, bw)
            ny = max(1, min(bh, int(math.floor(nx * bh / bw + 0.5))))
        else:
            ny = min(max_cells, bh)
            nx = max(1, min(bw, int(math.floor(ny * bw / bh + 0.5))))
        col_cell = _cell_bounds(ex0, bw, nx)
        row_cell = _cell_bounds(ey0, bh, ny)
        means = np.zeros((ny, nx, 3))
        counts = np.zeros((ny, nx))
        for y in range(ey0, ey1):
            cy = row_cell[y - ey0]
            for x in range(ex0, ex1):
                cx = col_cell[x - ex0]
                counts[cy, cx] += 1.0
                for c in range(3):
                    means[cy, cx, c] += src[y, x, c]
        for cy in range(ny):
            for cx in range(nx):
                h = hash64(seed, np.uint64(i) * np.uint64(4096) + np.uint64(cy * nx + cx))
                for c in range(3):
                    means[cy, cx, c] = means[cy, cx, c] / counts[cy, cx] + noise * noise_unit(h, c)
        solid = np.empty((ny, nx, 3), np.uint8)
        for cy in range(ny):
            for cx in range(nx):
                for c in range(3):
                    solid[cy, cx, c] = to_u8(means[cy, cx, c])
        x0, y0, x1, y1 = core[i, 0], core[i, 1], core[i, 2], core[i, 3]
        f = feather[i]
        ax = box_alpha(x0, x1, f, ex0, ex1)
        ay = box_alpha(y0, y1, f, ey0, ey1)
        for y in range(ey0, ey1):
            ay_row = ay[y - ey0]
            cy = row_cell[y - ey0]
            ox0, ix0, ix1, ox1 = row_spans(shape[i], x0, y0, x1, y1, f, ex0, ex1, y)
            for x in range(ix0, ix1):
                cx = col_cell[x - ex0]
                for c in range(3):
                    out[y, x, c] = solid[cy, cx, c]
            for part in range(2):
                xa, xb = (ox0, ix0) if part == 0 else (ix1, ox1)
                for x in range(xa, xb):
                    a = edge_alpha(shape[i], ax, ay_row, ex0, x0, y0, x1, y1, f, mask, x, y)
                    if a > 0.0:
                        cx = col_cell[x - ex0]
                        for c in range(3):
                            out[y, x, c] = mix(out[y, x, c], a, means[cy, cx, c])


@jit
def blur_kernel(src, out, shape, core, feather, ext, mask, radius):
    """Box blur of radius ``radius[i]`` (window clipped to the frame), via a summed-area table.

    The table is uint32 and wraps: window sums are differences of table entries, exact
    modulo 2**32, and a window holds far less than 2**32 / 255 pixels.
    """
    h, w = src.shape[0], src.shape[1]
    for i in range(ext.shape[0]):
        ex0, ey0, ex1, ey1 = ext[i, 0], ext[i, 1], ext[i, 2], ext[i, 3]
        if ex1 <= ex0 or ey1 <= ey0:
            continue
        r = radius[i]
        wx0 = max(0, ex0 - r)
        wy0 = max(0, ey0 - r)
        wx1 = min(w, ex1 + r)
        wy1 = min(h, ey1 + r)
        sat = np.empty((wy1 - wy0 + 1, wx1 - wx0 + 1, 3), np.uint32)
        sat[0, :, :] = 0
        sat[:, 0, :] = 0
        for y in range(wy0, wy1):
            sy = y - wy0 + 1
            run = np.zeros(3, np.uint32)
            for x in range(wx0, wx1):
                sx = x - wx0 + 1
                for c in range(3):
                    run[c] += np.uint32(src[y, x, c])
                    sat[sy, sx, c] = sat[sy - 1, sx, c] + run[c]
        x0, y0, x1, y1 = core[i, 0], core[i, 1], core[i, 2], core[i, 3]
        f = feather[i]
        ax = box_alpha(x0, x1, f, ex0, ex1)
        ay = box_alpha(y0, y1, f, ey0, ey1)
        for y in range(ey0, ey1):
            ay_row = ay[y - ey0]
            ya = max(wy0, y - r) - wy0
            yb = min(wy1, y + r + 1) - wy0
            ox0, ix0, ix1, ox1 = row_spans(shape[i], x0, y0, x1, y1, f, ex0, ex1, y)
            for x in range(ox0, ox1):
                if ix0 <= x < ix1:
                    a = 1.0
                else:
                    a = edge_alpha(shape[i], ax, ay_row, ex0, x0, y0, x1, y1, f, mask, x, y)
                    if a <= 0.0:
                        continue
                xa = max(wx0, x - r) - wx0
                xb = min(wx1, x + r + 1) - wx0
                n = (yb - ya) * (xb - xa)
                for c in range(3):
                    s = (np.int64(sat[yb, xb, c]) - np.int64(sat[ya, xb, c]) - np.int64(sat[yb, xa, c])
                         + np.int64(sat[ya, xa, c])) & _U32
                    out[y, x, c] = mix(out[y, x, c], a, s / n)
