"""Refuse a video this device cannot hold in memory, before a frame is decoded.

Frames are buffered for the look-ahead (an object is obscured before it is first found) and
between the decode, process and encode stages, so peak memory grows with frame size times
frames held, not with the clip's length. Measured: a 7680x4320 clip with a 1 s look-ahead at
30 fps peaked at 5.9 GB, about 59 frames' worth for the 30 + 16 it buffers; on a 4 GB device
the kernel's out-of-memory killer would end such a run without a word. An estimate checked
against the memory the kernel says is available turns that into a one-line failure that
names the fix.
"""
from __future__ import annotations

#: Frames' worth of memory beyond those buffered: decoded YUV and its RGB, the frame being
#: obscured, the encoder's reference frames and the detectors' resized copies.
WORKING_FRAMES = 13
#: Interpreter, libraries and detector models (measured RSS of a run on a tiny clip, rounded up).
BASE_BYTES = 700 << 20


def available_bytes() -> int | None:
    """``MemAvailable`` from ``/proc/meminfo`` (Linux), or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def needed_bytes(width: int, height: int, buffered_frames: int) -> int:
    """Estimated peak memory of a run holding ``buffered_frames`` RGB frames of this size."""
    return BASE_BYTES + (buffered_frames + WORKING_FRAMES) * width * height * 3


def check_memory(width: int, height: int, buffered_frames: int, lookahead_frames: int,
                 available: int | None = None) -> None:
    """Raise `MemoryError` with the fix when the estimate exceeds ``available`` (default:
    what the kernel reports now); pass when it cannot be known."""
    available = available_bytes() if available is None else available
    need = needed_bytes(width, height, buffered_frames)
    if available is None or need <= available:
        return
    gib = 1 << 30
    raise MemoryError(f"a {width}x{height} video with a look-ahead of {lookahead_frames} frames needs about "
                      f"{need / gib:.1f} GiB of memory, and {available / gib:.1f} GiB is available; lower "
                      "--lookahead (e.g. 0.2), or scale the clip down first")
