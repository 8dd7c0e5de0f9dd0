"""The device key: an Ed25519 key that signs each manifest before the clip leaves the device.

A receiver who knows the device's public key (or its fingerprint, read out over the phone)
can then check that the manifest came from that device and was not changed since. The key
lives in the user's config folder as ``device_key.pem``, readable by its owner only.

The signature covers a canonical serialisation of the manifest without its ``"signature"``
block, so re-indenting the file does not break it but changing any value does.

The same key, through a secret derived from it, tags the clip's input (`input_tag`): the
owner can later show which recording a clip was cut from, while two recipients of windows
of one recording cannot tell they share a source, nor can someone holding the recording.

Its public half is kept beside it as ``device_key.pub``. A device key that disappears while
that file (or the share log) says there was one is not silently replaced: recipients hold
the old public key, and every clip signed with a new one would fail their check.
"""
from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..media.safeio import fsync_folder, write_bytes_atomic
from .config import KeyFileError, config_dir, ensure_config_dir
from .sharelog import ShareLogError, read_shares

KEY_FILE = "device_key.pem"
PUBLIC_FILE = "device_key.pub"
ALGORITHM = "ed25519"
SIGNATURE_FIELD = "signature"
# Domain separation: a device-key signature over a manifest can never be replayed as a
# signature over anything else the key might sign later.
_CONTEXT = b"redact.manifest.signature/1\n"
# Label of the secret derived from the device key for tagging inputs (never used to sign).
_INPUT_CONTEXT = b"redact.manifest.input-tag/1"
_MOVE_AWAY = "move it away, then `redact key --new` makes a new one"
# An Ed25519 PEM is 119 bytes; anything much larger is not one.
_KEY_LIMIT = 1 << 16
_FINGERPRINT = re.compile(r"ed25519:([0-9a-f]{16})")


class KeyMissingError(KeyFileError):
    """The device key is gone, but this device had one that recipients may hold."""


class SignatureError(ValueError):
    """A manifest's signature is missing, does not hold, or was made by another key."""


def device_key(config_dir=None, *, create: bool = True) -> Ed25519PrivateKey:
    """This device's signing key, created on first use.

    Parameters
    ----------
    config_dir : str or path-like, optional
        Folder holding ``device_key.pem``; default `config_dir` ().
    create : bool
        Make the key when there is none (and never was: see Raises). False for checks that
        only the key's owner can make, where a fresh key would prove nothing.

    Returns
    -------
    Ed25519PrivateKey

    Raises
    ------
    KeyFileError
        The key file is readable by group or others, not owned by this user, not a regular
        file, or not an Ed25519 private key; or it is missing and ``create`` is False.
    KeyMissingError
        The key file is missing but ``device_key.pub`` or the share log shows this device had
        a key: restore it, or make a new one on purpose with `new_device_key`.

    Notes
    -----
    A new key is written to a fresh owner-only (0600) temporary file, flushed, and then
    hard-linked to its final name, which fails if another process got there first (its key
    is then used). So the key file is never readable by others, never half-written, and two
    first runs at once agree on one key.
    """
    folder = ensure_config_dir(config_dir) if create else _folder(config_dir)
    path = folder / KEY_FILE
    try:
        key = _load_private(path)
    except FileNotFoundError:
        if not create:
            raise KeyFileError(f"no device key at {path}; only the device that signed a clip holds its key "
                               f"(set $REDACT_CONFIG_DIR if it lives elsewhere)") from None
        earlier = earlier_key(config_dir)
        if earlier is not None:
            raise KeyMissingError(f"device key {path} is missing, but this device had key {earlier}; recipients "
                                  f"hold its public half and would reject clips signed by a new one: restore "
                                  f"{KEY_FILE} from a backup, or run `redact key --new` to start a new key on "
                                  f"purpose") from None
        return _create(folder, path)
    _keep_public(folder, key)
    return key


def new_device_key(config_dir=None) -> tuple:
    """Make a new device key on purpose, when the old one is gone (see `device_key`).

    Returns
    -------
    (Ed25519PrivateKey, str or None)
        The new key, and the fingerprint of the key it replaces (None when there was none).

    Raises
    ------
    KeyFileError
        A key file (or anything else) is already under its name: it is never replaced.
    """
    folder = ensure_config_dir(config_dir)
    path = folder / KEY_FILE
    if os.path.lexists(path):
        raise KeyFileError(f"device key {path} exists; it is never replaced (recipients hold its public half): "
                           f"move it away first if you really mean to start a new key")
    earlier = earlier_key(config_dir)
    key = _create(folder, path)
    _keep_public(folder, key, replace=True)
    return key, earlier


def earlier_key(config_dir=None) -> str | None:
    """Fingerprint of the key this device had, from ``device_key.pub`` or the share log, or None."""
    public = _folder(config_dir) / PUBLIC_FILE
    if os.path.lexists(public):
        try:
            return fingerprint(read_public(public))
        except KeyFileError:
            return f"the one recorded in {public} (now unreadable)"
    try:
        shares = read_shares(config_dir)
    except ShareLogError:
        return None
    signed = [e.fingerprint for e in (*shares.entries, *shares.unconfirmed) if e.fingerprint]
    return signed[-1] if signed else None


def _folder(override) -> Path:
    # `config_dir` under another name, for functions whose parameter shadows it.
    return config_dir(override)


def _create(folder: Path, path: Path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    tmp = folder / f".{KEY_FILE}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return _load_private(path)
        fsync_folder(folder)
    finally:
        tmp.unlink(missing_ok=True)
    _keep_public(folder, key)
    return key


def _keep_public(folder: Path, key: Ed25519PrivateKey, replace: bool = False) -> None:
    """Write ``device_key.pub`` when missing (or ``replace``): the record that this device had this key."""
    path = folder / PUBLIC_FILE
    if os.path.lexists(path) and not replace:
        return
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    # A read-only config folder still signs; only the record of the key is missing then.
    with contextlib.suppress(OSError):
        write_bytes_atomic(path, pem)


def input_tag(key, input_sha256: str, output_sha256: str) -> str:
    """The manifest's ``input_hmac``: which recording a clip was cut from, for its owner only.

    HMAC-SHA256 of the input's and the output's SHA-256 digests (32 bytes each), keyed by
    HKDF-SHA256 of the private key's raw bytes (label ``redact.manifest.input-tag/1``, so
    the secret serves nothing else). Without the key nobody can confirm a recording they
    hold; with the output in it, two clips cut from one recording carry unrelated tags, so
    their recipients cannot link them. The owner recomputes it from the recording and the
    clip (`redact verify CLIP --original FILE`).

    Parameters
    ----------
    key : Ed25519PrivateKey
    input_sha256, output_sha256 : str
        64 lowercase hex digits each (`redact.record.manifest.sha256_file` of the input and output).

    Examples
    --------
    >>> k = Ed25519PrivateKey.from_private_bytes(bytes(32))
    >>> input_tag(k, "00" * 32, "11" * 32) == input_tag(k, "00" * 32, "22" * 32)
    False
    """
    if not isinstance(key, Ed25519PrivateKey):
        raise TypeError(f"input_tag needs the device's private key, got {type(key).__name__}")
    for digest in (input_sha256, output_sha256):
        if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ValueError(f"input_tag: {digest!r} is not a sha256 (64 lowercase hex digits)")
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    secret = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INPUT_CONTEXT).derive(raw)
    return hmac.new(secret, bytes.fromhex(input_sha256) + bytes.fromhex(output_sha256), hashlib.sha256).hexdigest()


def _load_private(path: Path) -> Ed25519PrivateKey:
    # The checks run on the opened descriptor, so the file cannot be swapped in between.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise KeyFileError(f"device key {path} cannot be opened ({exc.strerror}); "
                           f"it must be a regular file, not a link: {_MOVE_AWAY}") from exc
    # The raw descriptor, not fdopen: Python refuses to wrap a folder's (a traceback, not our line).
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"device key {path} is not a regular file; {_MOVE_AWAY}")
        if info.st_uid != os.getuid():
            raise KeyFileError(f"device key {path} belongs to user id {info.st_uid}, not you ({os.getuid()}); "
                               f"{_MOVE_AWAY}")
        if info.st_mode & 0o077:
            raise KeyFileError(f"device key {path} has mode {stat.S_IMODE(info.st_mode):04o}, readable by others; "
                               f"run `chmod 600 {path}` (and consider the key leaked: {_MOVE_AWAY})")
        data = os.read(fd, _KEY_LIMIT)
    finally:
        os.close(fd)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"device key {path} is not a readable unencrypted PEM private key; "
                           f"{_MOVE_AWAY}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"device key {path} is a {type(key).__name__}, expected Ed25519; "
                           f"{_MOVE_AWAY}")
    return key


def _public(key) -> Ed25519PublicKey:
    if isinstance(key, Ed25519PrivateKey):
        return key.public_key()
    if isinstance(key, Ed25519PublicKey):
        return key
    raise TypeError(f"expected an Ed25519 private or public key, got {type(key).__name__}")


def _raw(key) -> bytes:
    return _public(key).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_text(key) -> str:
    """The public key as base64 of its 32 raw bytes (44 characters).

    Parameters
    ----------
    key : Ed25519PrivateKey or Ed25519PublicKey

    Examples
    --------
    >>> k = Ed25519PrivateKey.from_private_bytes(bytes(32))
    >>> public_key_text(k)
    'O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik='
    """
    return base64.b64encode(_raw(key)).decode("ascii")


def fingerprint(public) -> str:
    """A short name for a key that people can compare by eye or read out.

    ``"ed25519:"`` and the first 16 hex digits (64 bits) of the SHA-256 of the raw public
    key, in groups of four. Good for a person's check; `verify_manifest` compares full keys
    when it is given one.

    Parameters
    ----------
    public : Ed25519PublicKey or Ed25519PrivateKey

    Examples
    --------
    >>> fingerprint(Ed25519PrivateKey.from_private_bytes(bytes(32)))
    'ed25519:139e 3940 e64b 5491'
    """
    return _group(hashlib.sha256(_raw(public)).hexdigest()[:16])


def _group(digest: str) -> str:
    return ALGORITHM + ":" + " ".join(digest[i:i + 4] for i in range(0, 16, 4))


def _normal_fingerprint(text: str) -> str | None:
    match = _FINGERPRINT.fullmatch(re.sub(r"\s+", "", text.strip().lower()))
    return match.group(1) if match else None


def _parse_public_text(text: str) -> Ed25519PublicKey | None:
    text = text.strip()
    if "BEGIN PUBLIC KEY" in text:
        try:
            key = serialization.load_pem_public_key(text.encode("ascii", "replace"))
        except (ValueError, TypeError):
            return None
        return key if isinstance(key, Ed25519PublicKey) else None
    return _from_base64(text)


def _from_base64(text) -> Ed25519PublicKey | None:
    if not isinstance(text, str):
        return None
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return Ed25519PublicKey.from_public_bytes(raw) if len(raw) == 32 else None


def read_public(path) -> Ed25519PublicKey:
    """Read a public key file: the PEM that `export_public` writes, or one line of base64.

    Raises
    ------
    KeyFileError
        The file is missing or holds no Ed25519 public key.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise KeyFileError(f"public key file {path} cannot be read ({exc.strerror}); "
                           f"give the file from `export_public`, the key text or its fingerprint") from exc
    key = _parse_public_text(text)
    if key is None:
        raise KeyFileError(f"public key file {path} holds no Ed25519 public key; "
                           f"expected a PEM 'PUBLIC KEY' or 44 characters of base64")
    return key


def export_public(path, key=None, *, overwrite: bool = False) -> Path:
    """Write the public half of ``key`` (default: this device's key) as PEM, atomically.

    Parameters
    ----------
    path : str or path-like
        Destination. The public key is not secret.
    key : Ed25519PrivateKey or Ed25519PublicKey, optional
        Default `device_key` ().
    overwrite : bool
        Replace an existing file (never the device key itself: exported onto it, the
        private key would be gone for good).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    KeyFileError
        ``path`` is this device's key file, or exists and ``overwrite`` is false.
    """
    public = _public(device_key() if key is None else key)
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    path = Path(path)
    own = config_dir() / KEY_FILE
    if path.resolve() == own.resolve() or (path.exists() and own.exists() and os.path.samefile(path, own)):
        raise KeyFileError(f"{path} is this device's private key; export the public key to another file")
    if path.is_dir():
        raise KeyFileError(f"{path} is a folder; give a file name for the public key")
    if os.path.lexists(path) and not overwrite:
        raise KeyFileError(f"{path} exists; pass --overwrite to replace it, or export to another file")
    try:
        write_bytes_atomic(path, pem)
    except OSError as exc:
        raise KeyFileError(f"cannot write {path}: {exc.strerror or exc}; give a file in a folder you can write") \
            from None
    return path


def expected_key(spec) -> Ed25519PublicKey | str:
    """Turn what a user gave for ``--key`` into a public key or a normalised fingerprint.

    Parameters
    ----------
    spec : Ed25519PublicKey, Ed25519PrivateKey, str or path-like
        A key; a fingerprint such as ``"ed25519:ab12 cd34 ef56 7890"`` (spaces optional);
        44 characters of base64 (`public_key_text`); or a path to a public key file.

    Returns
    -------
    Ed25519PublicKey or str
        The key, or the fingerprint in `fingerprint`'s form (so passing the result back
        in returns it unchanged).

    Raises
    ------
    KeyFileError
        ``spec`` is none of these.
    """
    if isinstance(spec, (Ed25519PublicKey, Ed25519PrivateKey)):
        return _public(spec)
    if isinstance(spec, os.PathLike):
        return read_public(spec)
    if not isinstance(spec, str):
        raise KeyFileError(f"expected key {spec!r} is not a key, fingerprint or file path")
    digest = _normal_fingerprint(spec)
    if digest is not None:
        return _group(digest)
    key = _parse_public_text(spec)
    if key is not None:
        return key
    if Path(spec).expanduser().is_file():
        return read_public(Path(spec).expanduser())
    raise KeyFileError(f"expected key {spec!r} is not a fingerprint (ed25519: and 16 hex digits), "
                       f"a base64 public key (44 characters) or an existing public key file")


def canonical_bytes(data: dict) -> bytes:
    """The bytes a manifest's signature covers: ``data`` without its signature block, as
    sorted compact ASCII JSON.

    Examples
    --------
    >>> canonical_bytes({"b": 1, "a": "é", "signature": {"value": "x"}})
    b'{"a":"\\\\u00e9","b":1}'
    """
    unsigned = {k: v for k, v in data.items() if k != SIGNATURE_FIELD}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def sign_manifest(data: dict, key) -> dict:
    """A copy of a manifest with a ``"signature"`` block made by ``key``.

    Parameters
    ----------
    data : dict
        The manifest as JSON values, e.g. ``json.loads(manifest.to_json())``. Any existing
        signature block is replaced. ``data`` itself is not changed.
    key : Ed25519PrivateKey

    Returns
    -------
    dict
        ``data`` plus ``{"signature": {"algorithm", "public_key", "fingerprint", "value"}}``.

    Examples
    --------
    >>> k = Ed25519PrivateKey.from_private_bytes(bytes(32))
    >>> signed = sign_manifest({"kind": "video"}, k)
    >>> sorted(signed["signature"])
    ['algorithm', 'fingerprint', 'public_key', 'value']
    >>> verify_manifest(signed, expected_public=fingerprint(k))
    'ed25519:139e 3940 e64b 5491'
    """
    if not isinstance(key, Ed25519PrivateKey):
        raise TypeError(f"sign_manifest needs an Ed25519PrivateKey (see device_key()), got {type(key).__name__}")
    value = key.sign(_CONTEXT + canonical_bytes(data))
    block = {
        "algorithm": ALGORITHM,
        "public_key": public_key_text(key),
        "fingerprint": fingerprint(key),
        "value": base64.b64encode(value).decode("ascii"),
    }
    return {**{k: v for k, v in data.items() if k != SIGNATURE_FIELD}, SIGNATURE_FIELD: block}


def verify_manifest(data: dict, expected_public=None) -> str:
    """Check a manifest's signature; return the signer's fingerprint or raise.

    Parameters
    ----------
    data : dict
        The manifest as read from its JSON file.
    expected_public : optional
        Who must have signed it: anything `expected_key` accepts (key, key text,
        fingerprint, public key file). Without it, the check only shows the manifest is
        unchanged since *some* key signed it; anyone can sign with a key of their own.

    Returns
    -------
    str
        The signing key's `fingerprint`.

    Raises
    ------
    SignatureError
        One line saying what is wrong: no signature, a malformed block, a signature that
        does not hold (the manifest changed after signing), or another key than expected.
    KeyFileError
        ``expected_public`` is not a usable key, fingerprint or file.
    """
    expected = None if expected_public is None else expected_key(expected_public)
    block = data.get(SIGNATURE_FIELD) if isinstance(data, dict) else None
    if block is None:
        raise SignatureError("manifest is not signed (no signature block); it cannot be checked")
    if not isinstance(block, dict):
        raise SignatureError("manifest signature block is malformed (not an object)")
    if block.get("algorithm") != ALGORITHM:
        raise SignatureError(f"manifest signature algorithm {block.get('algorithm')!r} is not supported; "
                             f"expected {ALGORITHM!r}")
    public = _from_base64(block.get("public_key"))
    if public is None:
        raise SignatureError("manifest signature block has no valid public_key (44 characters of base64)")
    try:
        value = base64.b64decode(block.get("value", ""), validate=True)
    except (binascii.Error, ValueError, TypeError):
        value = b""
    if len(value) != 64:
        raise SignatureError("manifest signature value is malformed (expected 64 bytes of base64)")
    signer = fingerprint(public)
    # The block itself is not signed; its fingerprint is only a label, so it must agree.
    if block.get("fingerprint") != signer:
        raise SignatureError(f"manifest signature fingerprint {block.get('fingerprint')!r} does not belong to "
                             f"its public key ({signer}); the signature block was edited")
    try:
        public.verify(value, _CONTEXT + canonical_bytes(data))
    except InvalidSignature:
        raise SignatureError("manifest signature does not hold: the manifest was changed after it was signed") from None
    except (TypeError, ValueError) as exc:  # values json cannot serialise: not a manifest file's content
        raise SignatureError(f"manifest cannot be serialised for checking ({exc})") from None
    if isinstance(expected, str):
        if signer != expected:
            raise SignatureError(f"manifest was signed by {signer}, not by the expected key {expected}")
    elif expected is not None and _raw(expected) != _raw(public):
        raise SignatureError(f"manifest was signed by {signer}, not by the expected key {fingerprint(expected)}")
    return signer
