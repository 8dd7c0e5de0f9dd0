"""Whole-file jobs: one video or image in, a redacted file and its manifest out."""
from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

from ..core.incident import IncidentError
from ..core.policy import Policy
from ..detectors import describe_models, detectors_for, for_stills
from ..media.images import encode_image, read_image
from ..media.paths import check_output_suffix, is_image
from ..media.safeio import (
    atomic_pair,
    check_paths,
    check_stop,
    output_lock,
    probe_writable,
    remove_stale_partials,
    sha256_file,
)
from ..media.video import VideoReader, VideoWriter
from ..media.video.window import WindowCut
from ..media.video.writer import check_encoder
from ..pipeline.redactor import Redactor
from ..record.manifest import FlaggedFrame, Manifest, manifest_path, own_record, settings_record, tag_groups
from ..record.sharelog import logged_delivery
from ..record.signing import device_key
from .first_pass import analyse_clip, analyse_frames
from .memory import check_memory
from .seal import RedactionIncomplete, incident_record
from .seal import seal as seal_output
from .stages import END, Stage, get, put

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

#: Share of a file's frames that may fail analysis (each is obscured whole and flagged)
#: before the file counts as not redacted: a glitch in a long clip is tolerated (one frame
#: in 100 or more), a broken detector is not; below 100 frames, none is.
FLAGGED_LIMIT = 0.01


def redact_video(src, dst, policy: Policy = Policy(), *, overwrite: bool = False, crf: int = 20,
                 preset: str = "veryfast", models_dir=None, detectors=None, seed=None,
                 progress=None, timings: dict | None = None) -> Manifest:
    """Redact one video file into an H.264 MP4 and write its manifest beside it.

    Decode, analysis (detect, track, hold) and obscure + encode run as three stages joined
    by bounded queues, so memory stays constant whatever the clip's length. Output frame
    count and timestamps equal the input's. The output and its manifest appear under
    ``dst`` only when both are complete.

    Parameters
    ----------
    src, dst : path
        Input video and output ``.mp4`` (must differ; an existing ``dst`` needs ``overwrite``).
    policy : Policy
        What to find, how to obscure it, which side channels to keep.
    crf, preset : int, str
        x264 quality and speed (see `redact.media.video.VideoWriter`).
    progress : callable, optional
        Called with the number of frames finished so far.
    timings : dict, optional
        Filled with the busy seconds of each stage (`redact.pipeline.redactor.STAGES`; see
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
    src, dst = check_paths(src, dst, overwrite=overwrite)
    if detectors is None:
        detectors = detectors_for(policy, models_dir)
    with VideoReader(src) as reader:
        return _redact_video_from(reader, src, dst, policy, detectors, crf=crf, preset=preset, seed=seed,
                                  models_dir=models_dir, progress=progress, timings=timings, seal=seal)


def _redact_video_from(reader, src, dst, policy, detectors, *, crf, preset, seed, progress, models_dir=None,
                       timings=None, seal=None):
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
        replay, subjects = analyse_clip(src, policy, info, detectors, models_dir)  # pass 1: detect and follow
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
                item = next(items, END)
                clock["decode"] += time.perf_counter() - started
                if item is END or not put(decoded, item, stop):
                    return
        finally:
            put(decoded, END, stop)

    with logged_delivery() as delivery, atomic_pair(dst, manifest_path(dst)) as pair:
        writer = VideoWriter(pair.path, info.width, info.height, info.time_base, info.fps, crf=crf,
                             preset=preset, metadata=info.metadata if policy.keep_metadata else None,
                             audio_from=audio, max_bitrate=info.bit_rate)

        def encode():
            while (item := get(finished, stop)) is not END:
                if isinstance(item, list):
                    started = time.perf_counter()
                    writer.copy_audio(item)
                else:
                    # The policy and the obscuring run here, not on the detection's thread:
                    # detection is the critical path, the encoder's thread has time to spare.
                    done = redactor.finish(*item)
                    started = time.perf_counter()
                    writer.write(done.rgb, done.item)
                    if progress:
                        progress(writer.frames_written)
                clock["encode"] += time.perf_counter() - started
            if not stop.is_set():
                started = time.perf_counter()
                writer.close()
                clock["encode"] += time.perf_counter() - started

        stages = [Stage(decode, "redact-decode", stop), Stage(encode, "redact-encode", stop)]
        for stage in stages:
            stage.start()
        try:
            while (item := get(decoded, stop)) is not END:
                check_stop()  # a signal's exception can be lost in C code; its flag is not
                if isinstance(item, list):  # audio packets pass straight through
                    put(finished, item, stop)
                    continue
                for analysed in redactor.analyse(item.rgb, item=item.pts, owned=True):
                    put(finished, analysed, stop)
            if not stop.is_set():
                for analysed in redactor.analyse_end():
                    put(finished, analysed, stop)
            put(finished, END, stop)
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
        (seal or seal_output)(pair, manifest, delivery, sha256_file(src))
    return manifest


def video_encoder(crf: int, preset: str) -> dict:
    """Encoder settings as the manifest records them (and resume compares them)."""
    return {"codec": "libx264", "crf": int(crf), "preset": str(preset), "max_bitrate": "the input's"}


def _check_flagged(src, redactor: Redactor) -> None:
    """Fail the file when too many frames could not be analysed: they went out obscured
    whole, so nothing leaked, but such an output is not the redaction that was asked for."""
    flagged = [f for f in map(FlaggedFrame.from_json, redactor.stats.flagged) if f is not None and f.unanalysed]
    frames = max(1, redactor.stats.frames_out)
    if flagged and len(flagged) > FLAGGED_LIMIT * frames:
        first = flagged[0]
        raise RedactionIncomplete(f"{src}: {len(flagged)} of {frames} frames could not be analysed and "
                                  f"were obscured whole (first, frame {first.frame}: {first.reason})")


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
        replay, subjects = analyse_frames([(rgb, 0.0)], policy, 30, detectors, width, height, models_dir,
                                          still=True)
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
        (seal or seal_output)(pair, manifest, delivery, sha256_file(src))
    return manifest


def redact_file(src, dst, policy: Policy = Policy(), *, skip_complete: bool = False, overwrite: bool = False,
                detectors=None, models_dir=None, crf: int = 20, preset: str = "veryfast", seed=None,
                progress=None, seal=None) -> Manifest | None:
    """`redact_image` or `redact_video` by the input's suffix.

    With ``skip_complete``, an output already complete for this input and the same settings
    (policy, models, tool version, encoder) is left as it is and None is returned. An
    output whose manifest of ours names it (`redact.record.manifest.own_record`) is ours to redo,
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
