"""The command line as its users meet it (issue 26): pipes, help, one-line errors, JSON,
progress and summaries, default output names. Real processes, real files, real terminals."""
import subprocess
import sys

import pytest
from media import write_video

NO_DETECT = ["--detect", "none", "-q"]


def run_cli(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "redact", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


@pytest.fixture
def shared_clip(tmp_path, config):
    """A redacted, signed clip and its manifest."""
    clip, out = tmp_path / "in.mp4", tmp_path / "shared.mp4"
    write_video(clip, frames=6)
    assert run_cli(clip, "-o", out, *NO_DETECT).returncode == 0
    return out


@pytest.mark.parametrize("changed, code", [(False, 0), (True, 1)])
@pytest.mark.parametrize("streams", ["", "2>&1"])
def test_a_reader_that_leaves_keeps_the_verdict(shared_clip, changed, code, streams):
    """`redact verify clip | head -3` when head is quick: no traceback, and under pipefail the
    exit status is still the verdict (not 141, not 1 for a clip that verified)."""
    if changed:
        with open(shared_clip, "ab") as f:
            f.write(b"x")
    command = (f"set -o pipefail; {sys.executable} -m redact verify {shared_clip} {streams} "
               "| (exec 0<&-; sleep 1)")
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


@pytest.mark.parametrize("args, code, message", [
    (["--clip", "missing.mp4"], 2, "--clip missing.mp4: no such file"),
    (["--clip", "notes.mp4"], 1, "notes.mp4: cannot open as video"),
    (["--sizes", "720p", "--seconds", "0.1", "--models-dir", "empty"], 2, "redact models fetch demo_astronaut"),
    (["--profiles", "fastest"], 2, "invalid choice: 'fastest'"),
])
def test_bench_errors_are_one_line(tmp_path, args, code, message):
    (tmp_path / "notes.mp4").write_text("not a video")
    done = run_cli("bench", *args, "--no-deface", "--no-startup", cwd=tmp_path)
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("redact bench: "), done.stderr


def test_top_level_usage_names_every_command():
    done = run_cli("--help")
    usage = done.stdout.split("\n\n")[0]
    for command in ("models", "demo", "verify", "pick", "review", "log", "key", "bench"):
        assert f"redact {command}" in usage, usage


@pytest.mark.parametrize("command", [[], ["pick", "CLIP", "--at", "0"]])
def test_profile_choices_are_plain_values(tmp_path, command):
    """`--help` shows {fast,balanced,thorough,pi}, and a wrong value is answered with them."""
    command = [str(tmp_path / "in.mp4") if a == "CLIP" else a for a in command]
    shown = run_cli(*command[:1], "--help").stdout
    assert "{fast,balanced,thorough,pi}" in shown and "Profile." not in shown
    write_video(tmp_path / "in.mp4", frames=2)
    wrong = run_cli(*(command or [tmp_path / "in.mp4", "-o", tmp_path / "out.mp4"]), "--profile", "quick")
    assert wrong.returncode == 2
    assert "invalid choice 'quick'; choose from fast, balanced, thorough, pi" in wrong.stderr, wrong.stderr
