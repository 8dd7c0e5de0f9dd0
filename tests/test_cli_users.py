"""The command line as its users meet it (issue 26): pipes, help, one-line errors, JSON,
progress and summaries, default output names. Real processes, real files, real terminals."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
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


def run_on_a_terminal(args, cwd, timeout=120):
    """Run redact with stderr on a real pseudo-terminal; returns (exit status, what it drew)."""
    import fcntl
    import select
    import struct
    import termios

    leader, follower = os.openpty()
    # 40 rows of 120 columns: a fresh pseudo-terminal is 0 x 0, where tqdm draws empty bars.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "redact", *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=follower, cwd=cwd)
    os.close(follower)
    drawn = b""
    while True:
        ready, _, _ = select.select([leader], [], [], timeout)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        drawn += chunk
    os.close(leader)
    return proc.wait(timeout), drawn.decode(errors="replace")


def test_the_bar_on_a_terminal_has_a_total_and_time_left(tmp_path):
    write_video(tmp_path / "clip.mp4", frames=45, size=(160, 96))
    code, drawn = run_on_a_terminal(["clip.mp4", "-o", "out.mp4", "--detect", "none"], cwd=tmp_path)
    assert code == 0, drawn
    assert "/45 [" in drawn and "<" in drawn, drawn  # "12/45 [00:01<00:02, ...]": done of total, time left
    assert "clip.mp4 -> out.mp4: 45 frames" in drawn, drawn


def test_a_folder_says_each_file_as_it_finishes_and_where_the_outputs_are(tmp_path, config):
    folder = tmp_path / "Doorbell"
    (folder / "day1").mkdir(parents=True)
    write_video(folder / "day1" / "a.mp4", frames=4)
    write_video(folder / "b.mp4", frames=3)
    done = run_cli(folder, "-o", tmp_path / "ToShare", "--detect", "none", "--zone", "0,0,0.5,0.5")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert any(f"day1/a.mp4 -> {tmp_path / 'ToShare' / 'day1' / 'a.mp4'}: 4 frames in" in line for line in lines)
    assert any("b.mp4: 3 frames in" in line and "found nothing to obscure" in line for line in lines), lines
    summary = lines[-1]
    assert summary.startswith("redact: 2 redacted") and f"outputs in {tmp_path / 'ToShare'}" in summary
    assert "; took " in summary and summary.endswith(" s"), summary
    # A rerun names the files it resumes past; -q keeps only the summary.
    again = run_cli(folder, "-o", tmp_path / "ToShare", "--detect", "none", "--zone", "0,0,0.5,0.5")
    assert f"already complete (an earlier run made it with these settings): {tmp_path / 'ToShare' / 'b.mp4'}" \
        in again.stderr
    quiet = run_cli(folder, "-o", tmp_path / "ToShare", "--detect", "none", "--zone", "0,0,0.5,0.5", "-q")
    assert quiet.stderr.splitlines() == [quiet.stderr.splitlines()[-1]], quiet.stderr
    verbose = run_cli(folder, "-o", tmp_path / "ToShare", "--detect", "none", "--zone", "0,0,0.5,0.5", "-v")
    assert f"{folder / 'b.mp4'} -> {tmp_path / 'ToShare' / 'b.mp4'}\n" in verbose.stderr


def test_json_summary_verify_and_log(tmp_path, config):
    from conftest import require_models

    require_models("blazeface_full_range", "blazeface_back", "centerface")
    skimage = pytest.importorskip("skimage.data")
    import cv2

    face = np.zeros((240, 320, 3), np.uint8)
    face[20:220, 60:260] = cv2.resize(skimage.astronaut(), (200, 200))
    cv2.imwrite(str(tmp_path / "photo.png"), cv2.cvtColor(face, cv2.COLOR_RGB2BGR))
    done = run_cli(tmp_path / "photo.png", "-o", tmp_path / "shared.png", "--detect", "face", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["redacted"] == 1 and summary["failed"] == 0 and summary["seconds"] > 0
    (file,) = summary["files"]
    assert file["status"] == "redacted" and file["output"] == str(tmp_path / "shared.png")
    assert file["found"].get("face", 0) >= 1, file
    checked = run_cli("verify", tmp_path / "shared.png", "--json")
    assert checked.returncode == 0 and json.loads(checked.stdout)["ok"] is True
    (tmp_path / "shared.png").write_bytes((tmp_path / "shared.png").read_bytes() + b"x")
    checked = run_cli("verify", tmp_path / "shared.png", "--json")
    result = json.loads(checked.stdout)
    assert checked.returncode == 1 and result["ok"] is False and "does not match" in result["problems"][0]
    shares = run_cli("log", "--json")
    assert shares.returncode == 0 and json.loads(shares.stdout) == {"entries": [], "problems": [],
                                                                    "unconfirmed": []}


@pytest.mark.parametrize("name, made", [("clip.mov", "clip_redacted.mp4"), ("photo.png", "photo_redacted.png")])
def test_without_o_the_output_lands_beside_the_input(tmp_path, name, made):
    import cv2

    if name.endswith(".png"):
        cv2.imwrite(str(tmp_path / name), np.full((20, 30, 3), 90, np.uint8))
    else:
        write_video(tmp_path / name, frames=3, fmt="mov")
    done = run_cli(name, *NO_DETECT, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / made).is_file() and (tmp_path / (made + ".redaction.json")).is_file()
    again = run_cli(name, *NO_DETECT, cwd=tmp_path)
    assert again.returncode == 0 and "1 already complete" in again.stderr
    # A file of that name redact did not make is never replaced without --overwrite.
    (tmp_path / made).write_bytes(b"mine")
    (tmp_path / (made + ".redaction.json")).unlink()
    refused = run_cli(name, *NO_DETECT, cwd=tmp_path)
    assert refused.returncode != 0 and "--overwrite" in refused.stderr
    assert (tmp_path / made).read_bytes() == b"mine"
    assert run_cli(name, *NO_DETECT, "--overwrite", cwd=tmp_path).returncode == 0


def test_without_o_a_folder_goes_to_a_sibling_and_several_inputs_need_o(tmp_path):
    (tmp_path / "Doorbell").mkdir()
    write_video(tmp_path / "Doorbell" / "a.mp4", frames=2)
    done = run_cli("Doorbell", *NO_DETECT, cwd=tmp_path)
    assert done.returncode == 0 and (tmp_path / "Doorbell_redacted" / "a.mp4").is_file(), done.stderr
    here = run_cli(".", *NO_DETECT, cwd=tmp_path / "Doorbell")  # the same folder, named from inside it
    assert here.returncode == 0 and "0 redacted, 1 already complete" in here.stderr, here.stderr
    several = run_cli("Doorbell", "Doorbell/a.mp4", *NO_DETECT, cwd=tmp_path)
    assert several.returncode == 2 and "give -o FOLDER" in several.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_offers_commands_files_options_and_choices(tmp_path):
    script = subprocess.run([sys.executable, "-m", "redact", "completion", "bash"], capture_output=True, text=True,
                            check=True).stdout
    (tmp_path / "redact.bash").write_text(script)
    (tmp_path / "doorbell.mp4").write_bytes(b"")

    def complete(*words):
        # What bash offers for the last word, through the script's own completion function.
        line = " ".join(words)
        program = (f'source {tmp_path / "redact.bash"}; cd {tmp_path}; COMP_WORDS=({line}); '
                   f'COMP_CWORD={len(words) - 1}; COMP_LINE="{line}"; COMP_POINT=${{#COMP_LINE}}; '
                   f'_shtab_redact redact "{words[-1]}" "{words[-2]}"; printf "%s\\n" "${{COMPREPLY[@]}}"')
        done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return set(done.stdout.split())

    assert complete("redact", "ver") == {"verify"}
    assert complete("redact", "door") == {"doorbell.mp4"}
    assert complete("redact", "doorbell.mp4", "--win") == {"--window"}
    assert complete("redact", "verify", "--j") == {"--json"}
    assert complete("redact", "models", "f") == {"fetch"}
    assert {"fast", "balanced", "thorough", "pi"} <= complete("redact", "bench", "--profiles", "")
    assert complete("redact", "doorbell.mp4", "--profile", "ba") == {"balanced"}
    assert complete("redact", "pick", "--profile", "th") == {"thorough"}
