"""Encoding with PyAV: H.264 in MP4, input timestamps kept, side channels left out."""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from ...core.threads import budget
from .reader import VideoError

#: Audio codecs MP4 carries as they are; anything else is re-encoded to AAC when kept.
_MP4_AUDIO = {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"}
#: x264's presets, and its constant rate factor range for 8-bit video (it clamps anything
#: outside, so 99 would be recorded in the manifest while 51 was used).
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
                "placebo")
CRF_RANGE = (0, 51)


def check_encoder(crf, preset) -> None:
    """Raise `ValueError` naming the valid values unless x264 uses ``crf`` and ``preset`` as given."""
    low, high = CRF_RANGE
    if isinstance(crf, bool) or not isinstance(crf, int) or not low <= crf <= high:
        raise ValueError(f"crf: expected a whole number from {low} (best) to {high} (smallest), got {crf!r}")
    if preset not in X264_PRESETS:
        raise ValueError(f"preset: expected one of {', '.join(X264_PRESETS)}, got {preset!r}")


class VideoWriter:
    """Write RGB frames with given timestamps to an H.264/MP4 file.

    Nothing but the video (and audio, when ``audio_from`` is given) reaches the file: no
    container or stream tags unless ``metadata`` is passed, no encoder tag, and no x264
    version/settings SEI in the bitstream.

    Parameters
    ----------
    path : path
        Destination; the caller writes to a temporary name and renames it (see `redact.media.safeio`).
    width, height : int
        Frame size; odd sizes are padded to even by repeating the last row/column, since
        4:2:0 H.264 needs even dimensions.
    time_base : Fraction
        Unit of the ``pts`` passed to `write` (the input stream's time base).
    fps : Fraction
        Nominal rate, a hint for the encoder's rate control.
    crf : int
        x264 constant rate factor: lower is better quality and bigger files (18 is near
        transparent, 23 the x264 default).
    preset : str
        x264 speed/size trade-off (``ultrafast`` .. ``veryslow``).
    max_bitrate : int
        Bits per second x264 may not exceed (its VBV, with a buffer of one second's worth), on
        top of ``crf``; 0 for none. Given the input's own rate, a redacted clip comes out no
        larger than its input: blur and grain are costly to encode, and crf alone made a
        phone clip three times its size.
    metadata : dict, optional
        Container tags to copy (``--keep-metadata``).
    audio_from : av.audio.stream.AudioStream, optional
        Input audio stream whose packets are copied (``--keep-audio``).
    """

    def __init__(self, path, width: int, height: int, time_base: Fraction, fps: Fraction,
                 crf: int = 20, preset: str = "veryfast", metadata=None, audio_from=None, max_bitrate: int = 0):
        import av

        if audio_from is not None and audio_from.codec_context.name not in _MP4_AUDIO:
            raise VideoError(f"{path}: audio codec {audio_from.codec_context.name!r} cannot be "
                             "kept in MP4; run without --keep-audio")
        self.path = str(path)
        self.size = (width, height)
        self.padded = (width + width % 2, height + height % 2)
        self.time_base = Fraction(time_base)
        # bitexact keeps the muxer from writing its "encoder" tag.
        self._container = av.open(self.path, "w", format="mp4",
                                  options={"fflags": "+bitexact", "movflags": "+faststart"})
        stream = self._container.add_stream("libx264", rate=fps)
        stream.width, stream.height = self.padded
        stream.pix_fmt = "yuv420p"
        stream.time_base = self.time_base
        stream.codec_context.time_base = self.time_base
        options: dict[str, object] = {"crf": str(int(crf)), "preset": preset}
        if max_bitrate > 0:
            options.update(maxrate=str(int(max_bitrate)), bufsize=str(int(max_bitrate)))
        stream.options = options
        # x264's own count, measured faster than one thread (`redact.core.threads`).
        stream.codec_context.thread_count = budget().encoder
        self._stream = stream
        # x264 writes its version and every setting into an SEI message; drop SEI units.
        self._strip_sei = av.bitstream.BitStreamFilterContext("filter_units=remove_types=6", stream)
        self._container.metadata.clear()
        if metadata:
            self._container.metadata.update(metadata)
        self._audio_in = audio_from
        self._audio_out = None
        if audio_from is not None:
            self._audio_out = self._container.add_stream_from_template(audio_from)
            self._audio_out.metadata.clear()
        self._frames = 0
        self._last_pts: int | None = None
        self.repaired_pts = 0
        self.closed = False

    @property
    def frames_written(self) -> int:
        return self._frames

    def _pad(self, rgb: np.ndarray) -> np.ndarray:
        w, h = self.size
        if (w, h) == self.padded:
            return rgb
        return np.pad(rgb, ((0, self.padded[1] - h), (0, self.padded[0] - w), (0, 0)), mode="edge")

    def write(self, rgb: np.ndarray, pts: int) -> None:
        import av

        if rgb.shape[:2] != (self.size[1], self.size[0]):
            raise VideoError(f"{self.path}: frame of shape {rgb.shape} does not match the stream "
                             f"size {self.size[0]}x{self.size[1]}")
        pts = int(pts)
        if self._last_pts is not None and pts <= self._last_pts:
            # Damaged files (bad remuxes) carry timestamps out of order; the encoder needs
            # them increasing. Nudge by one tick: every frame is kept, timing barely moves.
            pts = self._last_pts + 1
            self.repaired_pts += 1
        self._last_pts = pts
        frame = av.VideoFrame.from_ndarray(self._pad(rgb), format="rgb24")
        frame.pts = pts
        frame.time_base = self.time_base
        self._mux(self._stream.encode(frame))
        self._frames += 1

    def _mux(self, packets) -> None:
        for packet in packets:
            for clean in self._strip_sei.filter(packet):
                clean.stream = self._stream
                self._container.mux(clean)

    def copy_audio(self, packets) -> None:
        """Mux demuxed input audio packets (already in the input stream's time base)."""
        for packet in packets:
            if packet.dts is None:
                continue
            packet.stream = self._audio_out
            self._container.mux(packet)

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        self._mux(self._stream.encode(None))
        for clean in self._strip_sei.filter(None):
            clean.stream = self._stream
            self._container.mux(clean)
        self._container.close()
        self.closed = True

    def abort(self) -> None:
        """Close without flushing (the caller deletes the partial file); safe to repeat."""
        if self.closed:
            return
        self.closed = True
        try:
            self._container.close()
        except Exception:  # the file is being thrown away; its close error changes nothing
            pass
