"""Check a received clip against its signed manifest and say, in plain words, what was done.

This is what a receiver (a neighbour, an insurer, the police) runs: is the manifest signed,
by the key they expect, and is this the clip it describes? Then what was obscured and which
side channels were dropped, from the manifest's counts alone.

The clip's owner can also check which recording it was cut from (``original``): only the
device key that signed the manifest reproduces its ``input_hmac``.

Every string from the manifest is shown through `redact.core.safetext.shown`, so a sender's
text cannot move the cursor, reorder the line or crash the terminal.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.jsonfile import MANIFEST_LIMIT, JsonFileError, read_json
from ..core.safetext import shown as _text  # manifest strings come from the sender
from ..media.safeio import sha256_file
from .manifest import SCHEMA, Count, FlaggedFrame, KeptWindow
from .manifest import manifest_path as _manifest_path
from .manifest import whole_number as _int
from .signing import SignatureError, device_key, fingerprint, input_tag, verify_manifest
from .signing import expected_key as _expected_key

# Manifest count keys (`Kind` names) -> words for a person.
_NOUNS = {"face": "faces", "plate": "licence plates", "person": "people (whole bodies)", "vehicle": "vehicles",
          "silhouette": "person-like shapes no person box took (hidden as people)",
          "text": "text on no vehicle (signs, house numbers)",
          "other": "privacy zones and unreadable frames"}
_ALWAYS = ("face", "plate")  # "none found" is worth saying for these
_MAX_LISTED = 8


@dataclass(frozen=True)
class Verification:
    """The outcome of `verify_clip`.

    Attributes
    ----------
    ok : bool
        True only when the manifest exists, its signature holds (by the expected key, when
        one was given) and the clip's SHA-256 is the one it records.
    problems : tuple of str
        One sentence per failed check; empty when ``ok``.
    summary : tuple of str
        Plain lines: who signed, whether the clip matches, what was obscured and dropped.
        When not ``ok`` they only repeat what the manifest claims.
    fingerprint : str
        The signing key's fingerprint, or ``""`` when the signature did not hold.
    output_sha256 : str
        The clip's SHA-256, or ``""`` when it could not be read.
    """

    ok: bool
    problems: tuple = ()
    summary: tuple = ()
    fingerprint: str = ""
    output_sha256: str = ""


def verify_clip(clip_path, manifest_path=None, expected_key=None, original=None) -> Verification:
    """Check a clip against its manifest.

    Parameters
    ----------
    clip_path : str or path-like
        The redacted clip (or image) as received.
    manifest_path : str or path-like, optional
        Its manifest; default ``<clip>.redaction.json`` beside it.
    expected_key : optional
        Who must have signed it: a public key, its base64 text, its fingerprint or a public
        key file (see `redact.record.signing.expected_key`). Without it the signature only shows
        the manifest is unchanged since some key signed it.
    original : str or path-like, optional
        The recording the clip was made from, checked against the manifest's
        ``input_hmac`` with this device's key: only the device that signed the clip can
        make this check (the owner proving provenance), and it must also have signed it.

    Returns
    -------
    Verification

    Raises
    ------
    redact.record.signing.KeyFileError
        ``expected_key`` is not a usable key, fingerprint or file, or ``original`` is
        given on a device without a key (usage errors, raised before anything is checked).
    """
    expected = None if expected_key is None else _expected_key(expected_key)
    own = device_key(create=False) if original is not None else None
    clip = Path(clip_path)
    path = Path(manifest_path) if manifest_path is not None else _manifest_path(clip)
    problems: list[str] = []
    summary: list[str] = []

    digest = _digest(clip, "clip", problems)
    source = _digest(Path(original), "original", problems) if original is not None else ""

    data = _read_manifest(path, problems)
    if data is None:
        return Verification(False, tuple(problems), (), "", digest)

    signer = ""
    try:
        signer = verify_manifest(data, expected)
    except SignatureError as exc:
        problems.append(str(exc))
    else:
        known = ("the key you expected" if expected is not None
                 else "not compared with a known key: give the sender's key or fingerprint to check who signed")
        summary.append(f"signed by device key {signer} ({known})")

    recorded = data.get("output_sha256")
    if not isinstance(recorded, str) or not recorded:
        problems.append("manifest records no output_sha256; the clip cannot be matched to it")
    elif digest and digest != recorded:
        problems.append(f"clip does not match the manifest: its sha256 is {digest[:16]}…, "
                        f"the manifest records {_text(recorded)[:16]}… (the clip was changed or is another one)")
    elif digest:
        summary.append(f"clip matches the manifest (sha256 {digest[:16]}…)")
    if own is not None and source:
        _check_original(data, own, signer, source, Path(original), problems, summary)

    summary.extend(describe(data))
    return Verification(not problems, tuple(problems), tuple(summary), signer, digest)


def _digest(path: Path, what: str, problems: list) -> str:
    """SHA-256 of a regular file, or "" with the reason in ``problems`` (never read
    ``/dev/zero`` or a pipe: it has no end)."""
    try:
        if not path.is_file():
            problems.append(f"{what} {path} does not exist or is not a regular file")
            return ""
        return sha256_file(path)
    except OSError as exc:
        problems.append(f"{what} {path} cannot be read ({exc.strerror})")
        return ""


def _check_original(data: dict, own, signer: str, source: str, original: Path, problems: list,
                    summary: list) -> None:
    """Is ``original`` the recording the manifest's ``input_hmac`` names, by this device's key?"""
    mine = fingerprint(own)
    recorded = data.get("input_hmac")
    if signer and signer != mine:
        problems.append(f"the manifest was signed by {signer}, not by this device's key {mine}; only the "
                        f"signing device can check the original")
    elif not isinstance(recorded, str) or not recorded:
        problems.append("manifest records no input_hmac; the original cannot be checked against it")
    elif not isinstance(data.get("output_sha256"), str) or input_tag(own, source, data["output_sha256"]) != recorded:
        problems.append(f"{original} is not the recording this clip was made from (its keyed hash differs "
                        f"from the manifest's input_hmac)")
    elif signer:
        summary.append(f"made from {original} on this device (input_hmac matches with key {mine})")


def _read_manifest(path: Path, problems: list):
    try:
        data = read_json(path, "manifest", MANIFEST_LIMIT)
    except FileNotFoundError:
        problems.append(f"no manifest found at {path}; ask the sender for the .redaction.json file "
                        f"that came with the clip")
        return None
    except JsonFileError as exc:
        problems.append(str(exc))
        return None
    if not isinstance(data, dict):
        problems.append(f"manifest {path} is not a JSON object")
        return None
    if data.get("schema") != SCHEMA:
        problems.append(f"manifest {path} has schema {_text(data.get('schema'))!r}, expected {SCHEMA!r}")
    return data


def describe(data: dict) -> list:
    """Plain-word lines about what a manifest says was done. Tolerates missing or odd fields.

    Parameters
    ----------
    data : dict
        A manifest as read from JSON.

    Returns
    -------
    list of str

    Examples
    --------
    >>> for line in describe({
    ...         "kind": "video", "tool_version": "0.1.0", "frames_in": 60, "frames_out": 60,
    ...         "counts": {"face": {"detections": 70, "tracks": 3, "frames": 57}},
    ...         "side_channels": {"audio": "dropped", "metadata": "dropped",
    ...                           "container_tags": {"location": 1, "time": 2, "device": 1}},
    ...         "flagged_frames": [{"frame": 12, "reason": "detector failed"}]}):
    ...     print(line)
    video of 60 frames (60 in), redacted by redact 0.1.0
    faces obscured in 57 of 60 frames (3 tracks)
    no licence plates found
    audio dropped
    location/time/device tags dropped (all metadata dropped)
    1 frame flagged for review (frame 12; could not be analysed: obscured whole)
    """
    lines = [_header(data)]
    lines += _policy_lines(data.get("policy"))
    lines += _count_lines(data)
    lines += _encoder_lines(data.get("encoder"))
    lines += _side_channel_lines(data.get("side_channels"), data.get("kind"))
    lines += _flagged_lines(data.get("flagged_frames"))
    lines += _incident_lines(data.get("incident"), data.get("counts"))
    return [line for line in lines if line]


def _noun(kind) -> str:
    return _NOUNS.get(kind, _text(kind)) if isinstance(kind, str) else _text(kind)


def _header(data: dict) -> str:
    kind = _text(data.get("kind") or "clip")
    version = _text(data.get("tool_version") or "an unknown version")
    frames_out, frames_in = _int(data.get("frames_out")), _int(data.get("frames_in"))
    if kind == "video" and frames_out is not None:
        size = f" of {frames_out} frames" + (f" ({frames_in} in)" if frames_in is not None else "")
    else:
        size = ""
    models = data.get("models")
    names = [_text(m.get("name")) for m in models if isinstance(m, dict) and m.get("name")] \
        if isinstance(models, list) else []
    used = f" with {', '.join(names)}" if names else ""
    return f"{kind}{size}, redacted by redact {version}{used}"


def _policy_lines(policy) -> list:
    if not isinstance(policy, dict):
        return []
    kinds = policy.get("kinds")
    methods = []
    styles = policy.get("styles")
    for item in styles if isinstance(styles, list) else []:
        if isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[1], dict):
            method = item[1].get("method")
            if method:
                who = "everything" if item[0] is None else _noun(item[0])
                methods.append(f"{_text(method).replace('_', ' ')} for {who}")
    parts = []
    if isinstance(kinds, list) and kinds:
        parts.append("looked for " + ", ".join(_noun(k) for k in kinds))
    if methods:
        parts.append("obscured with " + "; ".join(methods))
    zones = policy.get("zones")
    if isinstance(zones, list) and zones:
        parts.append(f"{len(zones)} privacy zone{'s' if len(zones) != 1 else ''} always obscured")
    return ["; ".join(parts)] if parts else []


def _count_lines(data: dict) -> list:
    counts = data.get("counts")
    if not isinstance(counts, dict):
        return []
    image = data.get("kind") == "image"
    total = _int(data.get("frames_out"))
    policy = data.get("policy")
    sought = policy.get("kinds") if isinstance(policy, dict) else None
    # "none found" only for what was looked for (or when the manifest does not say).
    always = [k for k in _ALWAYS if not isinstance(sought, list) or k in sought]
    lines = []
    for key in (*_NOUNS, *(k for k in counts if k not in _NOUNS)):
        count = Count.from_json(counts.get(key))
        noun = _noun(key)
        if count is None:
            if key in always and counts:
                lines.append(f"no {noun} found")
            continue
        frames, tracks, found, at_once = count.frames, count.tracks, count.detections, count.at_once
        if not frames and not found:
            if key in always:
                lines.append(f"no {noun} found")
            continue
        if image:
            lines.append(f"{noun} obscured ({found or 0} found)")
            continue
        of = f" of {total}" if total is not None else ""
        # Tracks break and repeat one object: the most seen at once is the count to trust.
        once = f"at most {at_once} at once, " if at_once else ""
        extra = f" ({once}{tracks} track{'s' if tracks != 1 else ''})" if tracks else ""
        lines.append(f"{noun} obscured in {frames or 0}{of} frames{extra}")
    return lines


def _encoder_lines(encoder) -> list:
    if not isinstance(encoder, dict) or not encoder.get("codec"):
        return []
    details = ", ".join(f"{k} {_text(encoder[k])}" for k in ("crf", "preset", "max_bitrate")
                        if encoder.get(k) is not None)
    return [f"re-encoded as {_text(encoder['codec'])}" + (f" ({details})" if details else "")]


def _side_channel_lines(side, kind) -> list:
    if not isinstance(side, dict) or not side:
        return []
    lines = []
    audio = side.get("audio")
    if audio == "none":
        lines.append("the source had no audio")
    elif audio:
        lines.append(f"audio {_text(audio)}")
    metadata = side.get("metadata")
    if metadata:
        groups = side.get("container_tags")
        groups = groups if isinstance(groups, dict) else {}
        order = ("location", "time", "device", "other")
        found = [g for g in (*order, *sorted(set(groups) - set(order), key=str)) if _int(groups.get(g))]
        if found and metadata == "dropped":
            lines.append(f"{'/'.join(_text(g) for g in found)} tags dropped (all metadata dropped)")
        elif found:
            lines.append(f"metadata {_text(metadata)}, including {'/'.join(_text(g) for g in found)} tags")
        else:
            lines.append(f"metadata {_text(metadata)}")
    streams = side.get("other_streams_dropped")
    if isinstance(streams, dict):
        dropped = [f"{n} {_text(k)} stream{'s' if n != 1 else ''}" for k, n in streams.items() if _int(n)]
        if dropped:
            lines.append(f"{', '.join(dropped)} dropped (GPS tracks travel in these)")
    extra_video = _int(side.get("extra_video_streams_dropped"))
    if extra_video:
        lines.append(f"{extra_video} extra video stream{'s' if extra_video != 1 else ''} dropped")
    if side.get("exif_orientation"):
        lines.append(f"EXIF orientation {_text(side['exif_orientation'])}")
    return lines


def _flagged_lines(flagged) -> list:
    """Flagged frames by what happened to them: not analysed (obscured whole), or the scene
    shown with the subject hidden where its identity was uncertain."""
    if not isinstance(flagged, list):
        return []
    if not flagged:
        return ["no frames flagged for review"]
    entries = [f for f in map(FlaggedFrame.from_json, flagged) if f is not None]
    whole = [f for f in entries if f.unanalysed]
    subject = [f for f in entries if not f.unanalysed]
    lines = []
    for group, what in ((whole, "could not be analysed: obscured whole"),
                        (subject, "subject hidden where its identity was uncertain; the scene is shown")):
        if not group:
            continue
        frames = [f.frame for f in group if f.frame is not None]
        listed = ", ".join(str(f) for f in frames[:_MAX_LISTED]) + (", …" if len(frames) > _MAX_LISTED else "")
        noun = "frame" if len(group) == 1 else "frames"
        where = f"{'frame' if len(frames) == 1 else 'frames'} {listed}; " if frames else ""
        lines.append(f"{len(group)} {noun} flagged for review ({where}{what})")
    return lines or [f"{len(flagged)} frames flagged for review"]


def _incident_lines(incident, counts=None) -> list:
    """The incident as applied (`redact.jobs.seal.incident_record`), in plain words."""
    if not isinstance(incident, dict) or not incident:
        return []
    lines = []
    window = incident.get("window")
    kept = KeptWindow.from_json(window)
    if kept is not None and kept.kept_seconds is not None:
        first, last = kept.kept_seconds
        lines.append(f"only the incident's time kept: {first:.2f} s to {last:.2f} s of the input "
                     f"({kept.frames_kept} frames; {kept.frames_cut_before} cut before, the rest cut after)")
    elif kept is not None:
        lines.append(f"incident window: {_value(window)}")
    subjects = incident.get("subjects_kept")
    if isinstance(subjects, list) and subjects:
        for s in subjects:
            if isinstance(s, dict):
                covered = _int(s.get("frames_covered"))
                lines.append(f"subject kept visible: a {_text(s.get('kind', '?'))}"
                             f"{' (face hidden)' if s.get('hide_face') else ''}, shown in "
                             f"{_int(s.get('frames_shown'))} frames, hidden in {_int(s.get('frames_uncertain'))} "
                             "where its identity was uncertain"
                             + (f" and covered in {covered} (privacy or keep zones, people in front)"
                                if covered else ""))
    if incident.get("bystanders_obscured") is not None:
        people = Count.from_json(counts.get("person")) if isinstance(counts, dict) else None
        at_once = people.at_once if people is not None else None
        once = f"up to {at_once} at once, " if at_once else ""
        lines.append(f"other people obscured whole: {once}{_int(incident['bystanders_obscured'])} tracks")
    for key, label in (("keep_zones", "keep zones (outside obscured)"), ("privacy_zones", "incident privacy zones")):
        if incident.get(key):
            lines.append(f"{label}: {_int(incident[key])}")
    for key in ("request", "recipient", "purpose"):
        if incident.get(key):
            lines.append(f"{key}: {_text(incident[key])}")
    return lines


def _value(value) -> str:
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(
            isinstance(v, (int, float, str)) and not isinstance(v, bool) for v in value):
        return f"{_text(value[0])} to {_text(value[1])}"
    if isinstance(value, dict):
        return ", ".join(f"{_text(k)} {_value(v)}" for k, v in value.items())
    return _text(value)
