"""Bounded fuzzing of the command line (issue 9, item 18): damaged copies of small valid clips
and images (bytes flipped, inserted, deleted, the file cut short) through `python -m redact`.

Every run must end within its timeout, without a traceback, with exit 0 exactly when every
file was redacted; a file that was redacted has an output and manifest whose frame count
equals the manifest's ``frames_in``, and when the whole frame is asked to be covered
(``--zone fraction:0,0,1,1 --method fill``) every output frame is covered. A file that failed
leaves nothing under its final name; no run leaves a ``*partial*`` file or changes an input.

Each example redacts a folder of a few damaged files in one process (process start-up is most
of the cost), and shrinking is off, so the whole module stays under a minute.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from media import pattern, write_video

NO_DETECT = ["--detect", "none", "-q"]
COVER_ALL = ["--zone", "fraction:0,0,1,1", "--method", "fill"]
RUN_TIMEOUT = 60  # a 3 kB clip takes about 2 s; anything near this is a hang
FOREIGN = ("Traceback", 'File "', "Warning:", "warning:", "[ WARN", "[ERROR", "libpng", "libjpeg", "Corrupt JPEG",
           "Premature end", "[mov,", "[h264", "[matroska", "[png", "[mjpeg", "[NULL")
FILES_PER_RUN = 3

FUZZ = settings(max_examples=8, deadline=None, database=None, derandomize=False,
                phases=[Phase.explicit, Phase.generate], report_multiple_bugs=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# A mutation: positions are fractions of the file's length, so they stay valid whatever the size.
position = st.floats(min_value=0, max_value=1, exclude_max=True)
mutation = st.one_of(
    st.tuples(st.just("flip"), position, st.integers(1, 255)),
    st.tuples(st.just("insert"), position, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), position, st.integers(1, 64)),
    st.tuples(st.just("truncate"), position),
)
mutations = st.lists(mutation, min_size=1, max_size=4)


def mutate(data: bytes, ops) -> bytes:
    buf = bytearray(data)
    for op in ops:
        at = int(op[1] * len(buf)) if buf else 0
        if op[0] == "flip" and buf:
            buf[at] ^= op[2]
        elif op[0] == "insert":
            buf[at:at] = op[2]
        elif op[0] == "delete":
            del buf[at:at + op[2]]
        elif op[0] == "truncate":
            del buf[at:]
    return bytes(buf)


@pytest.fixture(scope="module")
def seed_dir(tmp_path_factory) -> Path:
    """Small valid files to damage: MP4 with the index at the end, MP4 with it in front, MKV,
    JPEG and PNG."""
    import av
    import cv2

    root = tmp_path_factory.mktemp("seeds")
    write_video(root / "plain.mp4", frames=6, size=(64, 48))
    write_video(root / "clip.mkv", frames=6, size=(64, 48), fmt="matroska")
    with av.open(str(root / "plain.mp4")) as inp, av.open(str(root / "front.mp4"), "w", format="mp4",
                                                          options={"movflags": "+faststart"}) as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        for packet in inp.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    rgb = pattern(3, 48, 32)
    cv2.imwrite(str(root / "still.jpg"), rgb[..., ::-1])
    cv2.imwrite(str(root / "still.png"), rgb[..., ::-1])
    return root  # a path, not the bytes: hypothesis prints the arguments of a failing example


def _frames(path: Path) -> list:
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]


def _image(path: Path):
    import cv2

    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def check_run(seed_name: str, seed: bytes, variants: list, cover: bool):
    """Write the damaged variants, redact the folder, and check every property."""
    suffix = Path(seed_name).suffix
    out_suffix = suffix if suffix in (".jpg", ".png") else ".mp4"
    with tempfile.TemporaryDirectory(prefix="redact-fuzz-") as tmp:
        src, out = Path(tmp) / "in", Path(tmp) / "out"
        src.mkdir()
        files = []
        for i, ops in enumerate(variants):
            path = src / f"v{i}{suffix}"
            path.write_bytes(mutate(seed, ops))
            files.append(path)
        hashes = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
        args = [sys.executable, "-m", "redact", str(src), "-o", str(out), *NO_DETECT, *(COVER_ALL if cover else [])]
        what = f"{seed_name}, cover={cover}, mutations={variants}"
        try:
            result = subprocess.run(args, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                                    check=False)
        except subprocess.TimeoutExpired:
            pytest.fail(f"hung (> {RUN_TIMEOUT} s): {what}")
        err = result.stderr
        report = f"{what}\nexit {result.returncode}, stderr:\n{err}"
        assert result.returncode in (0, 1), report
        assert not [line for line in err.splitlines() if any(w in line for w in FOREIGN)], report
        assert not [p for p in Path(tmp).rglob("*") if "partial" in p.name], report
        assert all(hashlib.sha256(p.read_bytes()).hexdigest() == h for p, h in hashes.items()), report
        failed = 0
        for path in files:
            dst = out / (path.stem + out_suffix)
            manifest = dst.with_name(dst.name + ".redaction.json")
            if not dst.exists():
                assert not manifest.exists(), f"manifest without output for {path.name}; {report}"
                assert [line for line in err.splitlines() if path.name in line], \
                    f"{path.name} has no output and no failure line; {report}"
                failed += 1
                continue
            assert manifest.is_file(), f"output without manifest for {path.name}; {report}"
            m = json.loads(manifest.read_text())
            if out_suffix == ".mp4":
                frames = _frames(dst)
                assert len(frames) == m["frames_in"] == m["frames_out"] > 0, \
                    (f"{path.name}: {len(frames)} frames decoded, manifest {m['frames_in']} in/"
                     f"{m['frames_out']} out; {report}")
                if cover:
                    worst = max(int(f.max()) for f in frames)
                    assert worst <= 8, f"{path.name}: a frame is not covered (max {worst}); {report}"
            else:
                img = _image(dst)
                assert img is not None, f"{path.name}: output does not decode; {report}"
                if cover:
                    assert int(img.max()) <= 8, f"{path.name}: image not covered (max {img.max()}); {report}"
        assert (result.returncode == 0) == (failed == 0), f"exit {result.returncode} with {failed} failed; {report}"


@pytest.mark.parametrize("seed_name", ["plain.mp4", "front.mp4", "clip.mkv"])
@FUZZ
@given(variants=st.lists(mutations, min_size=FILES_PER_RUN, max_size=FILES_PER_RUN), cover=st.booleans())
def test_damaged_video(seed_dir, seed_name, variants, cover):
    check_run(seed_name, (seed_dir / seed_name).read_bytes(), variants, cover)


@pytest.mark.parametrize("seed_name", ["still.jpg", "still.png"])
@settings(FUZZ, max_examples=5)
@given(variants=st.lists(mutations, min_size=FILES_PER_RUN, max_size=FILES_PER_RUN), cover=st.booleans())
def test_damaged_image(seed_dir, seed_name, variants, cover):
    check_run(seed_name, (seed_dir / seed_name).read_bytes(), variants, cover)


def test_mutate_is_what_it_says():
    data = bytes(range(10))
    assert mutate(data, [("flip", 0.0, 1)])[0] == 1
    assert mutate(data, [("insert", 0.5, b"ab")]) == data[:5] + b"ab" + data[5:]
    assert mutate(data, [("delete", 0.2, 3)]) == data[:2] + data[5:]
    assert mutate(data, [("truncate", 0.5)]) == data[:5]
    assert mutate(b"", [("flip", 0.3, 7), ("delete", 0.1, 2)]) == b""
