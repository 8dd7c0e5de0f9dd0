"""An incident's time window applied to a decoded stream: frames outside it are cut.

Times are seconds of the input's own timeline, 0 at its first frame. Kept frames are
re-timed by one integer offset in the stream's time base, so the output starts at 0 and
every interval between frames stays exactly what it was (VFR and 29.97 fps included).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from ...core.incident import Window
from .reader import DecodedFrame


@dataclass
class WindowCut:
    """Filter ``VideoReader.demux`` items to ``window`` (a `redact.core.incident.Window`), or,
    with None, pass everything through unchanged while noting each frame's time.

    After iterating: ``cut_before``/``cut_after`` frames dropped, ``first``/``last`` seconds
    kept, ``ended_early`` when reading stopped past the window (the rest was not decoded).
    """

    window: Window | None
    time_base: Fraction
    audio_time_base: Fraction | None = None
    cut_before: int = 0
    cut_after: int = 0
    first: float | None = None
    last: float | None = None
    ended_early: bool = False

    def __post_init__(self):
        self.times: list = []  # seconds of each kept frame, by output index
        self._origin = None  # pts of the input's first frame
        self._offset = None  # pts of the first kept frame

    def __call__(self, items):
        pending_audio: list = []  # audio read before the first kept frame's time is known
        for item in items:
            if not isinstance(item, DecodedFrame):
                if self.window is None:
                    yield item  # nothing is cut or re-timed: audio stays as it was
                elif self._offset is None:
                    pending_audio.extend(item)
                else:
                    kept = self._audio(item)
                    if kept:
                        yield kept
                continue
            if self._origin is None:
                self._origin = item.pts
            seconds = float((item.pts - self._origin) * self.time_base)
            if self.window is None:
                self.times.append(seconds)
                self.first = seconds if self.first is None else self.first
                self.last = seconds
                yield item
                continue
            if seconds < self.window.first:
                self.cut_before += 1
                continue
            if seconds > self.window.last:
                # Presentation order: nothing later can fall inside. Stop decoding here.
                self.cut_after += 1
                self.ended_early = True
                return
            if self._offset is None:
                self._offset = item.pts
                self.first = seconds
                kept = self._audio(pending_audio)
                pending_audio = []
                if kept:
                    yield kept
            self.last = seconds
            self.times.append(seconds)
            yield replace(item, pts=item.pts - self._offset, index=len(self.times) - 1)

    def _audio(self, packets):
        """Audio packets inside the kept span, re-timed by the video's offset."""
        if self.audio_time_base is None:
            return []
        atb = self.audio_time_base
        shift = round(self._offset * self.time_base / atb)  # first kept frame, in audio ticks
        kept = []
        for packet in packets:
            if packet.pts is None:
                continue
            seconds = float(packet.pts * atb - self._origin * self.time_base)
            if not self.first <= seconds <= self.window.last:
                continue
            packet.pts -= shift
            if packet.dts is not None:
                packet.dts -= shift
            kept.append(packet)
        return kept

    def record(self) -> dict | None:
        """The window as applied, for the manifest (source seconds; frames cut before it).

        Nothing about what follows the window: with the frames before and inside it, that
        would give the recording's length, which two windows of one recording share."""
        if self.window is None:
            return None
        return {"asked": {"start": self.window.start, "end": self.window.end, "margin": self.window.margin},
                "kept_seconds": [self.first, self.last], "frames_kept": len(self.times),
                "frames_cut_before": self.cut_before}
