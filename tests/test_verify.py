"""verify_clip on real files: a clip, its signed manifest shaped like the real one, real keys."""
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from redact.core.policy import Policy
from redact.record.manifest import Count, FlaggedFrame, Manifest, manifest_path
from redact.record.signing import (
    KeyFileError,
    device_key,
    export_public,
    fingerprint,
    sign_manifest,
)
from redact.record.verify import Verification, describe, verify_clip


def _manifest_dict(clip_bytes: bytes, **extra) -> dict:
    m = Manifest(kind="video", tool_version="0.1.0", policy=Policy(), frames_in=60, frames_out=60,
                 input_hmac="11" * 32, output_sha256=hashlib.sha256(clip_bytes).hexdigest())
    m.counts = {"face": {"detections": 70, "tracks": 3, "frames": 57},
                "plate": {"detections": 0, "tracks": 0, "frames": 0},
                "person": {"detections": 0, "tracks": 0, "frames": 0},
                "other": {"detections": 0, "tracks": 0, "frames": 2}}
    m.flagged_frames = [{"frame": 10, "reason": "detector failed"}, {"frame": 11, "reason": "detector failed"}]
    m.side_channels = {"audio": "dropped", "metadata": "dropped",
                       "container_tags": {"location": 1, "time": 1, "device": 2, "other": 0},
                       "other_streams_dropped": {"data": 1}, "extra_video_streams_dropped": 0,
                       "encoder_tags_written": False}
    # The encoder field is being added to Manifest; set it as data so the test runs either way.
    return {**json.loads(m.to_json()), "encoder": {"codec": "h264", "crf": 20, "preset": "medium"}, **extra}


def _write(path, data):
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


@pytest.fixture
def clip(tmp_path, config):
    """A clip file and its manifest signed by this device's key."""
    path = tmp_path / "clip.mp4"
    body = bytes(range(256)) * 4000  # ~1 MB: more than one read chunk
    path.write_bytes(body)
    _write(manifest_path(path), sign_manifest(_manifest_dict(body), device_key()))
    return path


def test_good_clip(clip):
    result = verify_clip(clip)
    assert isinstance(result, Verification)
    assert result.ok and result.problems == ()
    assert result.fingerprint == fingerprint(device_key())
    assert result.output_sha256 == hashlib.sha256(clip.read_bytes()).hexdigest()
    text = "\n".join(result.summary)
    assert f"signed by device key {result.fingerprint} (not compared with a known key" in text
    assert f"clip matches the manifest (sha256 {result.output_sha256[:16]}" in text
    assert "faces obscured in 57 of 60 frames (3 tracks)" in text
    assert "no licence plates found" in text
    assert "privacy zones and unreadable frames obscured in 2 of 60 frames" in text
    assert "audio dropped" in text
    assert "location/time/device tags dropped" in text
    assert "1 data stream dropped" in text
    assert "2 frames flagged for review (frames 10, 11" in text
    assert "secure blur" in text
    assert "re-encoded as h264 (crf 20, preset medium)" in text
    assert "people" not in text  # bodies were not looked for and none obscured


def test_expected_key_in_each_form(clip, tmp_path):
    key = device_key()
    for spec in (fingerprint(key), key.public_key(), export_public(tmp_path / "k.pub")):
        result = verify_clip(clip, expected_key=spec)
        assert result.ok, result.problems
        assert "(the key you expected)" in result.summary[0]


def test_wrong_expected_key(clip):
    result = verify_clip(clip, expected_key=fingerprint(Ed25519PrivateKey.generate()))
    assert not result.ok
    assert any("not by the expected key" in p for p in result.problems)
    assert result.fingerprint == ""


def test_changed_byte_in_clip(clip):
    data = bytearray(clip.read_bytes())
    data[len(data) // 2] ^= 1
    clip.write_bytes(bytes(data))
    result = verify_clip(clip)
    assert not result.ok
    assert len(result.problems) == 1 and "clip does not match the manifest" in result.problems[0]
    assert not any("clip matches" in line for line in result.summary)


@pytest.mark.parametrize("edit", [
    lambda d: d.update(frames_out=61),
    lambda d: d["side_channels"].update(audio="kept"),
    lambda d: d["counts"]["face"].update(frames=60),
])
def test_changed_manifest_field(clip, edit):
    path = manifest_path(clip)
    data = json.loads(path.read_text())
    edit(data)
    _write(path, data)
    result = verify_clip(clip)
    assert not result.ok
    assert any("changed after it was signed" in p for p in result.problems)


def test_output_hash_swapped_with_the_clip_caught_by_signature(clip, tmp_path):
    # Someone replaces the clip and updates output_sha256 to match: the signature breaks.
    other = b"another clip"
    clip.write_bytes(other)
    path = manifest_path(clip)
    data = json.loads(path.read_text())
    data["output_sha256"] = hashlib.sha256(other).hexdigest()
    _write(path, data)
    result = verify_clip(clip)
    assert not result.ok and len(result.problems) == 1
    assert "changed after it was signed" in result.problems[0]


def test_missing_manifest(clip):
    manifest_path(clip).unlink()
    result = verify_clip(clip)
    assert not result.ok and result.summary == ()
    assert "no manifest found" in result.problems[0]


def test_unsigned_manifest(clip):
    _write(manifest_path(clip), _manifest_dict(clip.read_bytes()))
    result = verify_clip(clip)
    assert not result.ok
    assert any("not signed" in p for p in result.problems)
    assert any("clip matches" in line for line in result.summary)  # the hash part still checked


def test_manifest_elsewhere(clip, tmp_path):
    moved = tmp_path / "received.json"
    manifest_path(clip).rename(moved)
    assert not verify_clip(clip).ok
    assert verify_clip(clip, manifest_path=moved).ok


def test_missing_clip(clip):
    clip.unlink()
    result = verify_clip(clip)
    assert not result.ok and "does not exist" in result.problems[0]


@pytest.mark.parametrize("text, message", [("{not json", "not valid JSON"), ("[1]", "not a JSON object")])
def test_unreadable_manifest(clip, text, message):
    manifest_path(clip).write_text(text)
    result = verify_clip(clip)
    assert not result.ok and message in result.problems[0]


def test_other_schema_reported(clip):
    path = manifest_path(clip)
    body = clip.read_bytes()
    _write(path, sign_manifest(_manifest_dict(body, schema="redact.manifest/9"), device_key()))
    result = verify_clip(clip)
    assert not result.ok and "schema" in result.problems[0]


def test_bad_expected_key_is_a_usage_error(clip):
    with pytest.raises(KeyFileError):
        verify_clip(clip, expected_key="not a key")


def test_incident_rendered_when_present(clip):
    body = clip.read_bytes()
    incident = {"window": {"kept_seconds": [1.5, 9.5], "frames_kept": 81, "frames_cut_before": 15,
                           "frames_cut_after": 1, "rest_not_decoded": True},
                "subjects_kept": [{"kind": "person", "frames_shown": 29, "frames_uncertain": 3}],
                "bystanders_obscured": 4,
                "request": "claim 7", "recipient": "insurer\x1b[2J", "purpose": "parcel theft"}
    _write(manifest_path(clip), sign_manifest(_manifest_dict(body, incident=incident), device_key()))
    result = verify_clip(clip)
    assert result.ok, result.problems
    text = "\n".join(result.summary)
    for line in ("1.50 s to 9.50 s of the input (81 frames; 15 cut before, the rest cut after)",
                 "subject kept visible: a person, shown in 29 frames, hidden in 3",
                 "other people obscured whole: 4 tracks", "request: claim 7", "purpose: parcel theft"):
        assert line in text
    assert "\x1b" not in text and "recipient: insurer\\x1b[2J" in text  # no terminal escapes pass through


def test_image_manifest():
    lines = describe({"kind": "image", "tool_version": "0.1.0", "frames_in": 1, "frames_out": 1,
                      "policy": {"kinds": ["face"]}, "counts": {"face": {"detections": 2, "tracks": 0, "frames": 1}},
                      "side_channels": {"metadata": "dropped", "exif_orientation": "applied to pixels"},
                      "flagged_frames": []})
    assert lines == ["image, redacted by redact 0.1.0", "looked for faces", "faces obscured (2 found)",
                     "metadata dropped", "EXIF orientation applied to pixels", "no frames flagged for review"]


@pytest.mark.parametrize("data", [{}, {"counts": 3, "side_channels": [], "flagged_frames": "x", "incident": 1,
                                       "models": "m", "policy": [], "frames_out": "60"}])
def test_describe_tolerates_odd_manifests(data):
    assert describe(data)[0].startswith("clip, redacted by redact")


def test_describe_never_crashes_on_arbitrary_json():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5)
    values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c,
                                                                                          max_size=3), max_leaves=10)
    keys = st.sampled_from(["kind", "tool_version", "frames_in", "frames_out", "models", "policy", "counts",
                            "side_channels", "flagged_frames", "incident", "encoder"])

    @settings(max_examples=200, deadline=None)
    @given(st.dictionaries(keys, values))
    def check(data):
        assert all(isinstance(line, str) and line for line in describe(data))

    check()


def test_people_are_counted_as_the_most_seen_at_once_not_as_track_fragments():
    """Three walkers whose tracks broke into nine: the record and `verify` say at most 3
    at once (a held prediction is not a person seen), beside the 9 tracks."""
    import numpy as np

    from redact.core.types import Kind, Regions
    from redact.pipeline.redactor import RedactedFrame, _Stats
    from redact.record.verify import _count_lines, _incident_lines

    stats = _Stats()
    rgb = np.zeros((4, 4, 3), np.uint8)
    for index in range(3):
        ids = [3 * index, 3 * index + 1, 3 * index + 2, 99]  # 99: held, not detected
        regions = Regions(np.tile(np.float32([0, 0, 2, 2]), (4, 1)), np.ones(4, np.float32),
                          np.full(4, Kind.PERSON, np.int8), np.array(ids))
        stats.add(RedactedFrame(rgb, regions, index, observed=frozenset(ids[:3])))
    counts = stats.counts({})
    assert counts["person"]["at_once"] == 3 and counts["person"]["tracks"] == 10
    data = {"counts": counts, "frames_out": 3}
    assert "people (whole bodies) obscured in 3 of 3 frames (at most 3 at once, 10 tracks)" in _count_lines(data)
    assert _incident_lines({"bystanders_obscured": 10}, counts) == [
        "other people obscured whole: up to 3 at once, 10 tracks"]


def test_a_manifest_reads_its_counts_and_flagged_frames_as_typed_entries(tmp_path):
    """The typed entries read a written manifest as it was made, and a received one field by
    field: a field of the wrong type is None, an entry that is no object is left out, and a
    flagged frame without a reason counts as not analysed (the safe side, as `verify` says it)."""
    path = tmp_path / "m.json"
    _write(path, _manifest_dict(b"clip"))
    manifest = Manifest.read(path)
    assert manifest.counted()["face"] == Count(detections=70, tracks=3, frames=57)
    assert manifest.counted()["face"].found == 3 and manifest.counted()["other"].found == 0
    assert manifest.flagged() == [FlaggedFrame(10, "detector failed"), FlaggedFrame(11, "detector failed")]
    received = Manifest(kind="video", tool_version="0.1.0", policy={},
                        counts={"face": {"tracks": True, "frames": "57", "at_once": 2}, "plate": 3},
                        flagged_frames=[{"frame": True}, "junk", {"frame": 4, "reason": 7}])
    assert received.counted() == {"face": Count(at_once=2)}
    assert received.flagged() == [FlaggedFrame(None, None), FlaggedFrame(4, "7")]
    assert [f.unanalysed for f in received.flagged()] == [True, False]


@pytest.mark.parametrize("kept", [{"first": 1.5}, [10**400, 9.5]], ids=["an object", "an int beyond float"])
def test_a_window_without_two_numbers_is_shown_as_given_not_a_crash(clip, kept):
    """A sender's window record whose kept seconds are no two numbers (indexing an object
    raised KeyError, a 401-digit int OverflowError) is shown as written, and the clip checked."""
    window = {"kept_seconds": kept, "frames_kept": 81}
    _write(manifest_path(clip), sign_manifest(_manifest_dict(clip.read_bytes(), incident={"window": window}),
                                              device_key()))
    result = verify_clip(clip)
    assert result.ok, result.problems
    assert any(line.startswith("incident window: ") and "kept_seconds" in line for line in result.summary)
