"""Fail-closed paths of whole-file jobs: outputs and manifests land as a pair, reruns redo
what changed, destinations are checked before any decoding, and the CLI tells the truth."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from media import write_video

from conftest import require_models
from redact.app.cli import main
from redact.core.policy import Policy
from redact.core.types import Kind, Regions
from redact.jobs.files import redact_video
from redact.media.safeio import OutputBusyError, UsageError, output_lock
from redact.record import manifest as report
from redact.record.manifest import manifest_path

NO_DETECT = ["--detect", "none", "-q"]


def run_cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "redact", *map(str, args)], capture_output=True, text=True,
                          timeout=300, **kwargs)


def listing(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_manifest_failure_leaves_no_output(tmp_path, monkeypatch):
    """The manifest is made before the output is renamed: if making it fails (a full disk,
    a bug), no output stands under the final name without its record."""
    src, dst = tmp_path / "in.mp4", tmp_path / "out" / "clip.mp4"
    write_video(src, frames=4)

    def broken(self):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report.Manifest, "to_json", broken)
    with pytest.raises(OSError, match="No space"):
        redact_video(src, dst, Policy(kinds=()))
    assert listing(tmp_path / "out") == []


def test_output_renamed_after_its_manifest_and_rerun_repairs(tmp_path, monkeypatch):
    """A stop between the two renames leaves a manifest without its output, never the
    reverse; the next run redoes that file instead of refusing it."""
    src, out = tmp_path / "in.mp4", tmp_path / "out"
    write_video(src, frames=4)
    dst = out / "in.mp4"
    real_replace = os.replace

    def stop_before_output(a, b):
        if str(b) == str(dst):
            raise KeyboardInterrupt("killed between the renames")
        return real_replace(a, b)

    monkeypatch.setattr(os, "replace", stop_before_output)
    assert main([str(src), "-o", f"{out}/", *NO_DETECT]) == 130
    monkeypatch.undo()
    assert listing(out) == ["in.mp4.redaction.json"]
    assert main([str(src), "-o", f"{out}/", *NO_DETECT]) == 0
    assert listing(out) == ["in.mp4", "in.mp4.redaction.json"]
    own = report.own_record(dst)
    assert own is not None and own.made_from(report.sha256_file(src))


def test_output_lock_refuses_a_second_writer(tmp_path):
    target = tmp_path / "clip.mp4"
    with output_lock(target):
        with pytest.raises(OutputBusyError, match="another redact run"):
            with output_lock(target):
                pass
        # A second process is refused too (flock is per open file, across processes).
        code = ("import sys; from redact.media.safeio import output_lock, OutputBusyError\n"
                "try:\n    output_lock(sys.argv[1]).__enter__()\nexcept OutputBusyError: sys.exit(3)\n")
        assert subprocess.run([sys.executable, "-c", code, str(target)]).returncode == 3
    with output_lock(target):  # released, and its lock file removed
        pass
    assert listing(tmp_path) == []


def test_busy_output_is_reported_and_exits_1(tmp_path):
    src, out = tmp_path / "in.mp4", tmp_path / "out"
    write_video(src, frames=4)
    with output_lock(out / "in.mp4"):
        result = run_cli(src, "-o", f"{out}/", *NO_DETECT)
    assert result.returncode == 1
    assert "another redact run is writing" in result.stderr and "1 left to another run" in result.stderr
    assert not (out / "in.mp4").exists()


@pytest.mark.parametrize("change", ["crf", "tool_version", "model_hash"])
def test_resume_redoes_outputs_made_with_other_settings(tmp_path, change):
    require_models("blazeface_full_range", "centerface")  # --detect face in the default profile
    src, out = tmp_path / "in.mp4", tmp_path / "out"
    write_video(src, frames=4)
    args = [src, "-o", f"{out}/", "--detect", "face", "-q"]
    assert run_cli(*args).returncode == 0
    again = run_cli(*args)
    assert again.returncode == 0 and "0 redacted, 1 already complete" in again.stderr, again.stderr
    if change == "crf":
        args += ["--crf", "28"]
    else:  # as if the tool or a model had been upgraded since
        path = manifest_path(out / "in.mp4")
        data = json.loads(path.read_text())
        if change == "tool_version":
            data["tool_version"] = "0.0.1"
        else:
            data["models"][0]["sha256"] = "0" * 64
        path.write_text(json.dumps(data))
    redo = run_cli(*args)
    assert redo.returncode == 0 and "1 redacted, 0 already complete" in redo.stderr, redo.stderr


class _PluginDetector:
    """A third-party detector whose model the registry does not know."""

    kinds = (Kind.FACE,)
    models = ("acme-face-v2",)

    def detect(self, frame):
        return Regions.from_boxes(np.array([[2, 2, 10, 10]], np.float32), kind=Kind.FACE)


def test_third_party_model_is_recorded_not_crashing(tmp_path):
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_video(src, frames=3)
    manifest = redact_video(src, dst, Policy(kinds=()), detectors=[_PluginDetector()])
    assert manifest.models == [{"name": "acme-face-v2", "sha256": None, "licence": "unknown"}]
    assert json.loads(manifest_path(dst).read_text())["models"][0]["name"] == "acme-face-v2"
    assert manifest.counts["face"]["frames"] == 3


def _mount_tmpfs(folder, options):
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.decode().strip()}); needs root")


@pytest.mark.parametrize("options, reason", [("ro,size=1m", "read-only"), ("size=64k", "no space left")])
def test_unwritable_destination_fails_before_decoding(tmp_path, options, reason):
    src = tmp_path / "in.mp4"
    write_video(src, frames=300, size=(320, 240))
    dest = tmp_path / "dest"
    _mount_tmpfs(dest, options)
    try:
        result = run_cli(src, "-o", dest / "sub" / "out.mp4", "--detect", "face", "-q")
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert reason in lines[0] and "Traceback" not in result.stderr, result.stderr
        assert len(lines) == 2  # the failure once, then the summary
        assert listing(dest) == []
    finally:
        subprocess.run(["umount", str(dest)])


def test_usage_error_is_one_line(tmp_path):
    src = tmp_path / "in.mp4"
    write_video(src, frames=3)
    result = run_cli(src, "-o", tmp_path / "o.mp4", "--method", "smear")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "usage:" not in result.stderr


def test_blur_warns_once_per_run(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.mp4", "b.mp4"):
        write_video(folder / name, frames=3)
    result = run_cli(folder, "-o", tmp_path / "out", "--method", "blur", *NO_DETECT)
    assert result.returncode == 0
    assert result.stderr.count("re-identifiable") == 1
    assert "re-identifiable" not in run_cli(folder, "-o", tmp_path / "out2", *NO_DETECT).stderr


def test_input_inside_output_tree_is_never_overwritten(tmp_path):
    """`redact X/in -o X --overwrite` once replaced X/in/clip.mp4 (an input) with the
    redaction of X/in/in/clip.mp4."""
    x = tmp_path / "X"
    (x / "in" / "in").mkdir(parents=True)
    write_video(x / "in" / "clip.mp4", frames=3)
    write_video(x / "in" / "in" / "clip.mp4", frames=5)
    before = {p: p.read_bytes() for p in x.rglob("*.mp4")}
    result = run_cli(x / "in", "-o", x, "--overwrite", *NO_DETECT)
    assert result.returncode == 2 and "would replace the input" in result.stderr, result.stderr
    assert {p: p.read_bytes() for p in x.rglob("*.mp4")} == before


def test_failures_print_once(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "broken.mp4").write_bytes(b"\x00" * 100)
    write_video(folder / "ok.mp4", frames=3)
    result = run_cli(folder, "-o", tmp_path / "out", *NO_DETECT)
    assert result.returncode == 1
    assert result.stderr.count("broken.mp4") == 1, result.stderr


def test_redact_file_refuses_unusable_names(tmp_path):
    from redact.jobs.files import redact_file

    src = tmp_path / "in.mp4"
    write_video(src, frames=3)
    with pytest.raises(UsageError, match="end the name in .mp4"):
        redact_file(src, tmp_path / "x.jpg", Policy(kinds=()))


def _children(pid):
    kids = []
    for stat in os.listdir("/proc"):
        if stat.isdigit():
            try:
                fields = open(f"/proc/{stat}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(stat))
    return kids


def _alive(pid):
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_stopping_a_parallel_batch_stops_its_workers(tmp_path, how):
    """SIGTERM: queued files are cancelled and running workers delete their temporaries;
    kill -9 of the parent: the workers notice and exit instead of redacting on."""
    import signal
    import time

    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    for i in range(4):
        write_video(folder / f"c{i}.mp4", frames=400, size=(320, 240), codec="mpeg4")
    proc = subprocess.Popen([sys.executable, "-m", "redact", str(folder), "-o", str(out), "--jobs", "2",
                             *NO_DETECT], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len([p for p in out.glob(".*partial") if p.stat().st_size]) < 2:
        time.sleep(0.05)
    workers = _children(proc.pid)
    assert len(workers) >= 2, "the workers finished before they could be stopped"
    proc.send_signal(getattr(signal, how))
    proc.wait(30)
    gone = time.monotonic() + 15
    while time.monotonic() < gone and any(_alive(w) for w in workers):
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers)
    assert not (out / "c2.mp4").exists() and not (out / "c3.mp4").exists()  # queued: never started
    if how == "SIGTERM":
        assert proc.returncode == 130 and "Traceback" not in proc.stderr.read()
        # The output folder goes too when the run made it and left nothing in it.
        assert not out.exists() or [p.name for p in out.iterdir() if p.name.startswith(".")] == []


def test_stale_cleanup_reads_names_literally(tmp_path):
    """'clip [1].mp4' as a glob matched 'clip 1.mp4': another job's live temporary went."""
    from redact.media.safeio import partial_path, remove_stale_partials

    mine, theirs = tmp_path / "clip [1].mp4", tmp_path / "clip 1.mp4"
    for target in (mine, theirs):
        partial_path(target).touch()
        partial_path(manifest_path(target)).touch()
    remove_stale_partials(mine)
    assert sorted(p.name.split(".")[1] for p in tmp_path.iterdir()) == ["clip 1", "clip 1"]


def test_a_worker_killed_mid_file_fails_that_file_only(tmp_path):
    import signal
    import time

    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    for i in range(3):
        write_video(folder / f"c{i}.mp4", frames=400 if i == 0 else 5, size=(320, 240), codec="mpeg4")
    proc = subprocess.Popen([sys.executable, "-m", "redact", str(folder), "-o", str(out), "--jobs", "2",
                             *NO_DETECT], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(p.stat().st_size for p in out.glob(".c0.mp4.*partial")):
        time.sleep(0.05)
    busy = [w for w in _children(proc.pid) if any(os.path.basename(os.readlink(f"/proc/{w}/fd/{fd}")).startswith(".c0")
                                                  for fd in os.listdir(f"/proc/{w}/fd")
                                                  if os.path.islink(f"/proc/{w}/fd/{fd}"))]
    assert busy, "could not find the worker writing c0"
    os.kill(busy[0], signal.SIGKILL)
    err = proc.communicate(timeout=120)[1]
    assert proc.returncode == 1 and "Traceback" not in err, err
    assert "worker process died" in err and "c0.mp4" in err
    assert not (out / "c0.mp4").exists()


def test_kept_audio_stays_in_step_with_the_video(tmp_path):
    """MPEG-TS clips start at 1.4 s; the video was moved to 0 and the audio was not."""
    import av

    src, dst = tmp_path / "in.ts", tmp_path / "out.mp4"
    write_video(src, frames=30, audio=True, fmt="mpegts")

    def starts(path):
        """Audio's first packet minus video's first shown frame, in seconds."""
        with av.open(str(path)) as c:
            video = next(c.decode(c.streams.video[0]))
            video = float(video.pts * c.streams.video[0].time_base)
        with av.open(str(path)) as c:
            audio = next(p for p in c.demux(c.streams.audio[0]) if p.pts is not None)
            return float(audio.pts * audio.stream.time_base) - video

    assert main([str(src), "-o", str(dst), "--keep-audio", *NO_DETECT]) == 0
    assert abs(starts(dst) - starts(src)) < 0.05


def test_a_motion_photo_jpeg_is_not_taken_for_truncated(tmp_path):
    import cv2

    src = tmp_path / "motion.jpg"
    ok, jpeg = cv2.imencode(".jpg", np.full((40, 60, 3), 90, np.uint8))
    src.write_bytes(jpeg.tobytes() + b"\x00\x00\x00\x18ftypmp42" + bytes(8000))  # the phone's video after it
    assert main([str(src), "-o", str(tmp_path / "out.jpg"), *NO_DETECT]) == 0
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(jpeg.tobytes()[: len(jpeg) // 2])
    assert main([str(cut), "-o", str(tmp_path / "cut-out.jpg"), *NO_DETECT]) == 1


def test_memory_estimate_refuses_what_the_device_cannot_hold():
    from redact.jobs.memory import check_memory

    with pytest.raises(MemoryError, match=r"7680x4320 .* needs about 6\.\d GiB .* 4\.0 GiB is available; lower "
                                          r"--lookahead"):
        check_memory(7680, 4320, 30 + 16, 30, available=4 << 30)
    check_memory(7680, 4320, 30 + 16, 30, available=64 << 30)  # passes
    check_memory(640, 360, 30 + 16, 30, available=1 << 30)


def test_an_8k_clip_too_big_for_memory_fails_on_one_line_before_decoding(tmp_path):
    """An 8K clip with a 10 s look-ahead would hold ~300 frames of 100 MB: refused with the
    fix, nothing written, where the kernel would otherwise kill the run without a word."""
    from redact.jobs.memory import available_bytes, needed_bytes

    need = needed_bytes(7680, 4320, 300 + 16)
    if available_bytes() is None or available_bytes() > need:
        pytest.skip(f"this machine has {available_bytes()} bytes available, more than the {need} the run needs")
    src = tmp_path / "8k.mp4"
    write_video(src, frames=2, size=(7680, 4320))
    result = run_cli(src, "-o", tmp_path / "out.mp4", "--lookahead", "10", *NO_DETECT)
    assert result.returncode == 1 and "GiB of memory" in result.stderr and "--lookahead" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out.mp4").exists()
