"""Review sheet and pick: real clips written with PyAV, real detectors on a real photo."""

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from redact.app import review
from redact.app.review import CAPTION_HEIGHT, MAX_FLAGGED, MAX_TILES, pick_frame, plan_tiles, review_sheet
from redact.detectors.models import ModelMissingError

W, H = 320, 180


def write_clip(path, frames, rate=10):
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def grey_clip(path, n=6):
    write_clip(path, [np.full((H, W, 3), 128, np.uint8) for _ in range(n)])
    return path


def sample_manifest(frames=6):
    return {
        "kind": "video", "frames_out": frames, "timing": {"fps": "10/1"},
        "counts": {"face": {"tracks": 1, "frames": 4, "detections": 4}},
        "tracks": [{"id": 7, "kind": "person", "first_frame": 1, "last_frame": 4,
                    "first_box": [40, 40, 100, 100], "last_box": [200, 60, 260, 120]}],
        "flagged_frames": [{"frame": 5, "reason": "subject lost"}],
        "incident": {"subjects_kept": [{"kind": "person", "frames_shown": 2, "frames_uncertain": 1,
                                        "first_frame": 2, "last_frame": 3, "first_box": [120, 20, 180, 170],
                                        "last_box": [130, 20, 190, 170]}],
                     "window": {"kept_seconds": [1.0, 1.5], "frames_kept": frames, "frames_cut_before": 10,
                                "frames_cut_after": 3},
                     "bystanders_obscured": 1, "request": "case 12", "recipient": "PD", "purpose": "test"},
    }


def red(px):
    return (px[..., 0] > 190) & (px[..., 1] < 90) & (px[..., 2] < 90)


def green(px):
    return (px[..., 1] > 170) & (px[..., 0] < 110) & (px[..., 2] < 130)


def read_png(path):
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def tile_body(sheet, k, columns, thumb_w, thumb_h, rows):
    """Pixels of tile ``k``'s frame (below its caption); the grid sits at the sheet's bottom."""
    tile_h = thumb_h + CAPTION_HEIGHT
    top = sheet.shape[0] - rows * tile_h + (k // columns) * tile_h + CAPTION_HEIGHT
    left = (k % columns) * thumb_w
    return sheet[top:top + thumb_h, left:left + thumb_w]


def test_subject_leads_then_flagged_stretches_then_time_order():
    tiles = plan_tiles(sample_manifest(), 6)
    assert [t.frame for t in tiles[:2]] == [2, 3]  # the subject's first and last frame shown
    assert tiles[2].frame == 5 and tiles[2].flagged == "subject lost"
    rest = [t.frame for t in tiles[3:]]
    assert rest == sorted(rest) and not any(t.flagged for t in tiles[3:])
    assert {t.frame for t in tiles} == set(range(6))  # 6 frames: every one sampled
    roles = {t.frame: {o.role for o in t.outlines} for t in tiles}
    assert roles[1] == roles[4] == {"obscured"} and roles[2] == roles[3] == {"subject"} and not roles[0]


def test_plan_is_bounded_one_tile_per_flagged_stretch_and_faces_add_no_outline():
    """300 face tracks and 20 flagged frames in two stretches: two flagged tiles (the
    middle of each stretch, longest first), no outlines (faces are counted, not drawn),
    and never more than MAX_TILES."""
    manifest = {"tracks": [{"id": i, "kind": "face", "first_frame": i, "last_frame": i + 500,
                            "first_box": [0, 0, 5, 5], "last_box": [0, 0, 5, 5]} for i in range(300)],
                "flagged_frames": [{"frame": f, "reason": "x"} for f in [*range(900, 914), *range(950, 956)]]}
    tiles = plan_tiles(manifest, 1000)
    assert len(tiles) <= MAX_TILES and MAX_FLAGGED >= 2
    assert [(t.frame, t.flagged) for t in tiles[:2]] == [(906, "x (frames 900-913)"), (952, "x (frames 950-955)")]
    assert not any(t.outlines for t in tiles)
    # Ignores what lies outside the clip or is malformed, instead of failing.
    odd = {"tracks": [{"first_frame": 99, "first_box": [0, 0, 1, 1]}, "junk", {"first_frame": -1}],
           "flagged_frames": [{"frame": "3"}, 7]}
    assert [t.frame for t in plan_tiles(odd, 5)] == [0, 1, 2, 3, 4]


def test_sheet_outlines_where_the_manifest_says(tmp_path):
    clip = grey_clip(tmp_path / "out.mp4")
    out = review_sheet(clip, tmp_path / "sheet.png", manifest=sample_manifest(), columns=3, thumb_width=W)
    sheet = read_png(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sheet.shape[1] == 3 * W
    order = [t.frame for t in plan_tiles(sample_manifest(), 6)]  # [2, 3, 5, 0, 1, 4]
    body = {f: tile_body(sheet, k, 3, W, H, rows=2) for k, f in enumerate(order)}
    # Scale 1: the thin red box of person 7 at frame 1 is drawn on [40, 40, 100, 100].
    assert red(body[1][38:43, 45:95]).sum() > 40 and red(body[1][45:95, 38:43]).sum() > 40
    assert not red(body[1][50:90, 50:90]).any()  # an outline, not a fill
    assert red(body[4][60:120, 198:203]).sum() > 40  # the last box, at frame 4
    # The subject: green at its first and last frames, red nowhere there.
    assert green(body[2][30:160, 118:123]).sum() > 100 and not red(body[2]).any()
    assert green(body[3][30:160, 128:133]).sum() > 100
    assert not (red(body[0]).any() or green(body[0]).any())
    # Flagged: the third tile's caption is amber.
    first_caption = sheet[sheet.shape[0] - 2 * (H + CAPTION_HEIGHT):][:CAPTION_HEIGHT - 4, 2 * W:]
    amber = (first_caption[..., 0] > 220) & (first_caption[..., 1] > 160) & (first_caption[..., 2] < 60)
    assert amber.mean() > 0.5


def test_sheet_defaults_beside_the_clip_and_without_manifest(tmp_path):
    clip = grey_clip(tmp_path / "plain.mp4", n=12)
    out = review_sheet(clip, thumb_width=160)
    assert out == tmp_path / "plain.mp4.review.png"
    sheet = read_png(out)
    assert sheet.shape[1] == 2 * 160 and not red(sheet).any() and not green(sheet).any()
    assert len(plan_tiles(None, 12)) == review.SAMPLES


def test_sheet_of_an_image(tmp_path):
    img = tmp_path / "photo.png"
    cv2.imwrite(str(img), np.full((100, 200, 3), 128, np.uint8))
    manifest = {"kind": "image", "tracks": [{"id": 0, "kind": "plate", "first_frame": 0, "last_frame": 0,
                                             "first_box": [20, 20, 120, 60], "last_box": [20, 20, 120, 60]}]}
    sheet = read_png(review_sheet(img, tmp_path / "s.png", manifest=manifest, columns=2, thumb_width=200))
    assert sheet.shape[1] == 400
    assert red(tile_body(sheet, 0, 2, 200, 100, rows=1)[18:23, 30:110]).sum() > 50


@pytest.mark.parametrize("kwargs, match", [
    ({"columns": 0}, "columns"), ({"thumb_width": 8}, "thumb_width"), ({"manifest": "/nonexistent.json"}, "not found"),
])
def test_sheet_errors(tmp_path, kwargs, match):
    clip = grey_clip(tmp_path / "c.mp4", n=2)
    with pytest.raises(ValueError, match=match):
        review_sheet(clip, **kwargs)


@pytest.mark.parametrize("field, value", [
    ("incident", "text"), ("incident", 7), ("incident", [1, "x"]), ("incident", {"subjects_kept": 5, "window": 3}),
    ("flagged_frames", True), ("flagged_frames", 1e308), ("tracks", -1), ("timing", "10/1"), ("counts", [1]),
    ("frames_out", 10 ** 400), ("frames_out", 2 ** 62),
])
def test_sheet_of_a_manifest_with_a_field_of_the_wrong_type(tmp_path, field, value):
    """A damaged or hand-edited manifest: a field of the wrong type is drawn as absent, and a
    frame count no clip holds is read from the clip, instead of failing the sheet with
    Python's words ("'str' object has no attribute 'get'", "integer division result too
    large for a float")."""
    clip = grey_clip(tmp_path / "c.mp4")
    manifest = {**sample_manifest(), field: value}
    sheet = read_png(review_sheet(clip, tmp_path / "s.png", manifest=manifest, columns=3, thumb_width=W))
    assert sheet.shape[1] == 3 * W
    assert len(plan_tiles(manifest, 6)) == 6


def astronauts_side_by_side():
    skimage_data = pytest.importorskip("skimage.data")
    photo = cv2.resize(skimage_data.astronaut(), (260, 260), interpolation=cv2.INTER_AREA)
    frame = np.full((360, 640, 3), 120, np.uint8)
    frame[100:, 20:280] = photo
    frame[100:, 360:620] = photo
    return frame


def test_pick_numbers_two_people_left_to_right(tmp_path):
    clip = tmp_path / "two.mp4"
    frame = astronauts_side_by_side()
    write_clip(clip, [frame] * 5, rate=5)
    try:
        png, found = pick_frame(clip, 0.4)
    except ModelMissingError as exc:
        pytest.skip(f"detector models not installed ({exc})")
    assert png == tmp_path / "two.mp4.pick-0.4.png" and png.is_file()
    assert read_png(png).shape[1] == 640 and read_png(png).shape[0] > 360
    assert [n for n, _, _ in found] == list(range(1, len(found) + 1))
    kinds = [k for _, k, _ in found]
    assert kinds == sorted(kinds, key=lambda k: k != "person")  # people first, then plates

    def who(centre_x):
        return [n for n, k, (x0, y0, x1, y1) in found
                if k == "person" and x0 <= centre_x <= x1 and y0 <= 230 <= y1 and (x1 - x0) * (y1 - y0) > 20000]

    left, right = who(150), who(490)
    if not left or not right:
        pytest.skip(f"the person detector did not find both astronauts as people (found {found})")
    assert max(left) < min(right)


def test_pick_refuses_times_outside_the_clip(tmp_path):
    clip = grey_clip(tmp_path / "short.mp4", n=5)  # 0.0 .. 0.4 s
    with pytest.raises(ValueError, match="past the end"):
        try:
            pick_frame(clip, 3.0)
        except ModelMissingError as exc:
            pytest.skip(f"detector models not installed ({exc})")
    with pytest.raises(ValueError, match=">= 0"):
        pick_frame(clip, -1)
    with pytest.raises(ValueError, match=">= 0"):
        pick_frame(clip, float("nan"))


def test_legend_lists_flagged_stretches_with_the_time_to_anchor_at():
    """Frames 10-19 of a clip cut from 2 s of its input at 10 fps hide the subject: the
    legend names the stretch and 3.45 s of the input (its middle) to anchor it again."""
    manifest = {"timing": {"fps": "10/1"}, "incident": {"window": {"kept_seconds": [2.0, 9.0]}},
                "flagged_frames": [{"frame": f, "reason": "subject identity not re-established"} for f in range(10, 20)]
                + [{"frame": 40, "reason": "subject lost"}]}
    lines = review._legend(Path("c.mp4"), manifest, 70, "video", "")
    assert "  frames 10-19: subject identity not re-established; anchor at 3.45 s of the input" in lines
    assert "  frames 40-40: subject lost; anchor at 6.00 s of the input" in lines


def test_legend_counts_people_as_the_most_seen_at_once_not_their_broken_tracks():
    """A tracker breaks one walker's face into many tracks: the sheet, read by the recipient,
    says the most found at once (as `redact verify` does), not 148 "tracks"."""
    manifest = {"counts": {"face": {"tracks": 148, "frames": 91, "detections": 600, "at_once": 9},
                           "person": {"tracks": 23, "frames": 91, "detections": 500, "at_once": 8},
                           "plate": {"tracks": 1, "frames": 91, "detections": 91}},
                "incident": {"subjects_kept": [{"kind": "person", "frames_shown": 84, "frames_uncertain": 7}],
                             "bystanders_obscured": 23}}
    lines = review._legend(Path("c.mp4"), manifest, 91, "video", "")
    assert ("obscured: faces (91 frames, most found at once 9), plates (91 frames, 1 track), "
            "people (91 frames, most found at once 8)") in lines
    assert ("subjects kept: 1 (person: 84 frames shown, 7 obscured as uncertain); people obscured: "
            "most found at once 8") in lines
    assert not any("148" in line or "23 tracks" in line for line in lines)


@pytest.mark.parametrize("kept", [{"first": 1.5}, ["1.5", "x"], [10**400, 2.0]])
def test_legend_of_a_window_without_two_numbers_says_the_whole_clip(kept):
    manifest = {"incident": {"window": {"kept_seconds": kept}}, "flagged_frames": [{"frame": 3, "reason": "x"}]}
    lines = review._legend(Path("c.mp4"), manifest, 20, "video", "")
    assert "window kept: the whole clip" in lines
