"""Whole-file jobs: one video or image in, a redacted file and its manifest out."""
from __future__ import annotations

import queue
import threading
from pathlib import Path

from .images import IMAGE_SUFFIXES, read_image, write_image
from .pipeline import Redactor
from .policy import Policy
from .report import Manifest, sha256_file, tag_groups
from .safeio import atomic_output, check_paths, remove_stale_partials

#: Frames buffered between decode, processing and encode (bounded: constant memory).
QUEUE_FRAMES = 8
_END = object()

VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".ts", ".3gp", ".gif"}


def is_image(path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def is_video(path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def output_name(src, dst_dir=None) -> Path:
    """Where a redacted copy of ``src`` goes: videos become ``.mp4``, images keep their format."""
    src = Path(src)
    name = src.name if is_image(src) else src.stem + ".mp4"
    return (Path(dst_dir) if dst_dir is not None else src.parent) / name


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
                 progress=None) -> Manifest:
    """Redact one video file into an H.264 MP4 and write its manifest beside it.

    Decode, processing and encode run as three stages joined by bounded queues, so memory
    stays constant whatever the clip's length. Output frame count and timestamps equal the
    input's. The output appears under ``dst`` only when complete.

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

    Returns
    -------
    Manifest
        Also written to ``<dst>.redaction.json``.
    """
    from .video import VideoReader, VideoWriter

    src, dst = check_paths(src, dst, overwrite=overwrite)
    reader = VideoReader(src)
    info = reader.info
    redactor = Redactor(policy, fps=info.fps, detectors=detectors, models_dir=models_dir, seed=seed)
    audio = reader.audio_stream if policy.keep_audio else None
    remove_stale_partials(dst)
    stop = threading.Event()
    decoded: queue.Queue = queue.Queue(QUEUE_FRAMES)
    finished: queue.Queue = queue.Queue(QUEUE_FRAMES)

    def decode():
        try:
            for item in reader.demux(with_audio=audio is not None):
                if not _put(decoded, item, stop):
                    return
        finally:
            _put(decoded, _END, stop)

    with atomic_output(dst) as tmp:
        writer = VideoWriter(tmp, info.width, info.height, info.time_base, info.fps, crf=crf,
                             preset=preset, metadata=info.metadata if policy.keep_metadata else None,
                             audio_from=audio)

        def encode():
            while (item := _get(finished, stop)) is not _END:
                if isinstance(item, list):
                    writer.copy_audio(item)
                else:
                    writer.write(item.rgb, item.item)
                    if progress:
                        progress(writer.frames_written)
            if not stop.is_set():
                writer.close()

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
            reader.close()
            if stop.is_set():
                writer.abort()
        errors = [stage.error for stage in stages if stage.error is not None]
        if errors:
            raise errors[0]
        if writer.frames_written != redactor.stats.frames_out or writer.frames_written == 0:
            raise RuntimeError(f"{src}: wrote {writer.frames_written} of {redactor.stats.frames_out} frames")

    manifest = redactor.manifest("video")
    manifest.input_sha256 = sha256_file(src)
    manifest.output_sha256 = sha256_file(dst)
    manifest.frames_out = writer.frames_written
    manifest.timing.update({"fps": info.fps, "time_base": info.time_base, "rotation_applied": info.rotation,
                            "timestamps_repaired": writer.repaired_pts})
    manifest.side_channels = _side_channels(info, policy, audio is not None)
    manifest.write(dst)
    return manifest


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
    WebP). EXIF orientation is applied to the pixels, so the output displays upright.
    """
    src, dst = check_paths(src, dst, overwrite=overwrite)
    rgb = read_image(src)
    redactor = Redactor(policy, detectors=detectors, models_dir=models_dir, seed=seed)
    done = redactor.push(rgb) + redactor.flush()
    remove_stale_partials(dst)
    write_image(dst, done[0].rgb)
    manifest = redactor.manifest("image")
    manifest.input_sha256 = sha256_file(src)
    manifest.output_sha256 = sha256_file(dst)
    manifest.side_channels = {"metadata": "dropped", "exif_orientation": "applied to pixels"}
    manifest.write(dst)
    return manifest


def redact_file(src, dst, policy: Policy = Policy(), **kwargs) -> Manifest:
    """`redact_image` or `redact_video` by the input's suffix."""
    if is_image(src):
        kwargs = {k: v for k, v in kwargs.items() if k not in ("crf", "preset", "progress")}
        return redact_image(src, dst, policy, **kwargs)
    return redact_video(src, dst, policy, **kwargs)
