"""The device key and manifest signatures: real Ed25519 keys, real files in a temporary config folder."""
import json
import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from redact.record.manifest import Manifest
from redact.record.signing import (
    KEY_FILE,
    PUBLIC_FILE,
    KeyFileError,
    SignatureError,
    config_dir,
    device_key,
    expected_key,
    export_public,
    fingerprint,
    public_key_text,
    read_public,
    sign_manifest,
    verify_manifest,
)


@pytest.fixture
def manifest():
    m = Manifest(kind="video", tool_version="0.1.0", policy={"kinds": ["face", "plate"]}, frames_in=60,
                 frames_out=60, output_sha256="ab" * 32,
                 counts={"face": {"detections": 70, "tracks": 3, "frames": 57}},
                 flagged_frames=[{"frame": 4, "reason": "detector failed"}])
    return json.loads(m.to_json())


def _raw(key):
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_key_created_once_owner_only_and_reused(config):
    old = os.umask(0)  # even a permissive umask must not widen the key file
    try:
        first = device_key()
    finally:
        os.umask(old)
    path = config / KEY_FILE
    assert _mode(path) == 0o600
    assert _mode(config) == 0o700
    # No temporary left behind; the public half is kept as the record that this key existed.
    assert sorted(p.name for p in config.iterdir()) == [KEY_FILE, PUBLIC_FILE]
    before = path.read_bytes()
    second = device_key()
    assert _raw(second) == _raw(first)
    assert path.read_bytes() == before


def test_explicit_config_dir_wins(config, tmp_path):
    other = tmp_path / "elsewhere"
    key = device_key(other)
    assert (other / KEY_FILE).is_file() and not config.exists()
    assert _raw(device_key(other)) == _raw(key)


def test_config_dir_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("REDACT_CONFIG_DIR", str(tmp_path / "a"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_dir() == tmp_path / "a"
    assert config_dir(tmp_path / "b") == tmp_path / "b"
    monkeypatch.delenv("REDACT_CONFIG_DIR")
    assert config_dir() == tmp_path / "xdg" / "redact"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config_dir() == tmp_path / "home" / ".config" / "redact"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_key_readable_by_others_refused(config, mode):
    device_key()
    path = config / KEY_FILE
    path.chmod(mode)
    with pytest.raises(KeyFileError, match="chmod 600"):
        device_key()


def _write_key_file(config, data: bytes):
    config.mkdir(parents=True, exist_ok=True)
    path = config / KEY_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return path


def test_invalid_key_file_refused(config):
    _write_key_file(config, b"not a key\n")
    with pytest.raises(KeyFileError, match="not a readable"):
        device_key()


def test_other_key_type_refused(config):
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    _write_key_file(config, pem)
    with pytest.raises(KeyFileError, match="expected Ed25519"):
        device_key()


def test_key_file_symlink_refused(config, tmp_path):
    device_key(tmp_path / "real")
    config.mkdir()
    (config / KEY_FILE).symlink_to(tmp_path / "real" / KEY_FILE)
    with pytest.raises(KeyFileError, match="not a link"):
        device_key()


def test_public_text_and_fingerprint_shape(config):
    key = device_key()
    text = public_key_text(key)
    assert len(text) == 44 and text == public_key_text(key.public_key())
    fp = fingerprint(key)
    assert fp.startswith("ed25519:") and len(fp.split(":")[1].split()) == 4
    assert fp == fingerprint(key.public_key())
    assert fingerprint(Ed25519PrivateKey.generate()) != fp


def test_sign_round_trip(config, manifest, tmp_path):
    key = device_key()
    signed = sign_manifest(manifest, key)
    assert "signature" not in manifest  # the caller's dict is not changed
    block = signed["signature"]
    assert block["algorithm"] == "ed25519"
    assert block["public_key"] == public_key_text(key)
    assert block["fingerprint"] == fingerprint(key)
    assert {k: v for k, v in signed.items() if k != "signature"} == manifest
    # Re-indenting the file (as the manifest writer does) does not break it.
    reread = json.loads(json.dumps(signed, indent=2, sort_keys=True))
    exported = export_public(tmp_path / "device.pub")
    fp = fingerprint(key)
    for expected in (None, key, key.public_key(), public_key_text(key), fp, fp.replace(" ", ""),
                     fp.upper(), exported, str(exported)):
        assert verify_manifest(reread, expected) == fp


def test_resigning_replaces_the_block(config, manifest):
    key, other = device_key(), Ed25519PrivateKey.generate()
    twice = sign_manifest(sign_manifest(manifest, other), key)
    assert verify_manifest(twice, fingerprint(key)) == fingerprint(key)


@pytest.mark.parametrize("edit", [
    lambda d: d.update(frames_out=59),
    lambda d: d["counts"]["face"].update(frames=60),
    lambda d: d["flagged_frames"].clear(),
    lambda d: d.update(extra="added"),
    lambda d: d.pop("tracks"),
    lambda d: d.update(output_sha256="cd" * 32),
], ids=["field", "nested", "list", "added", "removed", "hash"])
def test_changed_manifest_detected(config, manifest, edit):
    signed = json.loads(json.dumps(sign_manifest(manifest, device_key())))
    edit(signed)
    with pytest.raises(SignatureError, match="changed after it was signed"):
        verify_manifest(signed)


def test_wrong_expected_key(config, manifest, tmp_path):
    signed = sign_manifest(manifest, device_key())
    stranger = Ed25519PrivateKey.generate()
    for expected in (stranger.public_key(), public_key_text(stranger), fingerprint(stranger),
                     export_public(tmp_path / "stranger.pub", stranger)):
        with pytest.raises(SignatureError, match="not by the expected key"):
            verify_manifest(signed, expected)


def test_resigned_by_someone_else_only_caught_with_expected_key(config, manifest):
    key = device_key()
    forged = dict(sign_manifest(manifest, key), frames_out=1)
    forged = sign_manifest(forged, Ed25519PrivateKey.generate())
    verify_manifest(forged)  # holds: some key signed it
    with pytest.raises(SignatureError, match="not by the expected key"):
        verify_manifest(forged, fingerprint(key))


def test_missing_signature(manifest):
    with pytest.raises(SignatureError, match="not signed"):
        verify_manifest(manifest)


@pytest.mark.parametrize("field, value, message", [
    ("algorithm", "rsa", "not supported"),
    ("public_key", "AAAA", "no valid public_key"),
    ("public_key", 7, "no valid public_key"),
    ("value", "AAAA", "malformed"),
    ("value", "not base64!", "malformed"),
    ("fingerprint", "ed25519:0000 0000 0000 0000", "block was edited"),
])
def test_malformed_signature_block(config, manifest, field, value, message):
    signed = sign_manifest(manifest, device_key())
    signed["signature"][field] = value
    with pytest.raises(SignatureError, match=message):
        verify_manifest(signed)


def test_signature_block_not_an_object(manifest):
    with pytest.raises(SignatureError, match="malformed"):
        verify_manifest(dict(manifest, signature="x"))


@pytest.mark.parametrize("spec", ["ed25519:abcd", "nonsense", "/no/such/file.pub", 42])
def test_unusable_expected_key(spec, manifest, config):
    signed = sign_manifest(manifest, device_key())
    with pytest.raises(KeyFileError):
        verify_manifest(signed, spec)


def test_public_key_files(config, tmp_path):
    key = device_key()
    pem = export_public(tmp_path / "device.pub")
    assert b"BEGIN PUBLIC KEY" in pem.read_bytes()
    assert public_key_text(read_public(pem)) == public_key_text(key)
    line = tmp_path / "device.txt"
    line.write_text(public_key_text(key) + "\n")
    assert public_key_text(read_public(line)) == public_key_text(key)
    again = export_public(tmp_path / "again.pub", key.public_key())
    assert public_key_text(read_public(again)) == public_key_text(key)
    bad = tmp_path / "bad.pub"
    bad.write_text("hello")
    with pytest.raises(KeyFileError, match="no Ed25519 public key"):
        read_public(bad)
    with pytest.raises(KeyFileError, match="cannot be read"):
        read_public(tmp_path / "missing.pub")
    assert expected_key("  " + fingerprint(key).upper().replace(" ", "") + " ") == fingerprint(key)
    assert expected_key(expected_key(fingerprint(key))) == fingerprint(key)


def test_sign_needs_a_private_key(config, manifest):
    with pytest.raises(TypeError, match="Ed25519PrivateKey"):
        sign_manifest(manifest, device_key().public_key())


def test_first_use_race_keeps_the_winner(config, monkeypatch):
    """Another process links its key in first: its key is used, ours is discarded."""
    winner = Ed25519PrivateKey.generate()
    pem = winner.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())

    def raced_link(src, dst):
        _write_key_file(config, pem)
        raise FileExistsError(dst)

    monkeypatch.setattr(os, "link", raced_link)
    assert _raw(device_key()) == _raw(winner)
    assert sorted(p.name for p in config.iterdir()) == [KEY_FILE]
