"""The obscuring core: Numba kernels against NumPy references, and its promises as properties."""
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from reference import coverage, geometry, reference_obscure

from redact import Kind, Method, Regions, Shape, Style
from redact.pipeline.obscure import obscure

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def scenes(draw, max_side=40, max_regions=5):
    h = draw(st.integers(1, max_side))
    w = draw(st.integers(1, max_side))
    seed = draw(st.integers(0, 2**32 - 1))
    frame = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    n = draw(st.integers(0, max_regions))
    boxes = []
    for _ in range(n):
        x0 = draw(st.floats(-10, w + 5))
        y0 = draw(st.floats(-10, h + 5))
        boxes.append([x0, y0, x0 + draw(st.floats(0, w + 10)), y0 + draw(st.floats(0, h + 10))])
    return frame, Regions.from_boxes(np.array(boxes, np.float32).reshape(-1, 4)), seed


styles = st.builds(
    Style,
    method=st.sampled_from(list(Method)),
    shape=st.sampled_from(list(Shape)),
    padding=st.sampled_from([0.0, 0.1, 0.5]),
    feather=st.sampled_from([0.0, 0.1, 0.3]),
    color=st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)),
    noise=st.sampled_from([0.0, 8.0]),
)


def union_coverage(frame, regions, style, mask=None):
    """(H, W) max coverage over all regions (including each one's feather)."""
    h, w = frame.shape[:2]
    geo = geometry(regions, style, mask, w, h)
    ys, xs = np.mgrid[0:h, 0:w]
    total = np.zeros((h, w))
    for i in range(len(geo.shape)):
        x0, y0, x1, y1 = geo.ext[i]
        a = coverage(geo.shape[i], geo.core[i], geo.feather[i], mask, h, w)
        total = np.maximum(total, np.where((xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1), a, 0))
    return total


@SETTINGS
@given(scenes(), styles)
# An empty box first, inside a later box with a soft edge as narrow (0 px): the kernel kept
# it (a box was skipped only inside an earlier equal one or a wider-edged one), the
# reference did not, and the later box's pixelate noise came from another index.
@example((np.array([[[95, 130, 194]]], np.uint8), Regions.from_boxes([[0, 0, 0, 0], [0, 0, 1, 1]], kind=Kind.OTHER), 0),
         Style(method=Method.PIXELATE, padding=0.0, feather=0.0, noise=8.0))
def test_kernels_match_numpy_reference(scene, style):
    frame, regions, seed = scene
    got = obscure(frame, regions, style, seed=seed)
    want = reference_obscure(frame, regions, style, seed=seed)
    assert np.abs(got.astype(int) - want.astype(int)).max(initial=0) <= 1


@st.composite
def nested_scenes(draw):
    """Scenes whose later boxes lie inside (or repeat) earlier ones, as a tracker's holds do."""
    frame, regions, seed = draw(scenes(max_regions=3))
    boxes = regions.xyxy.tolist()
    for _ in range(draw(st.integers(1, 4))):
        if not boxes:
            break
        x0, y0, x1, y1 = boxes[draw(st.integers(0, len(boxes) - 1))]
        fx = sorted(draw(st.lists(st.floats(0, 1), min_size=2, max_size=2)))
        fy = sorted(draw(st.lists(st.floats(0, 1), min_size=2, max_size=2)))
        boxes.append([x0 + fx[0] * (x1 - x0), y0 + fy[0] * (y1 - y0), x0 + fx[1] * (x1 - x0), y0 + fy[1] * (y1 - y0)])
    return frame, Regions.from_boxes(np.array(boxes, np.float32).reshape(-1, 4)), seed


@SETTINGS
@given(nested_scenes(), styles)
def test_kernels_match_numpy_reference_with_nested_boxes(scene, style):
    frame, regions, seed = scene
    got = obscure(frame, regions, style, seed=seed)
    want = reference_obscure(frame, regions, style, seed=seed)
    assert np.abs(got.astype(int) - want.astype(int)).max(initial=0) <= 1


@SETTINGS
@given(st.one_of(scenes(), nested_scenes()), styles)
def test_outside_untouched_and_input_kept(scene, style):
    frame, regions, seed = scene
    before = frame.copy()
    out = obscure(frame, regions, style, seed=seed)
    assert out.shape == frame.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(frame, before)
    outside = union_coverage(frame, regions, style) == 0
    np.testing.assert_array_equal(out[outside], frame[outside])


@SETTINGS
@given(st.one_of(scenes(max_side=60), nested_scenes()), st.sampled_from(list(Method)), st.sampled_from(list(Shape)))
def test_inside_changed_on_textured_input(scene, method, shape):
    frame, regions, seed = scene
    style = Style(method=method, shape=shape, feather=0.0)
    out = obscure(frame, regions, style, seed=seed)
    core = union_coverage(frame, regions, style) >= 1
    if core.sum() < 16:
        return  # too few pixels for "most changed" to be meaningful on random input
    changed = (out != frame).any(axis=2)[core]
    assert changed.mean() > 0.8


@SETTINGS
@given(st.one_of(scenes(), nested_scenes()), st.sampled_from([Method.SECURE_BLUR, Method.FILL]),
       st.sampled_from(list(Shape)), st.sampled_from([0.0, 0.2]))
def test_secure_methods_never_read_hidden_pixels(scene, method, shape, feather):
    frame, regions, seed = scene
    style = Style(method=method, shape=shape, feather=feather)
    core = union_coverage(frame, regions, Style(method=method, shape=shape, feather=0.0)) >= 1
    other = frame.copy()
    other[core] = np.random.default_rng(seed + 1).integers(0, 256, (int(core.sum()), 3), dtype=np.uint8)
    np.testing.assert_array_equal(obscure(frame, regions, style, seed=seed),
                                  obscure(other, regions, style, seed=seed))


def test_a_region_walled_in_by_others_takes_the_scene_colour_not_grey():
    # A dark scene; region A in the corner has the frame's edges on two sides and regions B
    # and C on the other two, so its own ring holds no pixel it may read. It was filled flat
    # mid grey (127.5), a bright slab in a dark theatre; its ring is now taken farther out.
    frame = np.full((240, 240, 3), (30, 40, 50), np.uint8)
    boxes = [[0, 0, 100, 100], [100, 0, 160, 100], [0, 100, 160, 160]]
    style = Style(method=Method.SECURE_BLUR, padding=0, feather=0, noise=0)
    out = obscure(frame, boxes, style, seed=1)
    np.testing.assert_allclose(out[:100, :100].reshape(-1, 3).mean(axis=0), (30, 40, 50), atol=1)
    # Still never a hidden pixel: what lies under the regions does not change the fill.
    other = frame.copy()
    other[:160, :160] = 250
    np.testing.assert_array_equal(obscure(other, boxes, style, seed=1)[:160, :160], out[:160, :160])


@pytest.mark.parametrize("method", list(Method))
def test_a_box_inside_another_of_its_style_is_not_drawn_again(method):
    # Trackers and holds repeat one face many times (a detection, its held prediction, the
    # look-ahead's box drawn back). A box inside another, with a soft edge no wider, hides
    # nothing more: drawn again it only cost time (57% of the face rows of a 720p crowd)
    # and left a patch inside the patch. The frame comes out as from the outer box alone.
    frame = np.random.default_rng(3).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    style = Style(method=method, padding=0.1, feather=0.1, noise=8.0)
    outer = [10.0, 12.0, 80.0, 70.0]
    boxes = [[30, 30, 50, 45], outer, [10.0, 12.0, 80.0, 70.0], [20.5, 20.5, 60.2, 66.1]]
    np.testing.assert_array_equal(obscure(frame, boxes, style, seed=5), obscure(frame, [outer], style, seed=5))
    # An ellipse inside another's box may stick out of that ellipse: every one is drawn.
    ellipse = Style(method=method, shape=Shape.ELLIPSE, padding=0.1, feather=0.1, noise=8.0)
    corner = [[10.0, 12.0, 80.0, 70.0], [12, 14, 22, 24]]
    assert not np.array_equal(obscure(frame, corner, ellipse, seed=5), obscure(frame, corner[:1], ellipse, seed=5))


def test_ring_of_depth_zero_still_moves_outwards():
    """The kernel itself, given a band of 0 (the pipeline gives 2 or more): its rings must
    still move outwards to the scene; a depth of 0 never did, and looped for ever."""
    import threading

    from redact._kernels.obscure import ring_controls

    src = np.full((50, 50, 3), 40, np.uint8)
    ext = np.array([[0, 0, 30, 30], [30, 0, 40, 50], [0, 30, 30, 40]], np.int32)
    result = []
    worker = threading.Thread(target=lambda: result.append(ring_controls(src, ext, 0, 0, 6)), daemon=True)
    worker.start()
    worker.join(60)
    assert result, "ring_controls did not return"
    np.testing.assert_array_equal(result[0], np.full((4, 6, 3), 40.0))


def test_out_parameter_in_place_and_separate():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    boxes = [[5, 5, 20, 25], [15, 10, 35, 28]]
    expected = obscure(frame, boxes, seed=7)
    out = np.empty_like(frame)
    assert obscure(frame, boxes, seed=7, out=out) is out
    np.testing.assert_array_equal(out, expected)
    inplace = frame.copy()
    assert obscure(inplace, boxes, seed=7, out=inplace) is inplace
    np.testing.assert_array_equal(inplace, expected)


def test_last_row_and_column_covered_at_frame_edge():
    frame = np.full((11, 13, 3), 255, np.uint8)
    out = obscure(frame, [[6.2, 4.7, 12.01, 10.9]], Style(method=Method.FILL, padding=0, feather=0))
    assert (out[4:, 6:] == 0).all()
    assert (out[:4] == 255).all() and (out[:, :6] == 255).all()


@pytest.mark.parametrize("box, rows, cols", [
    ([100, 100, 300, 120], (96, 124), (78, 322)),  # a line of text: padded 240 x 24, feather 2 px
    ([100, 40, 120, 160], (26, 174), (96, 124)),   # a tall face: padded 24 x 144, feather 2 px
])
def test_the_soft_edge_scales_with_the_shorter_side(box, rows, cols):
    # The feather (5% by default) used to follow the longer side: 12 px above and below a
    # 20-px line of text, each side of a tall face; it only blends, so it hid nothing more.
    frame = np.full((200, 400, 3), 255, np.uint8)
    out = obscure(frame, [box], Style(method=Method.FILL))
    ys, xs = np.nonzero((out != 255).any(axis=2))
    assert (ys.min(), ys.max() + 1, xs.min(), xs.max() + 1) == (*rows, *cols)
    x0, y0, x1, y1 = box
    dx, dy = 0.1 * (x1 - x0), 0.1 * (y1 - y0)
    assert (out[int(y0 - dy):int(y1 + dy), int(x0 - dx):int(x1 + dx)] == 0).all()  # the padded box, hidden


def test_mask_silhouette():
    frame = np.random.default_rng(1).integers(0, 256, (20, 20, 3), dtype=np.uint8)
    mask = np.zeros((20, 20), bool)
    mask[3:9, 4:7] = True
    mask[12, 15] = True
    out = obscure(frame, Regions.empty(), Style(method=Method.FILL, feather=0), mask=mask)
    assert (out[mask] == 0).all()
    np.testing.assert_array_equal(out[~mask], frame[~mask])


def test_style_per_kind():
    frame = np.full((10, 20, 3), 100, np.uint8)
    regions = Regions.concat([Regions.from_boxes([[0, 0, 5, 5]], kind=Kind.FACE),
                              Regions.from_boxes([[10, 0, 15, 5]], kind=Kind.PLATE)])
    styles = {Kind.FACE: Style(method=Method.FILL, color=(1, 2, 3), padding=0, feather=0),
              None: Style(method=Method.FILL, color=(9, 9, 9), padding=0, feather=0)}
    out = obscure(frame, regions, styles)
    assert out[2, 2].tolist() == [1, 2, 3] and out[2, 12].tolist() == [9, 9, 9]


def test_secure_blur_with_no_usable_ring_is_grey():
    frame = np.random.default_rng(2).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    out = obscure(frame, [[-5, -5, 20, 20]], Style(noise=0))
    assert (np.abs(out.astype(int) - 128) <= 1).all()


@pytest.mark.parametrize("frame, regions, style, error", [
    (np.zeros((4, 4), np.uint8), [], Style(), "expected shape \\(H, W, 3\\)"),
    (np.zeros((4, 4, 4), np.uint8), [], Style(), "drop alpha"),
    (np.zeros((4, 4, 3), np.float32), [], Style(), "dtype uint8"),
    (np.zeros((0, 4, 3), np.uint8), [], Style(), "at least 1x1"),
    ([[1, 2, 3]], [], Style(), "numpy array"),
    (np.zeros((4, 4, 3), np.uint8), [[1, 1, 0, 0]], Style(), "x1 >= x0"),
    (np.zeros((4, 4, 3), np.uint8), [[np.nan, 1, 2, 2]], Style(), "finite"),
    (np.zeros((4, 4, 3), np.uint8), [], "blur", "Style or a mapping"),
])
def test_errors(frame, regions, style, error):
    with pytest.raises((ValueError, TypeError), match=error):
        obscure(frame, regions, style)


@pytest.mark.parametrize("kwargs, error", [
    ({"padding": -1}, "padding"), ({"feather": 2}, "feather"), ({"color": (1, 2)}, "color"),
    ({"method": "smudge"}, "smudge"), ({"noise": 100}, "noise"),
])
def test_style_errors(kwargs, error):
    with pytest.raises(ValueError, match=error):
        Style(**kwargs)


def test_bad_out_and_mask():
    frame = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="out: expected"):
        obscure(frame, [], out=np.zeros((4, 5, 3), np.uint8))
    with pytest.raises(ValueError, match="mask: expected shape"):
        obscure(frame, [], mask=np.zeros((3, 3), bool))


@pytest.mark.parametrize("method", list(Method))
@pytest.mark.parametrize("shape", list(Shape))
def test_kernels_match_reference_on_large_regions(method, shape):
    """Regions longer than the ring's sample count (strided ring sampling, long spans)."""
    frame = np.random.default_rng(5).integers(0, 256, (140, 230, 3), dtype=np.uint8)
    regions = Regions.from_boxes([[10.5, 20, 220, 115], [150, 90, 240, 150], [-30, 60, 40, 90]])
    style = Style(method=method, shape=shape, feather=0.1)
    got = obscure(frame, regions, style, seed=11)
    want = reference_obscure(frame, regions, style, seed=11)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1


@pytest.mark.parametrize("method", list(Method))
def test_in_place_equals_new_array_for_every_method(method):
    """Overlapping regions: in-place work must read the same pixels a separate output would."""
    frame = np.random.default_rng(3).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    boxes = [[5, 5, 30, 30], [20, 15, 45, 38], [0, 30, 12, 40]]
    style = Style(method=method, feather=0.1)
    expected = obscure(frame, boxes, style, seed=4)
    inplace = frame.copy()
    assert obscure(inplace, boxes, style, seed=4, out=inplace) is inplace
    np.testing.assert_array_equal(inplace, expected)


@pytest.mark.parametrize("method", list(Method))
@pytest.mark.parametrize("view", ["same-pixels", "shifted"])
def test_out_sharing_memory_with_the_frame_equals_new_array(method, view):
    """``out`` a view of the frame (not the frame object itself) is in-place work too: the
    kernels that read the pixels they hide need the snapshot ``out is frame`` would get."""
    rng = np.random.default_rng(5)
    buffer = rng.integers(0, 256, (41, 50, 3), dtype=np.uint8)
    if view == "same-pixels":
        frame = buffer[:40]
        out = frame[:]  # a new array object over exactly the frame's pixels
    else:
        frame, out = buffer[:40], buffer[1:]  # one row apart, 39 rows shared
    assert out is not frame and np.shares_memory(out, frame)
    boxes = [[5, 5, 30, 30], [20, 15, 45, 38], [0, 30, 12, 40]]
    style = Style(method=method, feather=0.1)
    expected = obscure(frame.copy(), boxes, style, seed=4)
    assert obscure(frame, boxes, style, seed=4, out=out) is out
    np.testing.assert_array_equal(out, expected)
