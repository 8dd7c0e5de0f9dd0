"""Real media files for the tests, written with PyAV and OpenCV (nothing is mocked)."""
from __future__ import annotations

import struct
from fractions import Fraction

import av
import numpy as np


def pattern(i: int, width: int, height: int) -> np.ndarray:
    """A textured frame that changes every frame, with a white block at the top-left."""
    ys, xs = np.mgrid[0:height, 0:width]
    r = (xs * 3 + i * 5) % 256
    g = (ys * 5 + i * 3) % 256
    b = ((xs + ys) * 2) % 256
    img = np.stack([r, g, b], axis=-1).astype(np.uint8)
    img[: max(1, height // 6), : max(1, width // 6)] = 255
    return img


def encode_tone(out, stream, samples: int) -> None:
    """Encode and mux ``samples`` of a quiet sine through a 16 kHz mono ``stream``, then flush it."""
    tone = (0.3 * np.sin(np.arange(samples) * 0.2)).astype(np.float32)
    for start in range(0, samples, 1024):
        af = av.AudioFrame.from_ndarray(tone[None, start:start + 1024], format="flt", layout="mono")
        af.sample_rate, af.pts, af.time_base = 16000, start, Fraction(1, 16000)
        for packet in stream.encode(af):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)


def write_video(path, *, frames=30, size=(96, 64), rate=Fraction(30), codec="libx264",
                pix_fmt="yuv420p", pts=None, time_base=None, rotation=0, audio=False, tags=None,
                fmt=None, options=None):
    """Write a clip; ``pts`` (in ``time_base`` units) gives variable frame rate; ``options``
    go to the encoder (``{"crf": "40"}``)."""
    width, height = size
    with av.open(str(path), "w", format=fmt) as out:
        if tags:
            out.metadata.update(tags)
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if options:
            stream.options = options
        if time_base is not None:
            stream.time_base = time_base
            stream.codec_context.time_base = time_base
        if rotation:
            stream.set_display_rotation(rotation)
        astream = None
        if audio:
            astream = out.add_stream("aac", rate=16000)
            astream.layout = "mono"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(pattern(i, width, height), format="rgb24")
            if pts is not None:
                frame.pts, frame.time_base = pts[i], time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        if astream is not None:
            encode_tone(out, astream, int(16000 * frames / rate))
        for packet in stream.encode(None):
            out.mux(packet)


def read_video(path):
    """(frames as RGB arrays, pts in seconds as Fractions, container) of a file."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames, times = [], []
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            times.append(Fraction(frame.pts) * stream.time_base)
        info = {"tags": dict(container.metadata), "types": [s.type for s in container.streams],
                "rotation": None}
    return frames, times, info


def jpeg_with_exif(rgb: np.ndarray, orientation: int) -> bytes:
    """A JPEG carrying an EXIF block with an orientation and a GPS IFD (latitude 51 N)."""
    import cv2

    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 98])
    assert ok
    # Little-endian TIFF: IFD0 with Orientation (0x0112) and a GPS IFD pointer (0x8825).
    ifd0_entries = [(0x0112, 3, 1, orientation), (0x8825, 4, 1, 8 + 2 + 2 * 12 + 4)]
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(ifd0_entries))
    for tag, typ, count, value in ifd0_entries:
        tiff += struct.pack("<HHI", tag, typ, count) + struct.pack("<I", value)
    tiff += struct.pack("<I", 0)
    gps_entries = [(0x0001, 2, 2, int.from_bytes(b"N\x00\x00\x00", "little"))]  # GPSLatitudeRef = 'N'
    tiff += struct.pack("<H", len(gps_entries))
    for tag, typ, count, value in gps_entries:
        tiff += struct.pack("<HHI", tag, typ, count) + struct.pack("<I", value)
    tiff += struct.pack("<I", 0) + b"GPSMARKER-51.5007N"
    app1 = b"Exif\x00\x00" + tiff
    segment = b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
    data = buf.tobytes()
    return data[:2] + segment + data[2:]
