"""Whole-file jobs: one video or image in, a redacted file and its manifest out."""
from __future__ import annotations

import json
import math
import queue
import threading
import time
from pathlib import Path

from .detectors import detectors_for, for_stills
from .images import encode_image, read_image
from .incident import IncidentError
from .memory import check_memory
from .paths import check_output_suffix, is_image
from .pipeline import UNANALYSED, Redactor
from .policy import Policy
from .report import Manifest, manifest_path, own_record, settings_record, sha256_file, tag_groups
from .safeio import atomic_pair, check_paths, output_lock, probe_writable, remove_stale_partials
from .sharelog import Share, logged_delivery
from .signing import device_key, fingerprint, input_tag, sign_manifest
from .video.writer import check_encoder

#: Frames buffered between decode, processing and encode (bounded: constant memory)...
QUEUE_FRAMES = 8
#: ...and at most this many bytes of them: decoding outruns detection, so its queue is full
#: whatever its length, and at 1080p eight frames a queue are 100 MB (issue 25: peak memory).
QUEUE_BYTES = 24 << 20


def queue_frames(width: int, height: int) -> int:
    """Frames each queue between the stages holds for frames of this size (RGB).

    >>> queue_frames(1280, 720), queue_frames(1920, 1080), queue_frames(3840, 2160)
    (8, 4, 2)
    """
    return max(2, min(QUEUE_FRAMES, QUEUE_BYTES // (width * height * 3)))
_END = object()

#: Share of a file's frames that may fail analysis (each is obscured whole and flagged)
#: before the file counts as not redacted: a glitch in a long clip is tolerated (one frame
#: in 100 or more), a broken detector is not; below 100 frames, none is.
FLAGGED_LIMIT = 0.01


class RedactionIncomplete(RuntimeError):
    """A file could not be redacted as asked (unreadable to its end, or not analysed)."""


class _Stage(threading.Thread):
    """A thread that runs ``work``; on failure it keeps the exception and stops the job."""

    def __init__(self, work, name, stop: threading.Event):
        super().__init__(name=name, daemon=True)
        self._work = work
        self._halt = stop
        self.error = None

    def run(self):
        try:
            self._work()
        except BaseException as exc:  # re-raised in the calling thread
            self.error = exc
            self._halt.set()


def _put(q: queue.Queue, item, stop: threading.Event) -> bool:
    """Put unless the job is being stopped (so a failed stage never deadlocks the others)."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _get(q: queue.Queue, stop: threading.Event):
    while not stop.is_set():
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            continue
    return _END


def redact_video(src, dst, policy: Policy = Policy(), *, overwrite: bool = False, crf: int = 20,
                 preset: str = "veryfast", models_dir=None, detectors=None, seed=None,
                 progress=None, timings: dict | None = None) -> Manifest:
    """Redact one video file into an H.264 MP4 and write its manifest beside it.

    Decode, processing and encode run as three stages joined by bounded queues, so memory
    stays constant whatever the clip's length. Output frame count and timestamps equal the
    input's. The output and its manifest appear under ``dst`` only when both are complete.

    Parameters
    ----------
    src, dst : path
        Input video and output ``.mp4`` (must differ; an existing ``dst`` needs ``overwrite``).
    policy : Policy
        What to find, how to obscure it, which side channels to keep.
    crf, preset : int, str
        x264 quality and speed (see `redact.video.VideoWriter`).
    progress : callable, optional
        Called with the number of frames finished so far.
    timings : dict, optional
        Filled with the busy seconds of each stage (`redact.pipeline.STAGES`; see
        `Redactor.seconds`), for benchmarks.

    Returns
    -------
    Manifest
        Also written to ``<dst>.redaction.json``.

    Raises
    ------
    RedactionIncomplete
        When the input could not be read to its end, or more than `FLAGGED_LIMIT` of its
        frames could not be analysed; nothing is written then.
    """
    src, dst = Path(src), Path(dst)
    check_encoder(crf, preset)
    check_output_suffix(src, dst)
    probe_writable(dst)  # before any folder is made or frame decoded
    with output_lock(dst):
        return _redact_video(src, dst, policy, overwrite=overwrite, crf=crf, preset=preset,
                             models_dir=models_dir, detectors=detectors, seed=seed, progress=progress,
                             timings=timings)


def _redact_video(src, dst, policy, *, overwrite, crf, preset, models_dir, detectors, seed, progress, timings,
                  seal=None):
    from .video import VideoReader

    src, dst = check_paths(src, dst, overwrite=overwrite)
    if detectors is None:
        detectors = detectors_for(policy, models_dir)
    with VideoReader(src) as reader:
        return _redact_video_from(reader, src, dst, policy, detectors, crf=crf, preset=preset, seed=seed,
                                  models_dir=models_dir, progress=progress, timings=timings, seal=seal)


def _redact_video_from(reader, src, dst, policy, detectors, *, crf, preset, seed, progress, models_dir=None,
                       timings=None, seal=None):
    from .video import VideoWriter
    from .video.window import WindowCut

    incident = policy.incident
    window = incident.window if incident is not None else None
    info = reader.info
    if window is not None and info.declared_seconds and window.first >= info.declared_seconds:
        raise IncidentError(f"window starts at {window.first:g} s but {src} lasts {info.declared_seconds:.2f} s")
    _, lookahead = policy.in_frames(info.fps)
    queued = queue_frames(info.width, info.height)
    try:
        check_memory(info.width, info.height, lookahead + 2 * queued, lookahead)
    except MemoryError as exc:
        raise RedactionIncomplete(f"{src}: {exc}") from None
    replay = subjects = None
    if incident is not None and incident.subjects:
        replay, subjects = _analyse(src, policy, info, detectors, models_dir)  # pass 1: detect and follow
    redactor = Redactor(policy, fps=info.fps, detectors=detectors, seed=seed, replay=replay, subjects=subjects)
    audio = reader.audio_stream if policy.keep_audio else None
    cut = WindowCut(window, info.time_base, audio.time_base if audio is not None else None)
    remove_stale_partials(dst)
    stop = threading.Event()
    decoded: queue.Queue = queue.Queue(queued)
    finished: queue.Queue = queue.Queue(queued)
    clock = {"decode": 0.0, "encode": 0.0}  # busy time, not time spent waiting on a queue

    def decode():
        try:
            items = iter(cut(reader.demux(with_audio=audio is not None)))
            while True:
                started = time.perf_counter()
                item = next(items, _END)
                clock["decode"] += time.perf_counter() - started
                if item is _END or not _put(decoded, item, stop):
                    return
        finally:
            _put(decoded, _END, stop)

    with logged_delivery() as delivery, atomic_pair(dst, manifest_path(dst)) as pair:
        writer = VideoWriter(pair.path, info.width, info.height, info.time_base, info.fps, crf=crf,
                             preset=preset, metadata=info.metadata if policy.keep_metadata else None,
                             audio_from=audio)

        def encode():
            while (item := _get(finished, stop)) is not _END:
                started = time.perf_counter()
                if isinstance(item, list):
                    writer.copy_audio(item)
                else:
                    writer.write(item.rgb, item.item)
                    if progress:
                        progress(writer.frames_written)
                clock["encode"] += time.perf_counter() - started
            if not stop.is_set():
                started = time.perf_counter()
                writer.close()
                clock["encode"] += time.perf_counter() - started

        stages = [_Stage(decode, "redact-decode", stop), _Stage(encode, "redact-encode", stop)]
        for stage in stages:
            stage.start()
        try:
            while (item := _get(decoded, stop)) is not _END:
                if isinstance(item, list):  # audio packets pass straight through
                    _put(finished, item, stop)
                    continue
                for done in redactor.push(item.rgb, item=item.pts):
                    _put(finished, done, stop)
            if not stop.is_set():
                for done in redactor.flush():
                    _put(finished, done, stop)
            _put(finished, _END, stop)
        except BaseException:
            stop.set()
            raise
        finally:
            for stage in stages:
                stage.join()
            if stop.is_set() or not writer.closed:
                writer.abort()
        errors = [stage.error for stage in stages if stage.error is not None]
        if errors:
            raise errors[0]
        if timings is not None:
            timings.update({**clock, **redactor.seconds})
        if writer.frames_written == 0 and window is not None:
            raise IncidentError(f"{src}: no frame lies inside the window {window.first:g}-{window.last:g} s")
        if writer.frames_written != redactor.stats.frames_out or writer.frames_written == 0:
            raise RedactionIncomplete(f"{src}: wrote {writer.frames_written} of {redactor.stats.frames_out} frames")
        if replay is not None and writer.frames_written != len(replay.records):
            raise RedactionIncomplete(f"{src}: the second pass read {writer.frames_written} frames, the first "
                                      f"{len(replay.records)}; the file changed while it was redacted")
        if not cut.ended_early:
            reader.check_complete()
        _check_flagged(src, redactor)

        manifest = redactor.manifest("video")
        manifest.output_sha256 = sha256_file(pair.path)
        manifest.frames_out = writer.frames_written
        # A windowed clip does not record the recording's length: two windows of one
        # recording would share it, and so be linked by whoever holds both.
        manifest.frames_in = writer.frames_written if window is None else None
        manifest.timing.update({"fps": info.fps, "time_base": info.time_base, "rotation_applied": info.rotation,
                                "timestamps_repaired": writer.repaired_pts})
        manifest.side_channels = _side_channels(info, policy, audio is not None)
        manifest.encoder = video_encoder(crf, preset)
        if incident is not None:
            manifest.incident = incident_record(incident, manifest, cut.record(), subjects, redactor)
        (seal or _seal)(pair, manifest, delivery, sha256_file(src))
    return manifest


def _analyse(src, policy: Policy, info, detectors, models_dir):
    """First pass of a clip whose incident names subjects (see `analyse_frames`)."""
    from .video import VideoReader
    from .video.window import WindowCut

    incident = policy.incident
    if incident is None:
        raise ValueError("_analyse: the policy has no incident")
    cut = WindowCut(incident.window, info.time_base)
    with VideoReader(src) as reader:
        frames = ((frame.rgb, cut.times[frame.index]) for frame in cut(reader.demux(with_audio=False)))
        result = analyse_frames(frames, policy, info.fps, detectors, info.width, info.height, models_dir)
        if not cut.ended_early:
            reader.check_complete()
    return result


def analyse_frames(frames, policy: Policy, fps, detectors, width: int, height: int, models_dir=None):
    """Detect and track every ``(rgb, seconds)`` frame (no pixels kept but those of the frames
    where a subject is given by number, for `redact.subjects.resolve_numbers`), then pick and
    follow each subject of ``policy.incident``. Returns the `Analysis` a second pass redacts
    from (`Redactor` with ``replay``) and the per-frame `SubjectPlan`."""
    from .pipeline import Analyser, Analysis
    from .subjects import FrameRecord, appearance, plan_subjects, resolve_numbers
    from .types import Kind, check_frame

    incident = policy.incident
    if incident is None:
        raise ValueError("analyse_frames: the policy has no incident to pick subjects from")
    analyser = Analyser(policy, fps, detectors)
    records: list = []
    times: list = []
    step = 1 / float(fps)
    anchors = [a for s in incident.subjects for a in s.every_anchor()]
    numbered = [a for a in anchors if a.number is not None]
    nearest: dict = {}  # numbered subject -> (distance in s, its frame's pixels)

    def keep(pairs):
        for pending, regions in pairs:
            looks = {}
            for row in (regions.kind == Kind.PERSON).nonzero()[0]:
                tid = int(regions.track_id[row])
                look = appearance(pending.rgb, regions.xyxy[row]) if tid in pending.observed else None
                if look is not None:
                    looks[tid] = look
            records.append(FrameRecord(regions, times[pending.index], pending.flagged, pending.observed, looks))

    for rgb, seconds in frames:
        times.append(seconds)
        # The frames where subjects are picked are always analysed, whatever the schedule.
        force = any(abs(seconds - a.t) <= step for a in anchors)
        rgb = check_frame(rgb)
        for subject in numbered:
            # Only frames within a step of t can be the nearest one `pick` uses: copy no others.
            distance = abs(seconds - subject.t)
            if distance <= step and distance < nearest.get(subject, (math.inf,))[0]:
                nearest[subject] = (distance, rgb.copy())
        keep(analyser.push(rgb.copy() if analyser.lookahead_frames else rgb, force=force))
    keep(analyser.flush())
    analysis = Analysis(records, analyser.detections, analyser.frames_detected, analyser.hold_frames,
                        analyser.lookahead_frames, dict(analyser.seconds))
    if nearest:
        incident = resolve_numbers(incident, {s: rgb for s, (_, rgb) in nearest.items()}, models_dir)
    return analysis, plan_subjects(records, incident, width, height)


def incident_record(incident, manifest: Manifest, window: dict | None, subjects, redactor: Redactor) -> dict:
    """The incident as applied, for the manifest: no names of people, no pixels; each
    subject's frames as the redactor really showed them (`Redactor.subjects_shown`)."""
    people = manifest.counts.get("person", {}).get("tracks", 0)
    return {
        "window": window,
        "subjects_asked": len(incident.subjects),
        "subjects_kept": redactor.subjects_shown(subjects) if subjects is not None else [],
        "bystanders_obscured": people if incident.subjects else None,
        "frames_for_review": len(subjects.review) if subjects is not None else 0,
        "keep_zones": len(incident.keep_zones),
        "privacy_zones": len(incident.privacy_zones),
        "request": incident.request, "recipient": incident.recipient, "purpose": incident.purpose,
    }


def _seal(pair, manifest: Manifest, delivery, input_sha256: str) -> None:
    """Tag the input and sign the manifest with the device key and, for an incident, log
    the share as pending, before anything is renamed into place: whatever can fail fails
    while nothing is visible. ``delivery`` (`redact.sharelog.logged_delivery`) confirms the
    share once the rename has succeeded, or withdraws it."""
    key = device_key()
    manifest.input_hmac = input_tag(key, input_sha256, manifest.output_sha256)
    signed = sign_manifest(json.loads(manifest.to_json()), key)
    pair.companion_bytes = (json.dumps(signed, indent=2, sort_keys=True) + "\n").encode()
    incident = manifest.incident
    if incident:
        delivery.begin(Share(request=incident["request"], recipient=incident["recipient"],
                             purpose=incident["purpose"], output_sha256=manifest.output_sha256,
                             fingerprint=fingerprint(key)))


class HandOff:
    """A ``seal`` for a machine that must not sign (a cluster worker): the finished output
    stays under its temporary name, unrecorded, and ``pending`` and ``manifest`` say where and
    what it is, for `seal_handed_off` on the machine that holds the device key."""

    def __init__(self) -> None:
        self.pending: Path | None = None
        self.manifest: Manifest | None = None
        self.input_sha256 = ""

    def __call__(self, pair, manifest: Manifest, delivery, input_sha256: str) -> None:
        # Nothing is tagged, signed or logged here: `seal_handed_off` does all three.
        pair.hand_off()
        self.pending, self.manifest, self.input_sha256 = pair.path, manifest, input_sha256


def seal_handed_off(src, dst, pending, manifest: Manifest, *, policy: Policy, input_sha256: str,
                    overwrite: bool = False) -> None:
    """Sign and commit an output that another machine redacted from ``src`` and handed off
    (`HandOff`), for a run with ``policy``.

    Here, under ``dst``'s lock: ``dst`` may be written (as `redact_file` decides, again: a
    file may have appeared there since the worker looked); ``pending`` must be a temporary
    name of ``dst`` and hold the bytes ``manifest`` records (its ``output_sha256``); the
    record must be of this tool version and ``policy`` (the worker cannot have its own
    request or settings signed); ``src`` must still hold the bytes the worker read
    (``input_sha256``). The input is then tagged, the manifest signed with this device's
    key and the pair committed as `redact_file` commits it, share log included.

    Raises
    ------
    OutputBusyError
        Another run holds ``dst``, or took it over (and removed ``pending``) meanwhile.
    redact.safeio.UsageError
        ``dst`` exists, is not ours and ``overwrite`` is false (``pending`` is deleted).
    RedactionIncomplete
        Any other check fails (``pending`` is deleted); nothing is written.
    """
    import os
    import stat

    from . import __version__
    from .safeio import OutputBusyError, is_partial_of

    dst, pending = Path(dst), Path(pending)
    if not is_partial_of(dst, pending):
        raise RedactionIncomplete(f"{dst}: the worker handed off {pending}, which is not a temporary output of "
                                  f"{dst.name}; nothing was written")
    with output_lock(dst):
        try:
            handed = os.lstat(pending)
        except FileNotFoundError:
            raise OutputBusyError(f"another redact run took over {dst} before this run signed it; left it to "
                                  "that run (run again once it has finished)") from None
        with logged_delivery() as delivery, atomic_pair(dst, manifest_path(dst), partial=pending) as pair:
            check_paths(src, dst, overwrite=overwrite or own_record(dst) is not None)
            if not stat.S_ISREG(handed.st_mode) or sha256_file(pending) != manifest.output_sha256:
                raise RedactionIncomplete(f"{dst}: the output the worker handed off is not the file its manifest "
                                          "records (sha256); deleted, nothing was written")
            if manifest.tool_version != __version__ or manifest.policy != policy:
                raise RedactionIncomplete(f"{dst}: the worker's record is not of this run's settings (tool "
                                          f"{manifest.tool_version}, policy differs: {manifest.policy != policy}); "
                                          "deleted, nothing was written")
            read_here = sha256_file(src)
            if read_here != input_sha256:
                raise RedactionIncomplete(f"{src} changed while it was redacted on the cluster; deleted the output, "
                                          "run again")
            _seal(pair, manifest, delivery, read_here)


def video_encoder(crf: int, preset: str) -> dict:
    """Encoder settings as the manifest records them (and resume compares them)."""
    return {"codec": "libx264", "crf": int(crf), "preset": str(preset)}


def _check_flagged(src, redactor: Redactor) -> None:
    """Fail the file when too many frames could not be analysed: they went out obscured
    whole, so nothing leaked, but such an output is not the redaction that was asked for."""
    flagged = [f for f in redactor.stats.flagged if f["reason"].startswith(UNANALYSED)]
    frames = max(1, redactor.stats.frames_out)
    if flagged and len(flagged) > FLAGGED_LIMIT * frames:
        first = flagged[0]
        raise RedactionIncomplete(f"{src}: {len(flagged)} of {frames} frames could not be analysed and "
                                  f"were obscured whole (first, frame {first['frame']}: {first['reason']})")


def _side_channels(info, policy: Policy, audio_kept: bool) -> dict:
    streams = dict(info.streams)
    streams.pop("video", None)
    audio = streams.pop("audio", 0)
    return {
        "audio": "kept" if audio_kept else ("dropped" if audio else "none"),
        "metadata": "kept" if policy.keep_metadata else "dropped",
        "container_tags": tag_groups(info.metadata),
        "other_streams_dropped": streams,  # data, subtitle, attachment: GPS tracks live there
        "extra_video_streams_dropped": max(0, info.streams.get("video", 1) - 1),
        "encoder_tags_written": False,
    }


def redact_image(src, dst, policy: Policy = Policy(), *, overwrite: bool = False, models_dir=None,
                 detectors=None, seed=None) -> Manifest:
    """Redact one image; the output has the input's format and no EXIF/XMP/GPS.

    Pixels outside the obscured regions are bit-identical for lossless formats (PNG, BMP,
    WebP). EXIF orientation is applied to the pixels, so the output displays upright. A
    detector failure fails the image (`RedactionIncomplete`) and nothing is written.
    """
    src, dst = Path(src), Path(dst)
    check_output_suffix(src, dst)
    probe_writable(dst)  # before any folder is made or frame decoded
    with output_lock(dst):
        return _redact_image(src, dst, policy, overwrite=overwrite, models_dir=models_dir,
                             detectors=detectors, seed=seed)


def _redact_image(src, dst, policy, *, overwrite, models_dir, detectors, seed, seal=None):
    src, dst = check_paths(src, dst, overwrite=overwrite)
    rgb = read_image(src)
    # A photo gets the views measured to pay for themselves on photos only.
    detectors = for_stills(detectors_for(policy, models_dir) if detectors is None else detectors)
    replay = subjects = None
    if policy.incident is not None and policy.incident.subjects:
        height, width = rgb.shape[:2]
        replay, subjects = analyse_frames([(rgb, 0.0)], policy, 30, detectors, width, height, models_dir)
    redactor = Redactor(policy, detectors=detectors, seed=seed, replay=replay, subjects=subjects)
    done = redactor.push(rgb) + redactor.flush()
    _check_flagged(src, redactor)
    data = encode_image(done[0].rgb, dst.suffix)
    remove_stale_partials(dst)
    with logged_delivery() as delivery, atomic_pair(dst, manifest_path(dst)) as pair:
        pair.path.write_bytes(data)
        manifest = redactor.manifest("image")
        manifest.output_sha256 = sha256_file(pair.path)
        manifest.side_channels = {"metadata": "dropped", "exif_orientation": "applied to pixels"}
        if policy.incident is not None:
            manifest.incident = incident_record(policy.incident, manifest, None, subjects, redactor)
        (seal or _seal)(pair, manifest, delivery, sha256_file(src))
    return manifest


def redact_file(src, dst, policy: Policy = Policy(), *, skip_complete: bool = False, overwrite: bool = False,
                detectors=None, models_dir=None, crf: int = 20, preset: str = "veryfast", seed=None,
                progress=None, seal=None) -> Manifest | None:
    """`redact_image` or `redact_video` by the input's suffix.

    With ``skip_complete``, an output already complete for this input and the same settings
    (policy, models, tool version, encoder) is left as it is and None is returned. An
    output whose manifest of ours names it (`redact.report.own_record`) is ours to redo,
    without ``overwrite``.
    ``seal(pair, manifest, delivery, input_sha256)`` records the finished output (default:
    tagged and signed with this device's key and committed; `HandOff` leaves all of it to the
    machine that holds the key).

    Examples
    --------
    An image with a privacy zone (no detectors here, to stay small), then the same call
    again, which finds the output complete:

    >>> import tempfile, pathlib, cv2, numpy as np
    >>> import redact
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = cv2.imwrite(str(folder / "in.png"), np.full((40, 60, 3), 200, np.uint8))
    >>> policy = redact.Policy(kinds=(), zones=(redact.Zone(0, 0, 0.5, 0.5),))
    >>> manifest = redact.redact_file(folder / "in.png", folder / "out.png", policy, skip_complete=True)
    >>> manifest.kind, manifest.counts["other"]["frames"]
    ('image', 1)
    >>> redact.redact_file(folder / "in.png", folder / "out.png", policy, skip_complete=True) is None
    True
    """
    from .detectors import describe_models

    src, dst = Path(src), Path(dst)
    check_encoder(crf, preset)
    check_output_suffix(src, dst)
    probe_writable(dst)  # before any folder is made, model loaded or frame decoded
    # Likewise the key: a missing or unusable one fails here, not after the work. A machine
    # that hands its outputs off (`HandOff`) holds none: its client tags, signs and checks
    # the input of a complete output (`OwnRecord.made_from`) before sending the file.
    key = device_key() if seal is None else None
    if detectors is None:
        detectors = detectors_for(policy, models_dir)
    image = is_image(src)
    with output_lock(dst):
        own = own_record(dst)  # read and hashed once, for both questions below
        ours = own is not None
        if skip_complete and own is not None:
            settings = settings_record(policy, describe_models(detectors), {} if image else video_encoder(crf, preset))
            # Handed off (no key here): the client checked the input before sending the file.
            if own.made_with(settings) and (key is None or own.made_from(sha256_file(src), key)):
                return None
        if image:
            return _redact_image(src, dst, policy, overwrite=overwrite or ours, models_dir=models_dir,
                                 detectors=detectors, seed=seed, seal=seal)
        return _redact_video(src, dst, policy, overwrite=overwrite or ours, crf=crf, preset=preset,
                             models_dir=models_dir, detectors=detectors, seed=seed, progress=progress,
                             timings=None, seal=seal)
