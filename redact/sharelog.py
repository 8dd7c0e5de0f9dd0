"""The share log: a local, append-only record of which redacted clip was given to whom.

One JSON object per line in ``shares.log`` in the config folder (owner-only, 0600). Each
line says when, for which request, to whom and why a clip was shared, and which clip by its
SHA-256 and the signing key's fingerprint. It holds no file names, paths or pixels: a clip's
name often carries an address or a date.
"""
from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timezone
from pathlib import Path

from .signing import config_dir as _config_dir
from .signing import ensure_config_dir

LOG_FILE = "shares.log"
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ShareLogError(ValueError):
    """The share log cannot be written safely; the message says how to fix it."""


@dataclass(frozen=True)
class Share:
    """One line of the share log.

    Parameters
    ----------
    request : str
        The request being answered, e.g. an insurer's claim or a police reference number.
    recipient : str
        Who receives the clip.
    purpose : str
        Why it is shared.
    output_sha256 : str
        SHA-256 of the shared (redacted) clip, 64 lowercase hex digits.
    fingerprint : str
        Fingerprint of the key that signed the clip's manifest (`redact.signing.fingerprint`).
    time : str
        UTC time in ISO 8601; `append_share` fills it in when empty.
    """

    request: str
    recipient: str
    purpose: str
    output_sha256: str
    fingerprint: str
    time: str = ""

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, str):
                raise TypeError(f"Share.{f.name} must be text, got {type(value).__name__}")
        if not _SHA256.fullmatch(self.output_sha256):
            raise ValueError(f"Share.output_sha256 {self.output_sha256!r} is not 64 lowercase hex digits; "
                             f"pass the clip's sha256 (the manifest's output_sha256)")


@dataclass(frozen=True)
class ShareLog:
    """What `read_shares` found.

    Attributes
    ----------
    entries : tuple of Share
        The readable lines, oldest first.
    problems : tuple of str
        One sentence per unreadable line, e.g. the torn last line of an interrupted write.
    """

    entries: tuple = ()
    problems: tuple = ()


def log_path(config_dir=None) -> Path:
    """Where the share log lives: ``shares.log`` in `redact.signing.config_dir`."""
    return _config_dir(config_dir) / LOG_FILE


def append_share(entry: Share, config_dir=None) -> Share:
    """Append one line to the share log and flush it to disk.

    Parameters
    ----------
    entry : Share
        What to record; an empty ``time`` becomes the current UTC time.
    config_dir : str or path-like, optional
        Folder of the log; default `redact.signing.config_dir` ().

    Returns
    -------
    Share
        The entry as written (with its time).

    Raises
    ------
    ShareLogError
        The log is readable by others, not a regular file, or was only partly written
        (disk full).

    Notes
    -----
    The file is opened with ``O_APPEND`` and each line goes out in one ``write``, so lines
    from two processes do not interleave. If an earlier write was cut off, the new line starts
    on a line of its own so the torn one cannot swallow it.
    """
    if not isinstance(entry, Share):
        raise TypeError(f"append_share expects a Share, got {type(entry).__name__}")
    if not entry.time:
        entry = replace(entry, time=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    path = ensure_config_dir(config_dir) / LOG_FILE
    line = json.dumps(asdict(entry), sort_keys=True, ensure_ascii=True, separators=(",", ":")) + "\n"
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ShareLogError(f"share log {path} is not a regular file; move it away")
        if info.st_mode & 0o077:
            raise ShareLogError(f"share log {path} has mode {stat.S_IMODE(info.st_mode):04o}, readable by others; "
                                f"run `chmod 600 {path}`")
        if info.st_size and os.pread(fd, 1, info.st_size - 1) != b"\n":
            line = "\n" + line
        data = line.encode("ascii")
        written = os.write(fd, data)
        if written != len(data):
            raise ShareLogError(f"share log {path}: wrote {written} of {len(data)} bytes (disk full?); "
                                f"free space and share again")
        os.fsync(fd)
    finally:
        os.close(fd)
    return entry


def read_shares(config_dir=None) -> ShareLog:
    """Read the share log; a missing log is an empty one.

    Unreadable lines (a write cut off by a crash or power loss) are reported in
    ``problems`` and skipped, never raised.

    Parameters
    ----------
    config_dir : str or path-like, optional
        Folder of the log; default `redact.signing.config_dir` ().

    Returns
    -------
    ShareLog
    """
    path = log_path(config_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return ShareLog()
    entries, problems = [], []
    lines = raw.split(b"\n")
    names = {f.name for f in fields(Share)}
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        last = number == len(lines)  # no newline after it: the write did not finish
        try:
            data = json.loads(text.decode("utf-8"))
            # Unknown keys are ignored so that a later version's lines still read.
            if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in names):
                raise ValueError("not a share entry")
            entries.append(Share(**{k: data[k] for k in names}))
        except (ValueError, TypeError, UnicodeDecodeError):
            if last:
                problems.append(f"share log line {number} is incomplete (a write was interrupted); it was skipped")
            else:
                problems.append(f"share log line {number} is unreadable; it was skipped")
    return ShareLog(tuple(entries), tuple(problems))
