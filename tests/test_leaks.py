"""Metadata leak audit (issue 9, item 19): a clip and images carrying every side channel we can
mux, through `python -m redact`, and a search of the outputs for any trace of them.

Each side channel carries a marker value that appears nowhere else; the output is checked
with PyAV (streams, tags, chapters) and by grepping its bytes for every marker, and the
manifest for every marker and for the file names (doorbell clip names carry addresses).
"""
from __future__ import annotations

import datetime
import json
import struct
import subprocess
import sys
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from media import encode_tone, jpeg_with_exif, pattern

NO_DETECT = ["--detect", "none", "-q"]
STEM = "12 Elm Street 2026-05-01 0712"  # an input name that itself identifies a place and time
CREATED = "2026-05-01T07:12:13.000000Z"
LOCATION = "+51.5007-000.1246+010.000/"
TAGS = {
    "creation_time": CREATED,
    "location": LOCATION,
    "com.apple.quicktime.location.ISO6709": LOCATION,
    "make": "LeakMakeAcmeCam",
    "model": "LeakModelX9000",
    "com.apple.quicktime.make": "LeakMakeAcmeCam",
    "com.apple.quicktime.model": "LeakModelX9000",
    "com.apple.quicktime.serial": "LeakSerialSN0042",
    "serial_number": "LeakSerialSN0042",
    "title": "LeakTitle front door",
    "comment": "LeakComment owner Alice Smith",
}
STREAM_TAGS = {"handler_name": "LeakHandlerDoorCam", "title": "LeakStreamTitle"}
SUBTITLE = "LeakSubtitle Alice Smith 12 Elm Street"
DATA = b"LeakGPSData $GPRMC,071213,A,5130.04,N,00007.48,W"
COVER = b"LeakCoverArtMarker"
CHAPTERS = ("LeakChapterArrival", "LeakChapterDeparture")

#: Markers that must be nowhere in any output or manifest (text and bytes).
MARKERS = sorted({*TAGS.values(), *STREAM_TAGS.values(), SUBTITLE, *CHAPTERS, "51.5007", "2026-05-01",
                  DATA.decode(), "5130.04", COVER.decode(), STEM, "Elm Street"})
#: Container tags the muxer itself writes (no information about the clip).
MUXER_TAGS = {"major_brand", "minor_version", "compatible_brands"}


def run_redact(*args):
    return subprocess.run([sys.executable, "-m", "redact", *map(str, args)], capture_output=True,
                          text=True, timeout=180, check=False)


def _packet(payload: bytes, stream, pts=0, duration=400):
    packet = av.Packet(payload)
    packet.stream = stream
    packet.pts = packet.dts = pts
    packet.duration = duration
    packet.time_base = Fraction(1, 1000)
    return packet


def _cover_jpeg() -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))
    assert ok
    data = buf.tobytes()
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(COVER) + 2) + COVER + data[2:]  # a COM segment


def write_tagged_clip(path: Path, fmt: str) -> dict:
    """A 1 s clip with every side channel ``fmt`` can hold; returns what went in (for skips)."""
    options = {"movflags": "+use_metadata_tags"} if fmt == "mp4" else {}
    carried = {}
    with av.open(str(path), "w", format=fmt, options=options) as out:
        out.metadata.update(TAGS)
        video = out.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = 96, 64, "yuv420p"
        video.metadata.update(STREAM_TAGS)
        audio = out.add_stream("aac", rate=16000)
        audio.layout = "mono"
        audio.metadata.update(STREAM_TAGS)
        subtitle = out.add_mux_stream("mov_text" if fmt == "mp4" else "subrip")
        subtitle.time_base = Fraction(1, 1000)
        data = None
        if fmt == "mp4":
            try:
                data = out.add_mux_stream("bin_data")
                data.time_base = Fraction(1, 1000)
                carried["data"] = True
            except (av.FFmpegError, ValueError) as exc:  # recorded; that part is skipped with the reason
                carried["data"] = f"{type(exc).__name__}: {exc}"
        else:
            out.add_attachment("cover.jpg", "image/jpeg", _cover_jpeg())
            carried["cover"] = True
        out.set_chapters([
            {"id": 1, "start": 0, "end": 500, "time_base": Fraction(1, 1000), "metadata": {"title": CHAPTERS[0]}},
            {"id": 2, "start": 500, "end": 1000, "time_base": Fraction(1, 1000), "metadata": {"title": CHAPTERS[1]}},
        ])
        for i in range(30):
            frame = av.VideoFrame.from_ndarray(pattern(i, 96, 64), format="rgb24")
            for packet in video.encode(frame):
                out.mux(packet)
        text = SUBTITLE.encode()
        out.mux(_packet(struct.pack(">H", len(text)) + text if fmt == "mp4" else text, subtitle))
        if data is not None:
            for t in range(0, 1000, 250):
                out.mux(_packet(DATA, data, pts=t, duration=250))
        encode_tone(out, audio, 16000)
        for packet in video.encode(None):
            out.mux(packet)
    return carried


def _probe(path: Path) -> dict:
    with av.open(str(path)) as c:
        return {"tags": dict(c.metadata), "types": [s.type for s in c.streams],
                "stream_tags": [dict(s.metadata) for s in c.streams], "chapters": c.chapters(),
                "attached": [s.index for s in c.streams if s.disposition & av.stream.Disposition.attached_pic]}


def _mvhd_creation(path: Path) -> int | None:
    """The creation time field of an MP4's movie header (seconds since 1904), or None."""
    data = path.read_bytes()
    at = data.find(b"mvhd")
    if at < 0:
        return None
    version = data[at + 4]
    if version == 1:
        return struct.unpack(">Q", data[at + 8:at + 16])[0]
    return struct.unpack(">I", data[at + 8:at + 12])[0]


def _seconds_since_1904(iso: str) -> int:
    when = datetime.datetime.fromisoformat(iso)
    return int((when - datetime.datetime(1904, 1, 1, tzinfo=datetime.UTC)).total_seconds())


def _leaks(blob: bytes, markers) -> list:
    low = blob.lower()
    found = []
    for m in markers:
        for form in {m.encode(), m.encode("utf-16-le")}:  # QuickTime and XMP may store UTF-16
            if form.lower() in low:
                found.append(m)
    return sorted(set(found))


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("leaks")
    made = {}
    for fmt, suffix in (("mp4", ".mp4"), ("matroska", ".mkv")):
        src = root / "in" / f"{STEM}{suffix}"
        src.parent.mkdir(exist_ok=True)
        carried = write_tagged_clip(src, fmt)
        made[fmt] = (src, carried)
    return root, made


@pytest.mark.parametrize("fmt", ["mp4", "matroska"])
def test_the_input_really_carries_the_side_channels(clips, fmt):
    """Guards the audit itself: every marker is findable in the input."""
    _, made = clips
    src, carried = made[fmt]
    info = _probe(src)
    blob = src.read_bytes()
    assert "audio" in info["types"] and "subtitle" in info["types"]
    assert len(info["chapters"]) == 2
    assert info["tags"].get("make") == TAGS["make"] or "LeakMakeAcmeCam" in str(info["tags"]), info["tags"]
    for marker in (TAGS["make"], TAGS["model"], TAGS["com.apple.quicktime.serial"], "51.5007", SUBTITLE, CHAPTERS[0]):
        assert marker.encode() in blob, marker
    if fmt == "mp4":
        assert _mvhd_creation(src) == _seconds_since_1904(CREATED)
        if carried["data"] is True:
            assert "data" in info["types"] and DATA in blob
    else:
        assert COVER in blob and info["attached"], info


@pytest.mark.parametrize("fmt", ["mp4", "matroska"])
def test_video_output_carries_no_side_channel(clips, fmt):
    root, made = clips
    src, carried = made[fmt]
    if fmt == "mp4" and carried["data"] is not True:
        pytest.skip(f"PyAV cannot mux a data stream into MP4 here ({carried['data']})")
    out = root / f"out-{fmt}" / "shared_clip.mp4"
    result = run_redact(src, "-o", out, *NO_DETECT)
    assert result.returncode == 0, result.stderr
    info = _probe(out)
    assert info["types"] == ["video"], f"streams left in the output: {info['types']}"
    assert set(info["tags"]) <= MUXER_TAGS, f"container tags left: {info['tags']}"
    assert all(not _leaks(json.dumps(t).encode(), MARKERS) for t in info["stream_tags"]), info["stream_tags"]
    assert info["chapters"] == [], f"chapters left: {info['chapters']}"
    assert not info["attached"]
    assert _mvhd_creation(out) in (None, 0), f"movie header creation time {_mvhd_creation(out)}"
    blob = out.read_bytes()
    assert not _leaks(blob, MARKERS), f"markers in the output bytes: {_leaks(blob, MARKERS)}"
    for brand in (b"Lavf", b"x264 - core", b"libx264"):
        assert brand not in blob, f"encoder identification {brand!r} in the output"
    manifest = (out.parent / (out.name + ".redaction.json")).read_text()
    assert not _leaks(manifest.encode(), [*MARKERS, src.name, "shared_clip", str(src.parent)]), \
        f"manifest leaks {_leaks(manifest.encode(), [*MARKERS, src.name, 'shared_clip', str(src.parent)])}"


@pytest.mark.parametrize("fmt", ["mp4", "matroska"])
def test_keep_metadata_still_drops_subtitles_data_cover_and_chapters(clips, fmt):
    """--keep-metadata --keep-audio keeps tags and audio only: the streams where GPS tracks,
    names and pictures live are always dropped."""
    root, made = clips
    src, _ = made[fmt]
    out = root / f"keep-{fmt}" / "kept.mp4"
    result = run_redact(src, "-o", out, "--keep-metadata", "--keep-audio", *NO_DETECT)
    assert result.returncode == 0, result.stderr
    info = _probe(out)
    assert sorted(info["types"]) == ["audio", "video"], info["types"]
    assert info["chapters"] == [] and not info["attached"], info
    blob = out.read_bytes()
    gone = [SUBTITLE, *CHAPTERS, DATA.decode(), COVER.decode()]
    assert not _leaks(blob, gone), f"always-dropped channels in the output: {_leaks(blob, gone)}"
    manifest = (out.parent / (out.name + ".redaction.json")).read_text()
    assert not _leaks(manifest.encode(), [*MARKERS, src.name]), _leaks(manifest.encode(), [*MARKERS, src.name])


XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
       b'exif:GPSLatitude="51,30.04N" exif:GPSLongitude="0,7.48W" tiff:Make="LeakMakeAcmeCam" '
       b'tiff:Model="LeakModelX9000" exif:DateTimeOriginal="2026-05-01T07:12:13"/></rdf:RDF></x:xmpmeta>')
IMAGE_MARKERS = ["GPSMARKER", "51.5007", "5130.04", "51,30.04N", "LeakMakeAcmeCam", "LeakModelX9000", "2026-05-01",
                 "ns.adobe.com/xap", "xmpmeta", "LeakComment", "LeakPngText"]


def _jpeg_with_exif_and_xmp(rgb) -> bytes:
    data = jpeg_with_exif(rgb, orientation=1)
    xmp = b"http://ns.adobe.com/xap/1.0/\x00" + XMP
    comment = b"LeakComment owner Alice Smith"
    segments = (b"\xff\xe1" + struct.pack(">H", len(xmp) + 2) + xmp
                + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment)
    return data[:2] + segments + data[2:]


def _png_with_text(rgb) -> bytes:
    """A PNG with tEXt, iTXt (XMP) and eXIf chunks before the image data."""
    import cv2

    ok, buf = cv2.imencode(".png", rgb[..., ::-1])
    assert ok
    data = buf.tobytes()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    exif = jpeg_with_exif(rgb, 1)
    tiff = exif[exif.index(b"Exif\x00\x00") + 6:exif.index(b"GPSMARKER") + len(b"GPSMARKER-51.5007N")]
    extra = (chunk(b"tEXt", b"Comment\x00LeakPngText 12 Elm Street")
             + chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + XMP)
             + chunk(b"eXIf", tiff))
    at = data.index(b"IDAT") - 4
    return data[:at] + extra + data[at:]


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_image_output_carries_no_metadata(tmp_path, suffix):
    rgb = pattern(0, 64, 48)
    src = tmp_path / "in" / f"{STEM}{suffix}"
    src.parent.mkdir()
    src.write_bytes(_jpeg_with_exif_and_xmp(rgb) if suffix == ".jpg" else _png_with_text(rgb))
    blob_in = src.read_bytes()
    assert all(m.encode() in blob_in for m in ("GPSMARKER", "LeakMakeAcmeCam", "xmpmeta"))  # guards the audit
    out = tmp_path / "out" / f"shared{suffix}"
    result = run_redact(src, "-o", out, *NO_DETECT)
    assert result.returncode == 0, result.stderr
    blob = out.read_bytes()
    assert not _leaks(blob, IMAGE_MARKERS), f"markers in the output: {_leaks(blob, IMAGE_MARKERS)}"
    assert b"Exif\x00\x00" not in blob and b"eXIf" not in blob and b"tEXt" not in blob and b"iTXt" not in blob
    try:
        from PIL import Image
    except ImportError:
        pass
    else:
        with Image.open(out) as im:
            assert not dict(im.getexif()), dict(im.getexif())
            harmless = ("dpi", "jfif", "jfif_version", "jfif_unit", "jfif_density")
            assert not {k for k in im.info if k not in harmless}, im.info
    manifest = (out.parent / (out.name + ".redaction.json")).read_text()
    assert not _leaks(manifest.encode(), [*IMAGE_MARKERS, STEM, src.name, out.name]), \
        _leaks(manifest.encode(), [*IMAGE_MARKERS, STEM, src.name, out.name])
