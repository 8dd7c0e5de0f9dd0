"""The pure parts of `benchmarks/plate_exposure.py`: renderer, exposure rule, plate-likeness."""
import cv2
import numpy as np
from plate_exposure import (
    KINDS,
    RENDER_FRAMES,
    WIDTHS,
    Judge,
    paste,
    plate_exposed,
    plate_like,
    render_plates,
    truth_box,
)

from conftest import require_models
from redact import obscure
from redact.core.types import Kind, Regions

W, H = 768, 576


def background():
    """A textured stand-in for a real frame (smooth noise: it has edges everywhere)."""
    rng = np.random.default_rng(0)
    return cv2.GaussianBlur(rng.integers(30, 230, (H, W, 3), dtype=np.uint8), (0, 0), 1.5)


def rendered(t):
    frame = background()
    boxes = []
    for plate in render_plates(W, H):
        quad = plate.quad(t, W)
        paste(frame, plate, quad)
        box = truth_box(quad, W, H)
        if box is not None:
            boxes.append((box, plate))
    return frame, boxes


def test_renderer_draws_every_kind_and_width_with_boxes_inside_the_frame():
    plates = render_plates(W, H)
    assert {(p.kind, p.width) for p in plates} == {(k[0], w) for k in KINDS for w in WIDTHS}
    assert all(p.image.shape[1] == p.width for p in plates)
    seen = set()
    for t in range(0, RENDER_FRAMES, 7):
        for box, plate in rendered(t)[1]:
            x0, y0, x1, y1 = box
            assert 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H
            assert x1 - x0 >= 0.6 * plate.width * 0.9  # mostly in view (a tilt shortens it a little)
            seen.add(plate.plate_id)
    assert len(seen) == len(plates)  # every plate is in view at some time


def test_a_re_encoded_plate_is_exposed_and_an_obscured_one_is_not():
    frame, boxes = rendered(40)
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
    re_encoded = cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED)
    regions = Regions.from_boxes(np.stack([b for b, _ in boxes]), kind=Kind.PLATE)
    hidden = obscure(frame, regions, seed=0)
    assert len(boxes) >= 10
    for box, plate in boxes:
        assert plate_exposed(frame, re_encoded, box)[0], (plate.kind, plate.width)
        assert not plate_exposed(frame, hidden, box)[0], (plate.kind, plate.width)


def test_plate_likeness_takes_rendered_plates_and_rejects_texture_and_flat_paint():
    frame, boxes = rendered(40)
    big = [(b, p) for b, p in boxes if p.width >= 70 and p.tilt == 0]
    assert big and all(plate_like(frame, b) for b, _ in big)
    texture = background()
    assert not plate_like(texture, (100, 100, 200, 130))
    assert not plate_like(np.full((H, W, 3), 128, np.uint8), (100, 100, 200, 130))


def test_the_judges_text_check_sees_a_rendered_plate():
    require_models("ppocr_det_v4", "ppocr_rec_v4", "ppocr_keys_v1")
    frame, boxes = rendered(40)
    box = next(b for b, p in boxes if p.width == 100)
    judge = Judge()
    assert judge.text_again(frame, box)
    assert not judge.text_again(np.full((H, W, 3), 128, np.uint8), box)
