"""The record (incident text, manifest, share log, device key) under a hostile or careless
user, through real `python -m redact` processes with a config folder of their own
(issue 21: items 5, 6, 9, 11 and two of 13)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from media import write_video

from redact.core.incident import Incident
from redact.core.policy import Policy
from redact.jobs.files import redact_video
from redact.media.safeio import sha256_file
from redact.record.manifest import manifest_path
from redact.record.sharelog import LOG_FILE, read_shares
from redact.record.signing import KEY_FILE, PUBLIC_FILE

NO_DETECT = ["--detect", "none", "-q"]


def run(*args, config: Path, timeout=120):
    env = dict(os.environ, REDACT_CONFIG_DIR=str(config))
    return subprocess.run([sys.executable, "-m", "redact", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout, check=False)


def one_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def clip(tmp_path):
    path = tmp_path / "doorbell.mp4"
    write_video(path, frames=24)
    return path


# ----------------------------------------------------------------- item 5: text that lies

@pytest.mark.parametrize("flag, text, code", [
    ("--recipient", "\u202eDP nwotynA", "U+202E"),
    ("--request", "ref\x7f118", "U+007F"),
    ("--purpose", "theft\x85", "U+0085"),
    ("--recipient", "Anytown\u2028PD", "U+2028"),
])
def test_lying_flag_text_is_a_usage_error(tmp_path, clip, flag, text, code):
    out = tmp_path / "out.mp4"
    result = run(clip, "-o", out, flag, text, *NO_DETECT, config=tmp_path / "config")
    assert result.returncode == 2
    line = one_line(result)
    assert code in line and flag.lstrip("-") in line, line
    assert text not in line  # named, never echoed
    assert not out.exists() and not (tmp_path / "config" / LOG_FILE).exists()


def test_lone_surrogate_in_incident_file_is_a_usage_error(tmp_path, clip):
    incident = tmp_path / "incident.json"
    incident.write_text('{"request": "claim \\ud800 7"}')  # valid JSON, not valid text
    result = run(clip, "-o", tmp_path / "out.mp4", "--incident", incident, *NO_DETECT, config=tmp_path / "config")
    assert result.returncode == 2 and "U+D800" in one_line(result)


def test_log_line_written_before_the_check_neither_crashes_nor_lies(tmp_path):
    config = tmp_path / "config"
    config.mkdir(mode=0o700)
    entry = {"time": "2026-11-01T10:00:00+00:00", "request": "claim \ud800", "recipient": "\u202eDP nwotynA",
             "purpose": "\x1b[2Jtheft", "output_sha256": "ab" * 32, "fingerprint": "ed25519:ab12 cd34 ef56 7890"}
    path = config / LOG_FILE
    path.write_text(json.dumps(entry) + "\n")  # ensure_ascii: what an older redact wrote
    path.chmod(0o600)
    result = run("log", config=config)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "\\u202eDP nwotynA" in result.stdout and "claim \\ud800" in result.stdout
    assert "\u202e" not in result.stdout and "\x1b" not in result.stdout


# ---------------------------------------------- item 6: the manifest does not link clips

def _leaves(value, prefix=""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{prefix}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, f"{prefix}[{i}]")
    else:
        yield prefix, value


def test_two_windows_of_one_recording_cannot_be_linked_but_the_owner_can_prove_both(tmp_path, clip):
    config = tmp_path / "config"
    a, b = tmp_path / "to-insurer.mp4", tmp_path / "to-police.mp4"
    for out, window, who in ((a, "0.0,0.3", "insurer"), (b, "0.4,0.6", "Anytown PD")):
        result = run(clip, "-o", out, "--window", window, "--recipient", who, *NO_DETECT, config=config)
        assert result.returncode == 0, result.stderr
    first, second = (json.loads(manifest_path(p).read_text()) for p in (a, b))
    # What both recipients see alike is only what every clip of this device and settings
    # shares (tool, models, policy, frame rate, the signing key); nothing of the recording.
    same = {k for k, v in _leaves(first) if dict(_leaves(second)).get(k) == v}
    device_and_settings = (".policy", ".models", ".tool_version", ".schema", ".encoder", ".signature.algorithm",
                           ".signature.public_key", ".signature.fingerprint", ".timing", ".side_channels", ".kind",
                           ".counts", ".flagged_frames", ".tracks", ".incident.")
    recording = sorted(k for k in same - {".frames_in"} if not k.startswith(device_and_settings))
    assert recording == [], recording
    assert first["input_hmac"] != second["input_hmac"]
    assert first["frames_in"] is None and "frames_cut_after" not in first["incident"]["window"]
    assert sha256_file(clip) not in manifest_path(a).read_text() + manifest_path(b).read_text()

    # The owner, on the device that signed them, shows both came from this recording.
    for out in (a, b):
        result = run("verify", out, "--original", clip, config=config)
        assert result.returncode == 0 and "made from" in result.stdout, result.stderr
    other = tmp_path / "other.mp4"
    write_video(other, frames=24, size=(96, 66))
    result = run("verify", a, "--original", other, config=config)
    assert result.returncode == 1 and "is not the recording this clip was made from" in result.stderr
    # Anyone else holding the recording cannot: no key, or another one.
    result = run("verify", a, "--original", clip, config=tmp_path / "stranger")
    assert result.returncode == 2 and "no device key" in one_line(result)
    assert run("key", config=tmp_path / "stranger").returncode == 0
    result = run("verify", a, "--original", clip, config=tmp_path / "stranger")
    assert result.returncode == 1 and "only the signing device can check the original" in result.stderr


def test_resume_trusts_only_outputs_its_own_key_tagged(tmp_path, clip):
    out = tmp_path / "out.mp4"
    assert run(clip, "-o", out, *NO_DETECT, config=tmp_path / "a").returncode == 0
    again = run(clip, "-o", out, *NO_DETECT, config=tmp_path / "a")
    assert again.returncode == 0 and "0 redacted, 1 already complete" in again.stderr
    # Another device cannot tell which recording the output came from, so it redoes it.
    other = run(clip, "-o", out, *NO_DETECT, config=tmp_path / "b")
    assert other.returncode == 0 and "1 redacted, 0 already complete" in other.stderr


# ------------------------------------ item 9: a share is logged only when the clip is there

def test_share_is_not_logged_when_the_clip_could_not_be_put_in_place(tmp_path, clip, config):
    dst = tmp_path / "shared.mp4"
    policy = Policy(kinds=(), incident=Incident(recipient="Anytown PD"))

    def a_folder_takes_the_name(done):
        # Another program creates a folder under the output's name while it is encoded:
        # the final rename fails (EISDIR, for root too).
        (dst / "x").mkdir(parents=True, exist_ok=True)

    with pytest.raises(IsADirectoryError):
        redact_video(clip, dst, policy, progress=a_folder_takes_the_name)
    assert dst.is_dir()
    log = read_shares()
    assert log.entries == () and log.unconfirmed == () and log.problems == ()
    assert [json.loads(line)["state"] for line in (config / LOG_FILE).read_text().splitlines()] == [
        "pending", "withdrawn"]

    ok = tmp_path / "ok.mp4"
    manifest = redact_video(clip, ok, policy)
    log = read_shares()
    assert [e.output_sha256 for e in log.entries] == [sha256_file(ok)] == [manifest.output_sha256]
    assert log.entries[0].state == "delivered"


def test_share_cut_off_before_confirmation_reads_as_unconfirmed(tmp_path, config):
    line = {"time": "2026-11-01T10:00:00+00:00", "request": "", "recipient": "insurer", "purpose": "",
            "output_sha256": "ab" * 32, "fingerprint": "ed25519:ab12 cd34 ef56 7890", "share_id": "0123456789abcdef",
            "state": "pending"}
    config.mkdir(mode=0o700)
    (config / LOG_FILE).write_text(json.dumps(line) + "\n")
    (config / LOG_FILE).chmod(0o600)
    log = read_shares()
    assert log.entries == () and [e.recipient for e in log.unconfirmed] == ["insurer"]
    result = run("log", config=config)
    assert result.returncode == 0 and "UNCONFIRMED" in result.stdout


# ----------------------------------------- item 11 and 13: one line, never a traceback

@dataclass
class Row:
    id: str
    make: object  # (tmp_path, config) -> argv
    exit: int
    error: str


def _key_file(config: Path, data: bytes | None = None, mode=0o600) -> Path:
    config.mkdir(mode=0o700, exist_ok=True)
    path = config / KEY_FILE
    if data is not None:
        path.write_bytes(data)
        path.chmod(mode)
    return path


def _good_pem() -> bytes:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption())


def _rsa_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _key_symlink(tmp, config, target_exists):
    target = tmp / "elsewhere.pem"
    if target_exists:
        target.write_bytes(_good_pem())
        target.chmod(0o600)
    _key_file(config).symlink_to(target)
    return ["key"]


def _key_other_owner(tmp, config):
    os.chown(_key_file(config, _good_pem()), 12345, -1)
    return ["key"]


def _deep(tmp, _config):
    path = tmp / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    return path


def _incident_args(tmp, incident):
    (tmp / "in.mp4").write_bytes(b"not read: the incident is refused first")
    return [tmp / "in.mp4", "-o", tmp / "out.mp4", "--incident", incident, *NO_DETECT]


def _verify_args(tmp, manifest):
    clip = tmp / "clip.mp4"
    clip.write_bytes(b"clip")
    return ["verify", clip, "--manifest", manifest]


def _duplicate_incident(tmp, _config):
    path = tmp / "incident.json"
    path.write_text('{"units": "fraction", "recipient": "insurer", "recipient": "Anytown PD"}')
    return _incident_args(tmp, path)


def _duplicate_manifest(tmp, _config):
    path = tmp / "m.json"
    path.write_text('{"schema": "redact.manifest/1", "output_sha256": "aa", "output_sha256": "bb"}')
    return _verify_args(tmp, path)


def _fifo(tmp, _config):
    """A named pipe nobody writes to: opening it to read waited for a writer forever."""
    os.mkfifo(tmp / "pipe.json")
    return tmp / "pipe.json"


def _log_folder(tmp, config):
    (config / LOG_FILE).mkdir(parents=True)
    return ["log"]


ROWS = [
    Row("key mode 0644", lambda t, c: (_key_file(c, _good_pem(), 0o644), ["key"])[1], 2, "mode 0644"),
    Row("key symlink", lambda t, c: _key_symlink(t, c, True), 2, "must be a regular file, not a link"),
    Row("key dangling symlink", lambda t, c: _key_symlink(t, c, False), 2, "must be a regular file, not a link"),
    Row("key corrupt", lambda t, c: (_key_file(c, b"-----BEGIN PRIVATE KEY-----\nAAAA\n"), ["key"])[1], 2,
        "not a readable unencrypted PEM"),
    Row("key empty", lambda t, c: (_key_file(c, b""), ["key"])[1], 2, "not a readable unencrypted PEM"),
    Row("key folder", lambda t, c: (_key_file(c).mkdir(), ["key"])[1], 2, "not a regular file"),
    Row("key other owner", _key_other_owner, 2, "belongs to user id 12345"),
    Row("key RSA", lambda t, c: (_key_file(c, _rsa_pem()), ["key"])[1], 2, "expected Ed25519"),
    Row("config folder is a file", lambda t, c: (c.write_text("x"), ["key"])[1], 2, "cannot be made"),
    Row("log is a folder", _log_folder, 2, "cannot be read"),
    Row("incident 100000 deep", lambda t, c: _incident_args(t, _deep(t, c)), 2, "nested too deeply"),
    Row("incident /dev/zero", lambda t, c: _incident_args(t, "/dev/zero"), 2, "larger than 1 MiB"),
    Row("incident duplicate key", _duplicate_incident, 2, "key 'recipient' appears twice"),
    Row("manifest 100000 deep", lambda t, c: _verify_args(t, _deep(t, c)), 1, "nested too deeply"),
    Row("manifest /dev/zero", lambda t, c: _verify_args(t, "/dev/zero"), 1, "larger than 64 MiB"),
    Row("manifest duplicate key", _duplicate_manifest, 1, "key 'output_sha256' appears twice"),
    Row("incident pipe nobody writes to", lambda t, c: _incident_args(t, _fifo(t, c)), 2, "a pipe nothing was written"),
    Row("manifest pipe nobody writes to", lambda t, c: _verify_args(t, _fifo(t, c)), 1, "a pipe nothing was written"),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_bad_record_input_is_one_line(tmp_path, row):
    config = tmp_path / "config"
    args = row.make(tmp_path, config)
    result = run(*args, config=config)
    assert result.returncode == row.exit, result.stderr
    line = one_line(result)
    assert row.error in line, line
    if row.exit == 2:
        assert "NOT verified" not in result.stdout and not (tmp_path / "out.mp4").exists()


def test_closed_pipe_is_not_a_traceback(tmp_path):
    env = dict(os.environ, REDACT_CONFIG_DIR=str(tmp_path / "config"))
    # The reader has gone before redact writes (`redact key | head -1` when head is quick).
    result = subprocess.run(f"{sys.executable} -m redact key | (exec 0<&-; sleep 2)", shell=True, env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr


# ------------------------------------- item 13: a lost device key is not silently replaced

def test_lost_device_key_is_not_silently_replaced(tmp_path, clip):
    config = tmp_path / "config"
    made = run("key", config=config)
    assert made.returncode == 0 and "first use" in made.stderr
    old = made.stdout.split()[1:5]
    (config / KEY_FILE).unlink()  # lost: a wiped card, a bad restore, a stray rm

    result = run("key", config=config)
    assert result.returncode == 2 and "is missing, but this device had key" in one_line(result)
    result = run(clip, "-o", tmp_path / "out.mp4", *NO_DETECT, config=config)
    assert result.returncode == 1 and "redact key --new" in result.stderr
    assert not (config / KEY_FILE).exists() and not (tmp_path / "out.mp4").exists()

    # Only the share log remembers the key: still refused.
    (config / PUBLIC_FILE).unlink()
    entry = {"time": "2026-11-01T10:00:00+00:00", "request": "", "recipient": "insurer", "purpose": "",
             "output_sha256": "ab" * 32, "fingerprint": "ed25519:" + " ".join(old)}
    (config / LOG_FILE).write_text(json.dumps(entry) + "\n")
    (config / LOG_FILE).chmod(0o600)
    result = run("key", config=config)
    assert result.returncode == 2 and " ".join(old) in one_line(result)

    new = run("key", "--new", config=config)
    assert new.returncode == 0, new.stderr
    assert "made a NEW device key" in new.stderr and f"replacing ed25519:{' '.join(old)}" in new.stderr
    assert "will NOT verify" in new.stderr and new.stdout.split()[1:5] != old
    again = run("key", "--new", config=config)
    assert again.returncode == 2 and "never replaced" in one_line(again)
    assert run(clip, "-o", tmp_path / "out.mp4", *NO_DETECT, config=config).returncode == 0
