"""Decoding with PyAV: frames as upright RGB arrays with their exact presentation times."""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ...core.threads import budget


class VideoError(RuntimeError):
    """A file that cannot be read or written as video; the message names the file and why."""


@dataclass(frozen=True)
class VideoInfo:
    """What the input holds, as read from its container.

    ``width``/``height`` are after rotation (as displayed). ``fps`` is the average rate as a
    `Fraction` (a 29.97 fps clip is ``30000/1001``); timing itself comes from each frame's
    ``pts`` in ``time_base`` units, so variable frame rate is kept.
    """

    width: int
    height: int
    fps: Fraction
    time_base: Fraction
    codec: str
    rotation: int
    declared_frames: int
    declared_seconds: float = 0.0  # video stream's duration, else the container's; 0 unknown
    bit_rate: int = 0  # video stream's declared bits per second, else the container's average; 0 unknown
    streams: dict = field(default_factory=dict)  # kind -> count, e.g. {"audio": 1, "data": 1}
    metadata: dict = field(default_factory=dict)  # container tags (kept only on request)


@dataclass(frozen=True)
class DecodedFrame:
    rgb: np.ndarray  # upright RGB uint8 (H, W, 3)
    pts: int  # presentation time in ``VideoInfo.time_base`` units
    index: int  # 0-based decode order


def _upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """Apply the display matrix as FFmpeg's players do (rotation is counter-clockwise)."""
    turns = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, k=turns)) if turns else rgb


class VideoReader:
    """Iterate a video file's frames in presentation order, decoding as it goes.

    Memory stays constant: one decoded frame at a time (FFmpeg keeps its own few references).

    Parameters
    ----------
    path : path
        Any container FFmpeg reads (mp4, mov, mkv, avi, webm, ...).
    """

    def __init__(self, path):
        self.path = str(path)
        # Rotation is only known from a decoded frame; peek at one, then start afresh rather
        # than seek (seeking is unreliable in AVI and damaged files).
        self._open()
        try:
            self.info = self._read_info()
        finally:
            self._container.close()
        self._open()
        self.packets_read = 0  # video packets with data, whether or not shown (edit lists)
        self.cut_packet: int | None = None  # the first video packet the demuxer read short (1-based)
        self._span = None  # (first, last) pts decoded

    def _open(self):
        import av

        try:
            self._container = av.open(self.path, "r")
        except (av.FFmpegError, OSError, ValueError) as exc:
            # FFmpeg's message repeats the path; keep only its reason.
            raise VideoError(f"{self.path}: cannot open as video ({getattr(exc, 'strerror', None) or exc})") from None
        videos = self._container.streams.video
        if not videos:
            self._container.close()
            raise VideoError(f"{self.path}: has no video stream")
        self._stream = videos[0]
        # One thread: the networks hold the other cores (`redact.core.threads`).
        self._stream.thread_type = "AUTO"
        self._stream.thread_count = budget().decoder

    def _read_info(self) -> VideoInfo:
        s = self._stream
        rate = s.average_rate or s.guessed_rate or s.base_rate or Fraction(30)
        rotation = self._peek_rotation()
        width, height = s.codec_context.width, s.codec_context.height
        if rotation % 180:
            width, height = height, width
        kinds: dict = {}
        for other in self._container.streams:
            kinds[other.type] = kinds.get(other.type, 0) + 1
        if s.duration:
            seconds = float(s.duration * s.time_base)
        else:
            seconds = (self._container.duration or 0) / 1_000_000  # av.time_base units
        return VideoInfo(width=width, height=height, fps=Fraction(rate), time_base=Fraction(s.time_base),
                         codec=s.codec_context.name, rotation=rotation,
                         declared_frames=int(s.frames or 0), declared_seconds=seconds, streams=kinds,
                         metadata=dict(self._container.metadata),
                         bit_rate=int(s.bit_rate or self._container.bit_rate or 0))

    def _peek_rotation(self) -> int:
        """Rotation from the stream's display matrix, read from the first frame."""
        try:
            frame = next(self._container.decode(self._stream))
        except StopIteration:
            raise VideoError(f"{self.path}: the video stream holds no frames") from None
        except Exception as exc:  # PyAV raises many FFmpeg error types
            raise VideoError(f"{self.path}: cannot decode the first frame ({exc})") from None
        return int(round(frame.rotation or 0)) % 360

    @property
    def audio_stream(self):
        """The first audio stream, or None."""
        audio = self._container.streams.audio
        return audio[0] if audio else None

    def __iter__(self):
        """Decoded frames only."""
        return (item for item in self.demux(with_audio=False) if isinstance(item, DecodedFrame))

    def demux(self, with_audio: bool):
        """Decoded frames, and (with ``with_audio``) lists of the first audio stream's packets.

        Packets come in file order, so audio stays near the video it belongs to.
        """
        import av.error

        streams = [self._stream] + ([self.audio_stream] if with_audio and self.audio_stream else [])
        fallback_step = round(1 / (self.info.fps * self.info.time_base)) or 1
        last_pts = None
        index = 0
        try:
            for packet in self._container.demux(streams):
                if packet.stream.type == "audio":
                    if packet.dts is not None:
                        yield [packet]
                    continue
                if packet.size:
                    self.packets_read += 1
                if packet.is_corrupt and self.cut_packet is None:
                    self.cut_packet = self.packets_read
                for frame in packet.decode():
                    pts = frame.pts
                    if pts is None:  # some AVI/raw streams carry no timestamps: count frames
                        pts = 0 if last_pts is None else last_pts + fallback_step
                    last_pts = pts
                    rgb = _upright(frame.to_ndarray(format="rgb24"), self.info.rotation)
                    self._span = (pts if self._span is None else min(self._span[0], pts),
                                  pts if self._span is None else max(self._span[1], pts))
                    index += 1
                    yield DecodedFrame(rgb, int(pts), index - 1)
        except av.error.FFmpegError as exc:
            raise VideoError(f"{self.path}: decoding failed at frame {index} ({exc})") from None

    def check_complete(self) -> None:
        """After the last frame: raise `VideoError` unless the stream was read to its end.

        FFmpeg stops quietly at the end of a truncated file whose index sits at the front
        (``+faststart``), so the frames and duration the container declares are the only
        sign that half of the clip is missing. A file cut inside a frame's data still holds
        every frame it declares; the demuxer marks the packet it read short, and some
        decoders (MPEG-4 part 2 in AVI) make the missing part up without an error.
        """
        if self.cut_packet is not None:
            raise VideoError(f"{self.path}: video packet {self.cut_packet} is cut short (truncated or damaged file); "
                             "nothing was written")
        # Packets, not frames: an edit list may hide a few decoded frames on purpose.
        n, declared = self.packets_read, self.info.declared_frames
        if declared and n < declared:
            raise VideoError(f"{self.path}: read {n} of the {declared} frames the container declares "
                             "(truncated or damaged file); nothing was written")
        if not declared and self.info.declared_seconds and self._span is not None:
            step = 1 / float(self.info.fps)
            seen = float((self._span[1] - self._span[0]) * self.info.time_base) + step
            # Generous slack: container durations include audio and rounding, not only video.
            if seen < 0.95 * self.info.declared_seconds - 1.0:
                raise VideoError(f"{self.path}: decoded {seen:.1f} s of the {self.info.declared_seconds:.1f} s "
                                 "the container declares (truncated or damaged file); nothing was written")

    def close(self):
        self._container.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
