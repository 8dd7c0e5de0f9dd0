"""Reveal only the incident: the JSON form, the window cut, the policy stage's precedence,
subjects followed with identity checks, and the whole path on real clips and photos."""
import dataclasses
import json
from fractions import Fraction

import numpy as np
import pytest
from media import read_video, write_video

from redact.core.geometry import iou_matrix, pixel_boxes
from redact.core.incident import Incident, IncidentError, Subject, Window, subject_from_text
from redact.core.policy import Policy
from redact.core.types import Kind, Regions
from redact.core.zones import Units
from redact.jobs.files import redact_image, redact_video
from redact.pipeline.compose import FrameSubjects, compose, keep_zone_mask
from redact.pipeline.subjects import (
    AMONG_OTHERS,
    CONFUSABLE_IOU,
    SHARED_BOX,
    FrameRecord,
    _agreed,
    follow,
    pick,
)
from redact.record.manifest import manifest_path

EXAMPLE = {"units": "px",
           "window": {"start": 2.0, "end": 20.0, "margin": 0.5},
           "subjects": [{"t": 5.0, "point": [410, 220], "hide_face": False}],
           "keep_zones": [[[0, 0], [640, 0], [640, 360], [0, 360]]],
           "privacy_zones": [[500, 0, 140, 120]],
           "request": "police request 2026-118", "recipient": "Anytown PD", "purpose": "parcel theft"}


def test_the_documented_json_form_parses():
    inc = Incident.from_dict(EXAMPLE)
    assert inc.units is Units.PX and inc.window == Window(2.0, 20.0, 0.5)
    assert inc.subjects == (Subject(t=5.0, point=(410.0, 220.0)),)
    assert inc.privacy_zones[0].box(640, 360) == (500.0, 0.0, 640.0, 120.0)
    assert Policy(incident=inc).kinds >= {Kind.PERSON, Kind.FACE, Kind.PLATE}  # bystanders need people


@pytest.mark.parametrize("change, message", [
    ({"units": None}, "state \"units\""),
    ({"units": "fraction"}, "not within 0..1"),
    ({"units": "inch"}, "expected 'px' or 'fraction'"),
    ({"colour": "red"}, "unknown field"),
    ({"window": {"start": 5, "end": 2}}, "must be after start"),
    ({"subjects": [{"t": 1, "point": [1, 2], "box": [1, 2, 3, 4]}]}, "exactly one of"),
    ({"subjects": [{"t": -1, "point": [1, 2]}]}, ">= 0"),
    ({"keep_zones": [[[0, 0], [1, 1]]]}, "at least 3 corners"),
    ({"request": "two\nlines"}, "one line"),
])
def test_bad_incidents_are_refused_with_where(change, message):
    data = dict(EXAMPLE, **change)
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(IncidentError, match=message):
        Incident.from_dict(data)


def test_zone_outside_the_frame_is_refused():
    inc = Incident.from_dict(dict(EXAMPLE, privacy_zones=[[900, 0, 10, 10]], subjects=[]))
    with pytest.raises(ValueError, match="outside the 640x360 frame"):
        inc.check_frame(640, 360)


@pytest.mark.parametrize("rate, pts", [(Fraction(30000, 1001), None), (None, [0, 1, 3, 4, 8, 9, 15, 16, 17, 30])])
def test_window_cut_is_exact(tmp_path, rate, pts):
    """Frames outside [start - margin, end + margin] are cut; the rest keep their exact
    intervals (29.97 fps and VFR), re-timed to start at 0."""
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    if pts is None:
        write_video(src, frames=60, rate=rate)
    else:
        write_video(src, frames=len(pts), rate=Fraction(10), pts=pts, time_base=Fraction(1, 10))
    _, times, _ = read_video(src)
    window = Window(0.35, 1.1, margin=0.05) if pts else Window(0.5, 1.2)
    inside = [t for t in times if window.first <= float(t - times[0]) <= window.last]
    assert 0 < len(inside) < len(times)
    manifest = redact_video(src, dst, Policy(kinds=(), incident=Incident(window=window)))
    _, out_times, _ = read_video(dst)
    assert len(out_times) == len(inside) == manifest.frames_out
    assert out_times == [t - inside[0] for t in inside]
    record = json.loads(manifest_path(dst).read_text())["incident"]["window"]
    assert record["frames_kept"] == len(inside)
    assert record["frames_cut_before"] == sum(float(t - times[0]) < window.first for t in times)


def test_window_past_the_clip_is_an_error(tmp_path):
    src = tmp_path / "in.mp4"
    write_video(src, frames=10)
    with pytest.raises(IncidentError, match="lasts"):
        redact_video(src, tmp_path / "out.mp4", Policy(kinds=(), incident=Incident(window=Window(30, 40))))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def _regions(rows):
    """rows: (kind, track id, box)."""
    if not rows:
        return Regions.empty()
    kind, ids, boxes = zip(*rows)
    return Regions(np.array(boxes, np.float32), np.ones(len(rows)), np.array(kind), np.array(ids))


SUBJECT = (Kind.PERSON, 1, [100, 100, 200, 400])
SUBJECT_FACE = (Kind.FACE, 2, [130, 110, 170, 160])
BYSTANDER = (Kind.PERSON, 3, [180, 120, 260, 420])  # overlaps the subject's right edge
BYSTANDER_FACE = (Kind.FACE, 4, [200, 130, 240, 170])
PLATE = (Kind.PLATE, 5, [400, 300, 460, 320])
OTHER_PLATE = (Kind.PLATE, 6, [500, 300, 560, 320])


def _obscured_ids(final):
    return sorted(int(t) for t in final.track_id if t >= 0)


def test_policy_stage_precedence():
    regions = _regions([SUBJECT, SUBJECT_FACE, BYSTANDER, BYSTANDER_FACE, PLATE, OTHER_PLATE])
    everything, _ = compose(regions, 640, 480)
    assert _obscured_ids(everything) == [1, 2, 3, 4, 5, 6]  # no subjects: everything found is hidden
    final, mask = compose(regions, 640, 480, subjects=FrameSubjects(people=frozenset({1}), plates=frozenset({5})))
    assert _obscured_ids(final) == [3, 4, 6] and mask is None  # subject, its face, its plate shown
    hidden_face, _ = compose(regions, 640, 480, subjects=FrameSubjects(frozenset({1}), frozenset({1})))
    assert 2 in _obscured_ids(hidden_face) and 1 not in _obscured_ids(hidden_face)
    # A face inside the subject's box *and* a bystander's may be the bystander's: hidden.
    shared_face = (Kind.FACE, 7, [182, 125, 198, 140])
    final, _ = compose(_regions([SUBJECT, BYSTANDER, shared_face]), 640, 480,
                       subjects=FrameSubjects(frozenset({1})))
    assert _obscured_ids(final) == [3, 7]


def test_privacy_zone_and_fault_cover_the_subject():
    from redact.core.zones import Zone

    regions = _regions([SUBJECT])
    shown = FrameSubjects(frozenset({1}))
    final, _ = compose(regions, 640, 480, zones=[Zone(100, 100, 50, 50, units="px")], subjects=shown)
    assert final.xyxy.tolist() == [[100, 100, 150, 150]]
    final, _ = compose(regions, 640, 480, subjects=shown, faulted=True)
    assert [0, 0, 640, 480] in final.xyxy.tolist()


def test_keep_zone_mask_is_the_outside():
    mask = keep_zone_mask([np.array([[10, 10], [50, 10], [50, 30], [10, 30]], float)], 64, 40)
    assert mask[20, 30] == False and mask[5, 5] == True and mask[35, 60] == True  # noqa: E712
    assert keep_zone_mask([], 64, 40) is None


def _look(colour):
    import cv2

    patch = np.zeros((40, 20, 3), np.uint8)
    patch[:] = colour
    hsv = cv2.cvtColor(patch, cv2.COLOR_RGB2HSV)
    return cv2.normalize(cv2.calcHist([hsv], [0, 1], None, [12, 4], [0, 180, 0, 256]), None).flatten()


def _walk(swap: bool):
    """Subject (track 1, red) walks right; a bystander (track 2, blue) crosses it at frames
    4-6. With ``swap`` the tracker's track 1 carries the blue person after the crossing."""
    red, blue = _look((200, 30, 30)), _look((30, 30, 200))
    records = []
    for i in range(12):
        x = 100 + 10 * i
        other = 200 - 10 * i if i < 8 else 100
        regions = _regions([(Kind.PERSON, 1, [x, 100, x + 40, 200]), (Kind.PERSON, 2, [other, 100, other + 40, 200])])
        after = i > 6
        looks = {1: blue if (swap and after) else red, 2: red if (swap and after) else blue}
        records.append(FrameRecord(regions, i / 10, None, frozenset({1, 2}), looks))
    return records


def test_a_crossing_hides_the_subject_until_its_look_matches_again():
    states = follow(_walk(swap=False), 0, 1)
    crossing = [i for i, s in states.items() if s[0] != "shown"]
    assert crossing and min(crossing) > 0 and max(crossing) < 11
    assert states[11] == ("shown", 1)  # same look after the crossing: shown again


def test_a_swap_that_looks_and_motion_disagree_on_never_shows_either():
    """After the crossing track 1 carries on the subject's path but with the bystander's
    blue look: motion says one thing, looks the other, so the subject stays hidden (and is
    never shown on the bystander's track either)."""
    states = follow(_walk(swap=True), 0, 1)
    assert all(states[i][0] == "subject identity not re-established" for i in range(7, 12)), states


def test_a_tracker_swap_is_undone_the_subject_followed_where_it_came_out():
    """The tracker swaps the ids at the crossing: track 1 now follows the blue bystander's
    path and look, track 2 the red subject's. Both cues agree, so the subject is shown on
    track 2 and the bystander never."""
    red, blue = _look((200, 30, 30)), _look((30, 30, 200))
    records = []
    for i in range(12):
        subject, bystander = [100 + 10 * i, 100, 140 + 10 * i, 200], [200 - 10 * i, 100, 240 - 10 * i, 200]
        rows = [(Kind.PERSON, 1, subject), (Kind.PERSON, 2, bystander)]
        looks = {1: red, 2: blue}
        if i > 6:
            rows = [(Kind.PERSON, 1, bystander), (Kind.PERSON, 2, subject)]
            looks = {1: blue, 2: red}
        records.append(FrameRecord(_regions(rows), i / 10, None, frozenset({1, 2}), looks))
    states = follow(records, 0, 1)
    assert all(states[i] == ("shown", 2) for i in range(9, 12)), [states.get(i) for i in range(12)]
    assert all(states[i][1] != 1 or states[i][0] != "shown" for i in range(7, 12))
    assert any(states[i][0] != "shown" for i in range(4, 9))


def test_a_point_that_hits_nobody_names_the_nearest_people():
    regions = _regions([SUBJECT, BYSTANDER])
    record = FrameRecord(regions, 5.0, None, frozenset({1, 3}))
    inc = Incident(subjects=(Subject(t=5.0, point=(600, 50)),))
    with pytest.raises(IncidentError, match=r"hits no person or plate at 5.00 s; nearest.*person at \[180, 120"):
        pick([record], inc.subjects[0], inc, 640, 480)
    assert pick([record], Subject(t=5.0, point=(150, 300)), inc, 640, 480)[2] == 1


def test_a_number_keeps_the_box_pick_drew_not_this_runs_nth_person():
    """`redact pick` (another profile, or no tracker) may number people otherwise than this
    run's detectors: number 1 must keep the person pick drew as 1, here this run's second
    from the left, and a number whose box this run does not find is refused (issue 21, 1)."""
    regions = _regions([SUBJECT, BYSTANDER])
    record = FrameRecord(regions, 5.0, None, frozenset({1, 3}))
    inc = Incident()
    bystander_box = tuple(float(v) for v in regions.xyxy[1])
    drawn_as_1 = dataclasses.replace(Subject(t=5.0, number=1), drawn=bystander_box)
    assert pick([record], drawn_as_1, inc, 640, 480)[2] == 3
    nobody = dataclasses.replace(Subject(t=5.0, number=1, numbered_by="fast"), drawn=(500.0, 10.0, 560.0, 90.0))
    with pytest.raises(IncidentError, match=r"number 1 of `redact pick --profile fast`.*finds nobody on the box"):
        pick([record], nobody, inc, 640, 480)
    with pytest.raises(IncidentError, match="not resolved"):
        pick([record], Subject(t=5.0, number=1), inc, 640, 480)


def test_real_photo_subject_kept_bystander_hidden(astronaut_pair, tmp_path):
    from redact.media.images import read_image

    src, frame = astronaut_pair
    faces = [(slice(50, 110), slice(110, 150)), (slice(50, 110), slice(487, 527))]  # the two faces
    inc = Incident(subjects=(Subject(t=0, point=(148, 200)),), request="ref 1", recipient="PD", purpose="test")
    manifest = redact_image(src, tmp_path / "out.png", Policy(incident=inc))
    out = read_image(tmp_path / "out.png")
    kept = np.mean(out[faces[0]] == frame[faces[0]])
    hidden = np.mean(out[faces[1]] == frame[faces[1]])
    assert kept > 0.99, "the subject's face must be shown"
    assert hidden < 0.2, "the bystander's face must be obscured"
    assert manifest.incident["subjects_kept"][0]["kind"] == "person"
    assert manifest.incident["request"] == "ref 1"
    from redact.record.sharelog import read_shares

    assert any(e.output_sha256 == manifest.output_sha256 for e in read_shares().entries)


def test_a_lost_face_over_the_subject_stays_obscured():
    """Held predictions give way inside a subject's box only when they are people: a face
    or plate the detector missed for a frame is still a face or plate there."""
    regions = _regions([SUBJECT, (Kind.FACE, 8, [140, 120, 170, 150]), (Kind.PLATE, 9, [120, 300, 180, 320])])
    final, mask = compose(regions, 640, 480, subjects=FrameSubjects(frozenset({1}), frozenset({1})),
                          observed=frozenset({1}))
    assert {8, 9} <= set(_obscured_ids(final))


def _hidden(final, mask, width=640, height=480):
    hidden = np.zeros((height, width), bool)
    for x0, y0, x1, y1 in pixel_boxes(final.xyxy, width, height):
        hidden[y0:y1, x0:x1] = True
    return hidden if mask is None else hidden | mask


@pytest.mark.parametrize("kind, box, covers", [
    (Kind.PERSON, [90, 90, 300, 420], True),       # 2.3x the subject's area, holding all of it
    (Kind.PERSON, [150, 90, 380, 420], True),      # 2.5x, over the subject's right half
    (Kind.PERSON, [150, 300, 190, 340], False),    # a fragment: 0.05x
    (Kind.SILHOUETTE, [90, 90, 300, 420], False),  # a mask part around the subject and its shadow
])
def test_a_lost_person_box_over_the_subject_and_a_neighbour_keeps_covering_it(kind, box, covers):
    """A box of the person network larger than the subject, lost on this frame: on PETS09 the
    box over two walkers (frame 169), lost for a frame while the subject's own box took both,
    gave way inside it and showed a third of the bystander. It stays whole now; a lost
    fragment and a mask part holding the subject and its surroundings give way as before."""
    final, mask = compose(_regions([SUBJECT, (kind, 7, box)]), 640, 480, subjects=FrameSubjects(frozenset({1})),
                          observed=frozenset({1}))
    hidden = _hidden(final, mask)
    x0, y0, x1, y1 = max(box[0], 105), max(box[1], 105), min(box[2], 195), min(box[3], 395)
    assert hidden[y0:y1, x0:x1].all() == covers


@pytest.mark.parametrize("box, detected, gives_way", [
    ([90, 150, 260, 300], True, True),     # a block over the subject's jacket and beyond
    ([90, 150, 260, 300], False, False),   # the same over a subject only predicted here
    ([40, 200, 300, 240], True, False),    # a line of text: a banner behind the subject
    ([130, 200, 160, 230], True, False),   # a small block: a badge, a house number
])
def test_a_text_block_over_the_subject_is_its_clothes_a_line_or_a_badge_stays(box, detected, gives_way):
    """On PETS09 the text network fires on walkers' jackets as solid blocks, which hid the kept
    subject on 33 of its frames. A text block at least a fifth of the subject's height, over
    its box detected on this frame, gives way inside that box; outside it, and for a line of
    text or a small block, the text stays obscured."""
    text = (Kind.TEXT, 8, box)
    final, mask = compose(_regions([SUBJECT, text]), 640, 480, subjects=FrameSubjects(frozenset({1})),
                          observed=frozenset({1} if detected else ()))
    hidden = _hidden(final, mask)
    inside = hidden[max(box[1], 110):min(box[3], 390), max(box[0], 110):min(box[2], 190)]
    assert inside.any() != gives_way
    assert hidden[box[1] + 1:box[3] - 1, 210:box[2] - 1].all()  # right of the subject: always hidden


def test_a_small_bystander_inside_the_subject_keeps_its_face_hidden():
    """A part small enough to be the subject's own fragment is shown as body, but a face on
    it is not the subject's: it stays hidden."""
    subject = (Kind.PERSON, 1, [100, 100, 600, 1100])
    part = (Kind.PERSON, 3, [300, 150, 340, 190])  # 40x40 px, inside the subject's top half
    face = (Kind.FACE, 4, [305, 152, 335, 185])
    final, _ = compose(_regions([subject, part, face]), 1920, 1080, subjects=FrameSubjects(frozenset({1})),
                       observed=frozenset({1, 3, 4}))
    assert 4 in _obscured_ids(final)


def test_a_subject_time_with_no_frame_is_refused():
    records = [FrameRecord(_regions([SUBJECT]), 1.0 + i / 10, None, frozenset({1})) for i in range(5)]
    inc = Incident(subjects=(Subject(t=0.1, point=(150, 300)),))
    with pytest.raises(IncidentError, match="no frame at that time; the frames analysed run from 1.00 s"):
        pick(records, inc.subjects[0], inc, 640, 480)
    assert pick(records, Subject(t=1.2, point=(150, 300)), inc, 640, 480)[0] == 2


def _seen(i: int, rows, looks) -> FrameRecord:
    """Frame ``i`` (10 fps) where every row is detected, with ``looks`` by track id."""
    regions = _regions(rows)
    return FrameRecord(regions, i / 10, None, frozenset(int(t) for t in regions.track_id), looks)


def _broken_track(twins: bool = False, companion: bool = False):
    """The subject (red) walks right; its track (1) ends at frame 4 and a new track (7)
    takes it on from frame 6. With ``twins`` a second red person (8) appears beside it; with
    ``companion`` track 7 was detected beside track 1 before the break (someone else)."""
    red, blue = _look((200, 30, 30)), _look((30, 30, 200))
    records = []
    for i in range(12):
        x = 100 + 10 * i
        rows, looks = [(Kind.PERSON, 9, [400, 100, 440, 200])], {9: blue}
        if i <= 4:
            rows.append((Kind.PERSON, 1, [x, 100, x + 40, 200]))
            looks[1] = red
            if companion:
                rows.append((Kind.PERSON, 7, [300, 100, 340, 200]))
                looks[7] = red
        elif i >= 6:
            rows.append((Kind.PERSON, 7, [x, 100, x + 40, 200]))
            looks[7] = red
            if twins:
                rows.append((Kind.PERSON, 8, [x + 45, 100, x + 85, 200]))
                looks[8] = red
        records.append(_seen(i, rows, looks))
    return records


def test_a_broken_track_is_carried_on_by_the_one_track_that_looks_like_the_subject():
    states = follow(_broken_track(), 0, 1)
    assert states[4] == ("shown", 1) and states[5][0] == "subject lost"
    assert states[6] == ("shown", 7) and states[11] == ("shown", 7)
    assert all(tid != 9 for _, tid in states.values())  # the blue bystander is never the subject


def test_a_broken_track_is_not_carried_on_when_it_is_ambiguous_or_someone_else():
    for records in (_broken_track(twins=True), _broken_track(companion=True)):
        states = follow(records, 0, 1)
        # Nobody after the break: the subject stays obscured (those frames flagged, not shown).
        assert max(i for i, (state, _) in states.items() if state == "shown") == 4
        assert all(state == AMONG_OTHERS for i, (state, _) in states.items() if i > 4)


def _turning(company: tuple | None):
    """The subject (track 1) turns: its torso goes from red to green over 12 frames, each
    frame close to the last, the last far from the first. With ``company`` (a colour) a
    bystander (track 2) of that colour walks right beside it, near but never crossing it."""
    import cv2

    red, green = (200, 30, 30), (30, 200, 30)
    records = []
    for i in range(12):
        patch = np.zeros((40, 20, 3), np.uint8)
        patch[:] = red
        patch[:round(40 * i / 11)] = green
        hsv = cv2.cvtColor(patch, cv2.COLOR_RGB2HSV)
        looks = {1: cv2.normalize(cv2.calcHist([hsv], [0, 1], None, [12, 4], [0, 180, 0, 256]), None).flatten()}
        x = 100 + 10 * i
        rows = [(Kind.PERSON, 1, [x, 100, x + 40, 200])]
        if company:
            rows.append((Kind.PERSON, 2, [x + 45, 100, x + 85, 200]))
            looks[2] = _look(company)
        records.append(_seen(i, rows, looks))
    return records


@pytest.mark.parametrize("company", [None, (30, 30, 200)], ids=["alone", "beside someone unlike it"])
def test_a_subject_whose_look_drifts_stays_shown(company):
    """Walking beside someone (PETS09's pairs) is no reason to stop following its drift:
    the tracker cannot swap boxes that do not overlap, and its look stays nearer its own."""
    states = follow(_turning(company), 0, 1)
    assert all(states[i] == ("shown", 1) for i in range(12))


def test_a_look_drifting_into_the_neighbours_is_not_a_trusted_view():
    """Views decide who comes out of a crossing: one that looks like the person beside the
    subject (green, as the subject turns green) would let looks mistake one for the other."""
    from redact.pipeline.subjects import _trusted_view

    records = _turning(company=(30, 200, 30))
    views = [records[0].looks[1]]
    row = int(np.flatnonzero(records[11].regions.track_id == 1)[0])
    assert _trusted_view(records[1], row, records[1].looks[1], views)  # red, still unlike green
    assert not _trusted_view(records[11], row, records[11].looks[1], [records[10].looks[1]])


def test_a_point_or_box_on_a_person_half_hidden_between_two_others_keeps_that_person():
    """`pick` does not number a box lying across two higher-scoring ones (`straddling`), but a
    point or a box given by hand must still hit the person it is on, not a neighbour."""
    from redact.pipeline.subjects import numbered

    rows = [(Kind.PERSON, 1, [140, 100, 260, 420]), (Kind.PERSON, 2, [200, 100, 300, 400]),
            (Kind.PERSON, 3, [270, 100, 370, 400])]
    kind, ids, boxes = zip(*rows)
    regions = Regions(np.array(boxes, np.float32), np.array([0.9, 0.5, 0.8], np.float32), np.array(kind),
                      np.array(ids))
    record = FrameRecord(regions, 5.0, None, frozenset({1, 2, 3}))
    assert [int(regions.track_id[r]) for r in numbered(regions)] == [1, 3]
    for subject in (Subject(t=5.0, point=(250, 250)), Subject(t=5.0, box=(200, 100, 100, 300))):
        assert pick([record], subject, Incident(), 640, 480)[2] == 2


def test_a_point_on_a_walker_keeps_the_box_centred_on_it_not_a_smaller_one_over_its_legs():
    """PETS09 frame 603 (its track 2, the point at the centre of its true box): the walker's
    own box and a box 0.84x its size over its legs and a neighbour both hold the point; the
    smaller one was kept, a track seen on one frame, and the walker was hidden on all 329 of
    its frames. The box centred on the point is kept; a person still wins over the larger box
    around a group, even with the point near the person's edge."""
    walker, legs = (Kind.PERSON, 1, [174, 144, 201, 214]), (Kind.PERSON, 2, [164, 155, 191, 214])
    record = FrameRecord(_regions([walker, legs]), 5.0, None, frozenset({1, 2}))
    assert pick([record], Subject(t=5.0, point=(189, 177)), Incident(), 768, 576)[2] == 1
    person, group = (Kind.PERSON, 3, [100, 100, 140, 220]), (Kind.PERSON, 4, [88, 100, 148, 220])
    record = FrameRecord(_regions([group, person]), 5.0, None, frozenset({3, 4}))  # the group 1.5x, centred
    assert pick([record], Subject(t=5.0, point=(118, 160)), Incident(), 768, 576)[2] == 3
    # A car centred on the point, 1.25x the person in front of it: kinds are not weighed.
    car = (Kind.VEHICLE, 5, [290, 200, 390, 260])
    record = FrameRecord(_regions([car, (Kind.PERSON, 6, [300, 150, 340, 270])]), 5.0, None, frozenset({5, 6}))
    assert pick([record], Subject(t=5.0, point=(338, 230)), Incident(), 768, 576)[1:] == (Kind.PERSON, 6)


def test_pick_numbers_one_object_once():
    """Two views of one plate (IoU >= 0.7) get one number; a plate beside it its own."""
    from redact.pipeline.subjects import numbered

    regions = Regions.from_boxes(np.array([[460, 280, 608, 330], [462, 282, 606, 326], [100, 280, 200, 320]],
                                          np.float32), kind=Kind.PLATE, score=np.array([0.6, 0.9, 0.8], np.float32))
    assert numbered(regions) == [2, 1]


def test_pick_numbers_a_plate_seen_whole_and_tighter_once_but_nested_people_twice():
    """theaiguys at 4 s: the whole-frame pass and the search on the car find one plate at
    IoU 0.64, one box inside the other: one number. A child in front of an adult nests
    too, and keeps a number of its own."""
    from redact.pipeline.subjects import numbered

    plates = Regions.from_boxes(np.array([[566, 465, 780, 562], [585, 474, 760, 550], [1239, 268, 1284, 286]],
                                         np.float32), kind=Kind.PLATE, score=np.array([0.98, 0.97, 0.9], np.float32))
    assert numbered(plates) == [0, 2]
    people = Regions.from_boxes(np.array([[100, 100, 200, 400], [120, 250, 170, 390]], np.float32), kind=Kind.PERSON)
    assert numbered(people) == [0, 1]


def test_a_tracker_swap_while_two_people_part_never_shows_the_bystander():
    """Red subject (track 1) and blue bystander (track 2) cross at frames 4-6 and are apart
    from frame 7, still side by side; on frame 8 the tracker swaps their ids. Taking the
    first frame apart as the end of the crossing followed track 1 onto the bystander (PETS09,
    walking back from a pick: 5 frames of a bystander shown); the crossing ends when the same
    track comes out on `COMES_OUT_SIGHTINGS` frames in a row: then the subject, on track 2."""
    red, blue = _look((200, 30, 30)), _look((30, 30, 200))
    subject_x = [100, 110, 120, 130, 140, 150, 160, 170, 174, 178, 182, 186, 190, 194]
    bystander_x = [200, 190, 180, 170, 160, 150, 140, 130, 126, 122, 118, 114, 110, 106]
    records = []
    for i, (sx, bx) in enumerate(zip(subject_x, bystander_x)):
        subject, bystander = [sx, 100, sx + 40, 200], [bx, 100, bx + 40, 200]
        ids = (1, 2) if i < 8 else (2, 1)
        rows = [(Kind.PERSON, ids[0], subject), (Kind.PERSON, ids[1], bystander)]
        looks = {ids[0]: red, ids[1]: blue}
        records.append(FrameRecord(_regions(rows), i / 10, None, frozenset({1, 2}), looks))
    states = follow(records, 0, 1)
    assert all(states[i][0] != "shown" or states[i][1] == 2 for i in range(8, 14)), states
    assert all(states[i] == ("shown", 2) for i in range(10, 14)), states
    assert any(states[i][0] != "shown" for i in range(4, 8))


def test_a_crossing_is_resolved_by_who_comes_out_where_not_by_looks_alone():
    """Two people alike meet; the detector then finds them as one box, which keeps the
    subject's track (PETS09: subject 15 and person 9). Looks match, but the person it
    crossed is never seen apart again: the box may be the other one, so the subject stays
    hidden (before, it was shown on the other person's box for 35 frames)."""
    red = _look((200, 30, 30))
    records = []
    for i in range(12):
        rows = [(Kind.PERSON, 1, [100 + 5 * i, 100, 140 + 5 * i, 200])]
        if i < 6:  # the bystander walks in from the right and meets the subject at frame 4
            rows.append((Kind.PERSON, 2, [170 - 5 * i, 100, 210 - 5 * i, 200]))
        records.append(FrameRecord(_regions(rows), i / 10, None, frozenset({1, 2} if i < 6 else {1}),
                                   {1: red, 2: red} if i < 6 else {1: red}))
    states = follow(records, 0, 1)
    assert states[6][0] == "subject crosses another person"  # the bystander vanished beside it
    assert all(states[i][0] != "shown" for i in range(6, 12)), [states[i] for i in range(12)]


def _plan(records, *anchors):
    """plan_subjects for one subject given at several (frame, box) anchors."""
    from redact.pipeline.subjects import plan_subjects

    (t0, b0), *more = anchors
    subject = Subject(t=t0 / 10, box=(b0[0], b0[1], b0[2] - b0[0], b0[3] - b0[1]),
                      anchors=tuple(Subject(t=t / 10, box=(b[0], b[1], b[2] - b[0], b[3] - b[1])) for t, b in more))
    return plan_subjects(records, Incident(subjects=(subject,)), 640, 480)


def test_a_second_anchor_rejoins_a_subject_lost_for_good():
    """The subject's track breaks and two red people come back (no single successor): from
    its first anchor it is lost at frame 5; an anchor at frame 8 re-joins it there on."""
    records = _broken_track(twins=True)
    alone = _plan(records, (0, [100, 100, 140, 200]))
    assert max(alone.shown[0]) == 4
    both = _plan(records, (0, [100, 100, 140, 200]), (8, [180, 100, 220, 200]))
    assert all(both.shown[0].get(i) == 1 for i in range(5))
    assert all(both.shown[0].get(i) == 7 for i in range(6, 12)), both.shown[0]
    assert 8 not in both.shown[0].values()  # the other red person is never shown


def test_a_subject_lost_among_others_is_flagged_for_review_and_one_that_left_is_not():
    """The subject's track ends at frame 5 and two red people come on where it was (no
    single successor): it may be either, so it stays hidden, and those frames go to review
    (where an anchor can re-join it). Walking off with nobody near, it is simply gone."""
    among = _plan(_broken_track(twins=True), (0, [100, 100, 140, 200]))
    assert max(among.shown[0]) == 4
    assert all(among.review.get(i) == AMONG_OTHERS for i in range(5, 12)), among.review
    alone = [FrameRecord(r.regions.select(r.regions.track_id == 9) if i > 4 else r.regions, r.time, None,
                         r.observed, r.looks) for i, r in enumerate(_broken_track())]
    gone = _plan(alone, (0, [100, 100, 140, 200]))
    assert max(gone.shown[0]) == 4 and not gone.review


def test_anchors_that_disagree_about_who_the_subject_is_hide_it():
    """An anchor on the blue bystander (a slip by the owner) and one on the red subject: on
    frames where each walk is certain of its own person, neither is shown."""
    plan = _plan(_walk(swap=False), (0, [100, 100, 140, 200]), (11, [100, 100, 140, 200]))  # track 1, then 2
    assert all(plan.review.get(i) == "subject anchors disagree" for i in (0, 1, 2, 3, 7, 8, 9, 10, 11))
    assert set(plan.shown[0]) <= {4} and 2 not in plan.shown[0].values()


def test_anchors_that_disagree_show_nothing_only_one_of_them_reaches():
    """Two anchors certain of two people on frames 0-9: one of them is on a bystander, and
    nothing tells which. Frames 10-19, which only the second anchor's walk reaches, showed its
    person; they are hidden too."""
    from redact.pipeline.subjects import _agreed

    first = {i: ("shown", 1) for i in range(10)}
    second = {i: ("shown", 2) for i in range(20)}
    states = _agreed([first, second])
    assert all(states[i][0] == "subject anchors disagree" for i in range(20)), states
    # Anchors that agree re-join each other where one is lost.
    states = _agreed([first, {i: ("shown", 1) for i in range(5, 20)}])
    assert all(states[i] == ("shown", 1) for i in range(20))


def test_anchors_read_from_text_and_json():
    s = subject_from_text("3@5+410,220@12")
    assert [a.t for a in s.every_anchor()] == [5.0, 12.0] and s.anchors[0].point == (410.0, 220.0)
    inc = Incident.from_dict({"units": "px",
                              "subjects": [{"t": 1, "point": [5, 5], "anchors": [{"t": 3, "number": 2}]}]})
    assert inc.subjects[0].anchors[0].number == 2
    with pytest.raises(IncidentError, match="anchor has no anchors"):
        Subject(t=1, point=(1, 1), anchors=[Subject(t=2, point=(1, 1), anchors=[Subject(t=3, point=(1, 1))])])
    with pytest.raises(IncidentError, match="two anchors at one time"):
        subject_from_text("3@5+4@5")


def _street(crossing: bool = False):
    """Two cars (tracks 10, 11), each with its plate (20, 21, linked to their car), and a
    driver (person 30) inside car 10; with ``crossing`` car 11 drives over car 10's box from
    frame 6 on."""
    records = []
    for i in range(10):
        x = 100 + 5 * i
        other = 400 if not crossing or i < 6 else 110 + 5 * i
        rows = [(Kind.VEHICLE, 10, [x, 200, x + 160, 300]), (Kind.VEHICLE, 11, [other, 200, other + 160, 300]),
                (Kind.PLATE, 20, [x + 60, 270, x + 100, 285]), (Kind.PLATE, 21, [other + 60, 270, other + 100, 285]),
                (Kind.PERSON, 30, [x + 30, 210, x + 70, 260])]
        kind, ids, boxes = zip(*rows)
        regions = Regions(np.array(boxes, np.float32), np.ones(len(rows)), np.array(kind), np.array(ids),
                          np.array([-1, -1, 10, 11, -1]))
        records.append(FrameRecord(regions, i / 10, None, frozenset(ids), {}))
    return records


def test_a_vehicle_subject_keeps_its_own_plate_and_hides_the_rest():
    """Kept by a point on its bonnet: car 10 and its plate 20 are shown; the other car's
    plate and the driver inside the kept car stay obscured."""
    from redact.pipeline.subjects import plan_subjects

    records = _street()
    plan = plan_subjects(records, Incident(subjects=(Subject(t=0.3, point=(250, 240)),)), 640, 480)
    assert plan.picked[0]["kind"] == "vehicle" and plan.picked[0]["frames_shown"] == 10
    for i, record in enumerate(records):
        shown = plan.frames[i]
        assert shown.vehicles == {10} and shown.plates == {20} and not shown.people
        final, _ = compose(record.regions, 640, 480, subjects=shown, observed=record.observed)
        assert 20 not in final.track_id and {21, 30} <= set(final.track_id.tolist())


def test_a_vehicle_crossed_by_another_is_hidden_from_there_on():
    from redact.pipeline.subjects import plan_subjects

    plan = plan_subjects(_street(crossing=True), Incident(subjects=(Subject(t=0.0, point=(240, 240)),)), 640, 480)
    assert set(plan.shown[0]) == set(range(6))
    assert all(plan.review[i] == "subject crosses another vehicle" for i in range(6, 10))


def test_the_masks_lookalike_of_a_kept_car_is_the_car_but_an_occupant_stays_hidden():
    """Selfie segmentation takes a close car for a person (theaiguys clip: a silhouette at
    IoU 0.85 with the Mercedes): kept, the car is shown, not buried under that silhouette;
    a silhouette the size of someone inside it stays obscured."""
    regions = Regions(np.array([[360, 213, 895, 582], [361, 192, 888, 548], [600, 260, 660, 330]], np.float32),
                      np.ones(3), np.array([Kind.VEHICLE, Kind.SILHOUETTE, Kind.SILHOUETTE]), np.array([8, 40, 41]))
    final, _ = compose(regions, 1280, 720, subjects=FrameSubjects(vehicles=frozenset({8})), observed={8, 40, 41})
    assert final.track_id.tolist() == [41]


def test_an_incident_that_keeps_a_subject_detects_every_frame():
    """The default profile detects every 3rd frame; a kept subject's identity is judged on
    detected boxes frame to frame, so an incident with subjects detects every frame unless
    asked otherwise."""
    keep = Incident(subjects=(Subject(t=1.0, point=(10, 10)),))
    assert Policy().detect_every == 3 and Policy(incident=Incident()).detect_every == 3
    assert Policy(incident=keep).detect_every == 1
    assert Policy(incident=keep, detect_every=2).detect_every == 2


def _painted(final, mask, width, height):
    """Pixels the default style obscures fully (white fill through the library's kernels)."""
    from redact.core.policy import Method, Style
    from redact.pipeline.obscure import obscure

    style = dataclasses.replace(Style(), method=Method.FILL, color=(255, 255, 255))
    return obscure(np.zeros((height, width, 3), np.uint8), final, style, mask=mask)[:, :, 0] == 255


def test_the_silhouette_carve_uses_the_person_detectors_own_padding_and_map_size():
    """`compose` carves a subject's box out of silhouettes on what `unboxed_parts` guarantees:
    no map pixel within the plan's ``cover_pad`` of a person box, a map no larger than its
    ``mask_side``. A plan that changed either would let the carve show mask pixels."""
    from redact.detectors.persons import PLANS
    from redact.pipeline.compose import PERSON_MAP_SIDE, SILHOUETTE_CLEAR_PAD

    assert {(plan.cover_pad, plan.mask_side) for plan in PLANS.values()} == {(SILHOUETTE_CLEAR_PAD, PERSON_MAP_SIDE)}


def test_a_silhouette_around_the_subject_gives_way_inside_its_box_but_hides_its_own_pixels():
    """The person map joins the subject to someone the boxes missed (PETS09: one silhouette
    box around a whole group buried the subject shown inside it). The silhouette, made by
    the detector's own `unboxed_parts`, has no pixel in the subject's box: its rectangle gives
    way there, and every mask pixel of it stays obscured; so does a silhouette held from an
    earlier frame (this frame's mask gives the subject's box to the subject). Over a subject
    not detected on this frame (its box a prediction) the silhouette stays whole."""
    from redact.core.profile import Profile
    from redact.detectors.persons import PLANS, unboxed_parts

    width, height = 320, 240
    prob = np.zeros((height, width), np.float32)
    prob[60:200, 100:140] = 0.9  # the subject
    prob[80:200, 140:190] = 0.9  # someone beside it the box networks missed, joined to it
    prob[150:200, 60:100] = 0.9  # and its shadow on the other side
    subject_box = np.array([[100, 60, 140, 200]], np.float32)
    parts, score = unboxed_parts(prob, 1.0, subject_box, PLANS[Profile.BALANCED])
    assert len(parts) == 2  # the missed person and the shadow: the subject's box splits them
    silhouette = Regions.from_boxes(np.array([[parts[:, 0].min(), parts[:, 1].min(), parts[:, 2].max(),
                                               parts[:, 3].max()]], np.float32), kind=Kind.SILHOUETTE)
    group = Regions(silhouette.xyxy, np.array([0.9], np.float32), silhouette.kind, np.array([7]))
    regions = Regions.concat([Regions(subject_box, np.ones(1, np.float32), np.array([Kind.PERSON]), np.array([1])),
                              group])
    shown = FrameSubjects(frozenset({1}))
    final, mask = compose(regions, width, height, subjects=shown, observed=frozenset({1, 7}))
    painted = _painted(final, mask, width, height)
    inner = painted[64:196, 104:136]
    assert not inner.any(), f"{inner.mean():.0%} of the subject's box obscured"
    outside = prob > 0.5
    outside[60:200, 100:140] = False
    assert painted[outside].all()  # every pixel of the missed person and the shadow
    final, mask = compose(regions, width, height, subjects=shown, observed=frozenset({1}))
    assert not _painted(final, mask, width, height)[64:196, 104:136].any()
    final, mask = compose(regions, width, height, subjects=shown, observed=frozenset({7}))
    assert _painted(final, mask, width, height)[80:200, 100:140].all()  # where the silhouette's box lies


def _crossed_by_one_who_is_lost(swap: bool, alike: bool = False):
    """The red subject (track 1) walks right; a blue bystander (track 2) walks left through
    it at frames 4-6, its track lost there for good (it comes back as track 3 further left).
    With ``swap`` track 1 carries the blue bystander after the crossing instead; with
    ``alike`` the bystander is red too."""
    red = _look((200, 30, 30))
    blue = red if alike else _look((30, 30, 200))
    records = []
    for i in range(16):
        subject, bystander = [100 + 10 * i, 100, 140 + 10 * i, 200], [220 - 10 * i, 100, 260 - 10 * i, 200]
        rows, looks = [(Kind.PERSON, 1, bystander if swap and i > 6 else subject)], {1: blue if swap and i > 6 else red}
        if i < 6:
            rows.append((Kind.PERSON, 2, bystander))
            looks[2] = blue
        elif i > 9 and not swap:
            rows.append((Kind.PERSON, 3, bystander))
            looks[3] = blue
        records.append(_seen(i, rows, looks))
    return records


def test_a_subject_crossed_by_someone_whose_track_ended_is_shown_again_when_look_and_motion_agree():
    """PETS09: people of a group whose tracks broke inside it kept the subject crossed with
    them hidden for the rest of the clip (their tracks never came out apart from it). A
    partner that is nowhere no longer blocks; look and motion must both say it is the subject."""
    states = follow(_crossed_by_one_who_is_lost(swap=False), 0, 1)
    assert any(states[i][0] != "shown" for i in range(4, 8))
    assert all(states[i] == ("shown", 1) for i in range(11, 16)), [states[i] for i in range(16)]


@pytest.mark.parametrize("alike", [False, True])
def test_a_subject_track_left_with_the_lost_partners_look_and_path_stays_hidden(alike):
    states = follow(_crossed_by_one_who_is_lost(swap=True, alike=alike), 0, 1)
    assert all(states[i][0] != "shown" for i in range(7, 16)), [states[i] for i in range(16)]


def test_a_partner_whose_track_went_on_under_a_new_id_is_asked_under_it():
    """Both red: looks cannot tell them apart, only motion can. The bystander's track (2)
    ends in the crossing and goes on as track 3 where it was heading. Taken for nobody, it
    left the subject's own track as the only one asked, which then needed look *and* motion:
    hidden for the rest of its track (PETS09, whole clip: 99 and 141 frames of two subjects).
    Asked as track 3, it comes out where the bystander's path leads, the subject where its own
    does."""
    states = follow(_crossed_by_one_who_is_lost(swap=False, alike=True), 0, 1)
    assert any(states[i][0] != "shown" for i in range(4, 8))
    assert all(states[i] == ("shown", 1) for i in range(11, 16)), [states[i] for i in range(16)]


def _walk_with_face(face_elsewhere: bool = False):
    """The red subject (track 1) walks right alone; its face (track 5) is detected in its
    head on every frame but 4 and 5, where the tracker holds the face at a predicted box
    drifting just above the subject's box (PETS09: a face the detector found and lost for a
    frame or two). With ``face_elsewhere`` the face track was first detected on a blue
    bystander (track 2) further right: not the subject's own."""
    red, blue = _look((200, 30, 30)), _look((30, 30, 200))
    records = []
    for i in range(10):
        x = 100 + 10 * i
        rows = [(Kind.PERSON, 1, [x, 100, x + 40, 200]), (Kind.PERSON, 2, [400, 100, 440, 200])]
        observed = {1, 2, 5}
        if face_elsewhere and i == 0:
            rows.append((Kind.FACE, 5, [410, 102, 430, 122]))
        elif i in (4, 5):
            rows.append((Kind.FACE, 5, [x + 8, 88 - 4 * (i - 4), x + 32, 108 - 4 * (i - 4)]))  # centre above the box
            observed.discard(5)
        else:
            rows.append((Kind.FACE, 5, [x + 10, 102, x + 30, 122]))
        records.append(FrameRecord(_regions(rows), i / 10, None, frozenset(observed), {1: red, 2: blue}))
    return records


@pytest.mark.parametrize("hide_face", [False, True])
def test_the_subjects_own_face_is_shown_where_the_detector_lost_it_for_a_frame(hide_face):
    from redact.pipeline.subjects import plan_subjects

    records = _walk_with_face()
    incident = Incident(subjects=(Subject(t=0.0, box=(100, 100, 40, 100), hide_face=hide_face),))
    plan = plan_subjects(records, incident, 640, 480)
    for i in (3, 4, 5, 6):
        final, _ = compose(records[i].regions, 640, 480, subjects=plan.frames[i], observed=records[i].observed)
        assert (5 in _obscured_ids(final)) == hide_face, (i, _obscured_ids(final))


def test_a_face_track_once_found_on_someone_else_stays_hidden_over_the_subject():
    from redact.pipeline.subjects import plan_subjects

    records = _walk_with_face(face_elsewhere=True)
    plan = plan_subjects(records, Incident(subjects=(Subject(t=0.0, box=(100, 100, 40, 100)),)), 640, 480)
    for i in (4, 5):
        final, _ = compose(records[i].regions, 640, 480, subjects=plan.frames[i], observed=records[i].observed)
        assert 5 in _obscured_ids(final)


@pytest.mark.parametrize("subject_observed", [True, False])
def test_a_background_silhouette_over_the_subjects_head_leaves_its_face_shown(subject_observed):
    """PETS09 frame 177: a mask part around a group behind the subject (300x106 px) reached
    over the subject's head, and its face (the head end of its own box) was hidden."""
    subject = (Kind.PERSON, 1, [384, 209, 415, 294])
    head = (Kind.FACE, 4, [384, 209, 415, 230])
    silhouette = (Kind.SILHOUETTE, 7, [299, 161, 601, 267])
    observed = {4, 7} | ({1} if subject_observed else set())
    final, _ = compose(_regions([subject, head, silhouette]), 768, 576, subjects=FrameSubjects(frozenset({1})),
                       observed=frozenset(observed))
    # This frame's silhouette has no pixel in the subject's detected box; a subject row that
    # is only predicted is no detected box of this frame, and there the face stays hidden.
    assert (4 not in _obscured_ids(final)) == subject_observed


@pytest.mark.parametrize("part_kind", [Kind.SILHOUETTE, Kind.PERSON])
def test_a_held_silhouette_inside_the_subjects_box_leaves_its_face_shown(part_kind):
    """PETS09 frame 14: a mask part held from another frame (9x24 px, inside the subject's
    detected box at its head) counted as someone else, and the subject's face was hidden.
    A held silhouette is that frame's mask: this frame's person box gives the pixels to the
    subject. A held small *person* box there may be a small person lost for a frame: it
    still keeps the face hidden."""
    subject = (Kind.PERSON, 1, [444, 171, 480, 250])
    face = (Kind.FACE, 4, [452, 172, 461, 188])
    part = (part_kind, 97, [451, 175, 460, 199])
    final, _ = compose(_regions([subject, face, part]), 768, 576, subjects=FrameSubjects(frozenset({1})),
                       observed=frozenset({1, 4}))
    assert (4 in _obscured_ids(final)) == (part_kind == Kind.PERSON)


def _pair(newcomer: str) -> list:
    """The subject (red, track 1) walks left, 90x200 px; from frame 16 a person (blue, track
    2) is first detected where ``newcomer`` says, then walks ahead faster. Frames 640x480."""
    red, blue = _look((200, 30, 30)), _look((30, 30, 200))
    records = []
    for i in range(30):
        x = 400 - 8 * i
        subject = 7 if newcomer == "subject's track broke" and i >= 9 else 1
        rows, looks = [], {}
        if not (newcomer == "subject's track broke" and i == 8):
            rows.append((Kind.PERSON, subject, [x, 200, x + 90, 400]))
            looks[subject] = red
        if newcomer == "restarted" and i <= 14:
            rows.append((Kind.PERSON, 5, [x - 50, 205, x + 10, 405]))  # the companion, tracked apart
            looks[5] = blue
        ahead = 6 * (i - 16)
        box = {"at the edge": [x - 10 - ahead, 290, x + 50 - ahead, 490],  # feet below the frame
               "its head": [x + 10, 170, x + 80, 300],
               "standing still": [252, 205, 312, 405]}.get(newcomer, [x - 20 - ahead, 205, x + 40 - ahead, 405])
        if newcomer == "apart":
            box = [x - 250 - ahead, 205, x - 190 - ahead, 405]
        if i >= 16:
            rows.append((Kind.PERSON, 2, box))
            looks[2] = blue
        record = _seen(i, rows, looks)
        if newcomer == "subject held where it came out" and i == 16:
            record = dataclasses.replace(record, observed=record.observed - {1})
        records.append(record)
    return records


@pytest.mark.parametrize("newcomer, hidden", [
    ("out of the subject", range(0, 16)),   # inside its box, unseen: the box held two people
    ("subject held where it came out", range(0, 16)),  # the first frame both are detected on
    ("subject's track broke", range(0, 16)),  # the frames on its earlier track too
    ("standing still", range(15, 16)),      # it was where it was found: only while covered
    ("apart", ()),                          # begins away from the subject
    ("at the edge", ()),                    # comes into view at an edge the subject is not at
    ("restarted", ()),                      # a companion's track broken and restarted there
    ("its head", ()),                       # a second box on the subject's own head, inside it
])
def test_the_frames_before_someone_came_out_of_the_subjects_box_are_hidden(newcomer, hidden):
    """PETS09, an anchor on a walker whose companion walked half in front of her: the
    detector gave the two one box for 30 frames, then he came out of it under a track of his
    own; the box shown as her had been him too, his face with it. The frames before a person
    came out of the subject's box are hidden; played backwards (someone walks into the
    subject's box and is lost there) the frames after, walking back from an anchor."""
    records = _pair(newcomer)
    # Each case's newcomer but "apart" overlaps the subject as much as one coming out of it:
    # only the case's own check can leave the frames shown.
    subject, newcomer_box = records[16].regions.xyxy[:1], records[16].regions.xyxy[-1:]
    assert (iou_matrix(subject, newcomer_box)[0, 0] >= CONFUSABLE_IOU) == (newcomer != "apart")
    for clip, anchor, flip in ((records, 5, lambda i: i), (records[::-1], 24, lambda i: 29 - i)):
        states = follow(clip, anchor, 1, (640, 480))
        shown_before = {flip(i) for i, (state, _) in states.items() if state == "shown" and flip(i) < 16}
        assert shown_before == set(range(16)) - set(hidden), (anchor, states)


def test_a_frame_one_anchor_found_shared_is_hidden_whatever_another_says():
    """An anchor's walk that never reached where the second person came out is certain of the
    subject there; the walk that saw it come out hides the frame, and so does the plan."""
    shared = [{3: ("shown", 1), 4: ("shown", 1)}, {3: (SHARED_BOX, 1), 4: ("shown", 1)}]
    assert _agreed(shared) == {3: (SHARED_BOX, 1), 4: ("shown", 1)}


@pytest.mark.parametrize("start, speed, carried", [
    (604, 3, False),   # comes in at the right edge, slowly
    (604, 12, False),  # comes in there and walks far inward within the window
    (560, 3, True),    # found inward: a track broken in view
])
def test_a_subject_that_left_at_the_edge_is_not_carried_on_by_someone_coming_in_there(start, speed, carried):
    """PETS09, walking back from an anchor: walker 15 left the frame at its right edge and
    walker 1, looking alike, came in there 8 frames later; the new track carried the subject
    on and walker 1 was shown on 39 frames. A track seen at the edge where the subject was
    last seen never carries it on, however far in it walks; one found inward still does."""
    red = _look((200, 30, 30))
    records = []
    for i in range(24):
        rows, looks = [], {}
        if i <= 4:
            rows.append((Kind.PERSON, 1, [560 + 15 * i, 100, 600 + 15 * i, 200]))  # to x1 = 660: off the edge
            looks[1] = red
        elif i >= 7:
            x = start - speed * (i - 7)
            rows.append((Kind.PERSON, 2, [x, 100, x + 40, 200]))
            looks[2] = red
        records.append(_seen(i, rows, looks))
    states = follow(records, 0, 1, (640, 480))
    shown_later = [i for i, (state, _) in states.items() if state == "shown" and i >= 7]
    assert bool(shown_later) == carried, states


def test_a_new_track_where_a_companion_was_last_seen_does_not_carry_the_subject_on():
    """PETS09, whole clip: a walker (red) left the frame; a red bystander standing near it
    lost its track, which restarted under a new id, and that new track was taken for the
    subject. A new track nearer where a companion was last seen than where the subject was
    may be the companion: it carries nobody on."""
    red = _look((200, 30, 30))
    records = []
    for i in range(12):
        x = 100 + 10 * i
        rows, looks = [], {}
        if i <= 4:
            rows += [(Kind.PERSON, 1, [x, 100, x + 40, 200]), (Kind.PERSON, 5, [60, 110, 100, 210])]
            looks.update({1: red, 5: red})
        elif i >= 6:
            rows.append((Kind.PERSON, 7, [66, 108, 106, 208]))  # where the companion stood
            looks[7] = red
        records.append(_seen(i, rows, looks))
    states = follow(records, 0, 1)
    assert all(tid != 7 for state, tid in states.values() if state == "shown")


def _regrouped(born: int = 260, before: bool = False, leaves: bool = False):
    """The subject (red, track 1) walks right until frame 4 (off the frame's right edge
    with ``leaves``); its track ends, and two red people (7, 8) stand where it was on frames
    6-11 (nobody can say which is it). From frame 12 one red person (10) is detected alone,
    first at x ``born``; with ``before``, track 10 was a red person far off on frames 0-4.
    A blue bystander (9) stands apart throughout. Frames are 640x480."""
    red, blue = _look((200, 30, 30)), _look((30, 30, 200))
    records = []
    for i in range(30):
        x = (560 if leaves else 100) + 10 * i
        rows, looks = [(Kind.PERSON, 9, [500, 300, 540, 400])], {9: blue}
        if i <= 4:
            rows.append((Kind.PERSON, 1, [x, 100, x + 40, 200]))
            looks[1] = red
            if before:
                rows.append((Kind.PERSON, 10, [20, 300, 60, 400]))
                looks[10] = red
        elif 6 <= i <= 11:
            rows += [(Kind.PERSON, 7, [130, 100, 170, 200]), (Kind.PERSON, 8, [175, 100, 215, 200])]
            looks.update({7: red, 8: red})
        elif i >= 12:
            rows.append((Kind.PERSON, 10, [born + 2 * (i - 12), 100, born + 40 + 2 * (i - 12), 200]))
            looks[10] = red
        records.append(_seen(i, rows, looks))
    return records


def test_a_subject_lost_among_others_is_found_again_when_one_new_track_alone_looks_like_it():
    """PETS09's lamp-post group: trackers give people new ids as they part and join, and a
    subject lost there stayed hidden for the rest of the clip. A track born after the loss
    whose look is the subject's, nearer it than anyone else's, on five detections in a row
    carries it on from the fifth; the frames before stay hidden and flagged."""
    states = follow(_regrouped(), 0, 1, (640, 480))
    shown = sorted(i for i, (state, _) in states.items() if state == "shown")
    assert shown == [*range(5), *range(16, 30)], shown
    assert all(states[i][1] == 10 for i in range(16, 30))
    assert all(states[i][0] == AMONG_OTHERS for i in range(5, 12))
    assert all(tid not in (7, 8, 9) for state, tid in states.values() if state == "shown")
    assert not any(state == "shown" for state, _ in follow(_regrouped(), 0, 1).values() if _ == 10)  # frame unknown


@pytest.mark.parametrize("case", ["born at the edge", "seen before the loss", "subject left the frame"])
def test_a_lost_subject_is_not_found_again_in_someone_entering_known_or_after_it_left(case):
    """Someone coming into view at the frame's edge, a track that existed while the subject
    was still followed (a companion, or an id that carried someone else), and anyone at all
    once the subject was last seen at the edge (it may have left) never carry it on."""
    records = {"born at the edge": lambda: _regrouped(born=4),
               "seen before the loss": lambda: _regrouped(before=True),
               "subject left the frame": lambda: _regrouped(leaves=True)}[case]()
    states = follow(records, 0, 1, (640, 480))
    assert max(i for i, (state, _) in states.items() if state == "shown") == 4
