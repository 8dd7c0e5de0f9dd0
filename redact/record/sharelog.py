"""The share log: a local, append-only record of which redacted clip was given to whom.

One JSON object per line in ``shares.log`` in the config folder (owner-only, 0600). Each
line says when, for which request, to whom and why a clip was shared, and which clip by its
SHA-256 and the signing key's fingerprint. It holds no file names, paths or pixels: a clip's
name often carries an address or a date.

A redaction logs its share in two steps (`logged_delivery`): a ``pending`` line before the
clip is renamed into place (so a log that cannot be written stops the share while nothing
is visible), then a ``delivered`` line once the clip is there, or a ``withdrawn`` one when
the rename failed. `read_shares` lists only what was delivered, and apart from it what was
never confirmed (a run cut off between the two lines).
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import stat
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timezone
from pathlib import Path

from ..core.jsonfile import parse_json
from ..core.safetext import unsafe_reason
from .config import config_dir as _config_dir
from .config import ensure_config_dir

LOG_FILE = "shares.log"
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: States of a share's lines; a line without one (written before states existed) was delivered.
PENDING, DELIVERED, WITHDRAWN = "pending", "delivered", "withdrawn"
_STATES = ("", PENDING, DELIVERED, WITHDRAWN)


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
        Fingerprint of the key that signed the clip's manifest (`redact.record.signing.fingerprint`).
    time : str
        UTC time in ISO 8601; `append_share` fills it in when empty.
    share_id : str
        Ties a share's pending line to its delivered or withdrawn line (`logged_delivery`).
    state : str
        ``"pending"``, ``"delivered"``, ``"withdrawn"``, or ``""`` for a line that records a
        delivered clip on its own.
    """

    request: str
    recipient: str
    purpose: str
    output_sha256: str
    fingerprint: str
    time: str = ""
    share_id: str = ""
    state: str = ""

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, str):
                raise TypeError(f"Share.{f.name} must be text, got {type(value).__name__}")
        if not _SHA256.fullmatch(self.output_sha256):
            raise ValueError(f"Share.output_sha256 {self.output_sha256!r} is not 64 lowercase hex digits; "
                             f"pass the clip's sha256 (the manifest's output_sha256)")
        if self.state not in _STATES:
            raise ValueError(f"Share.state {self.state!r} is not one of {_STATES}")


@dataclass(frozen=True)
class ShareLog:
    """What `read_shares` found.

    Attributes
    ----------
    entries : tuple of Share
        The clips delivered, oldest first.
    problems : tuple of str
        One sentence per unreadable line, e.g. the torn last line of an interrupted write.
    unconfirmed : tuple of Share
        Shares logged as pending and never confirmed: the run was cut off (or is still
        running), so the clip may or may not have been written.
    """

    entries: tuple = ()
    problems: tuple = ()
    unconfirmed: tuple = ()


def log_path(config_dir=None) -> Path:
    """Where the share log lives: ``shares.log`` in `redact.record.config.config_dir`."""
    return _config_dir(config_dir) / LOG_FILE


def append_share(entry: Share, config_dir=None) -> Share:
    """Append one line to the share log and flush it to disk.

    Parameters
    ----------
    entry : Share
        What to record; an empty ``time`` becomes the current UTC time.
    config_dir : str or path-like, optional
        Folder of the log; default `redact.record.config.config_dir` ().

    Returns
    -------
    Share
        The entry as written (with its time).

    Raises
    ------
    ShareLogError
        The log is readable by others, not a regular file, or was only partly written
        (disk full); or request, recipient or purpose would display other than they read
        (`redact.core.safetext.unsafe_reason`).

    Notes
    -----
    The file is opened with ``O_APPEND`` and each line goes out in one ``write``, so lines
    from two processes do not interleave. If an earlier write was cut off, the new line starts
    on a line of its own so the torn one cannot swallow it.
    """
    if not isinstance(entry, Share):
        raise TypeError(f"append_share expects a Share, got {type(entry).__name__}")
    for name in ("request", "recipient", "purpose"):
        why = unsafe_reason(getattr(entry, name))
        if why is not None:
            raise ShareLogError(f"share {name}: {why}; it would show other than it reads in `redact log`")
    if not entry.time:
        entry = replace(entry, time=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    path = ensure_config_dir(config_dir) / LOG_FILE
    line = json.dumps(asdict(entry), sort_keys=True, ensure_ascii=True, separators=(",", ":")) + "\n"
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise ShareLogError(f"share log {path} cannot be opened ({exc.strerror}); it must be a regular "
                            f"file, not a folder or a link: move it away") from None
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


class Delivery:
    """One share on its way out, logged as pending (`begin`) until `logged_delivery` settles it."""

    def __init__(self, config_dir=None):
        self.config_dir = config_dir
        self.entry: Share | None = None

    def begin(self, entry: Share) -> Share:
        """Append ``entry`` as a pending line (call it before the clip is renamed into place)."""
        if self.entry is not None:
            raise RuntimeError("Delivery.begin: this delivery already has its share")
        self.entry = append_share(replace(entry, share_id=secrets.token_hex(8), state=PENDING), self.config_dir)
        return self.entry


@contextlib.contextmanager
def logged_delivery(config_dir=None):
    """Yield a `Delivery`; when the block ends, its pending line (if any) is settled.

    Parameters
    ----------
    config_dir : str or path-like, optional
        Folder of the log; default `redact.record.config.config_dir` ().

    Notes
    -----
    Open it outside the block that renames the clip into place (``with logged_delivery()
    as d, atomic_pair(...) as pair``), so it sees whether the rename succeeded: success
    appends a ``delivered`` line, an exception a ``withdrawn`` one. A withdrawal that cannot
    be written is let go (the original error is the one that matters); the share then reads
    as unconfirmed, which is still true. A confirmation that cannot be written raises
    `ShareLogError`: the clip is in place, and the log says it is unconfirmed.
    """
    delivery = Delivery(config_dir)
    try:
        yield delivery
    except BaseException:
        if delivery.entry is not None:
            with contextlib.suppress(OSError, ShareLogError):
                append_share(replace(delivery.entry, state=WITHDRAWN), config_dir)
        raise
    if delivery.entry is not None:
        append_share(replace(delivery.entry, state=DELIVERED), config_dir)


def read_shares(config_dir=None) -> ShareLog:
    """Read the share log; a missing log is an empty one.

    Unreadable lines (a write cut off by a crash or power loss) are reported in
    ``problems`` and skipped, never raised. A pending share appears in ``entries`` once its
    delivered line follows, in ``unconfirmed`` while none does, and nowhere once withdrawn.

    Parameters
    ----------
    config_dir : str or path-like, optional
        Folder of the log; default `redact.record.config.config_dir` ().

    Returns
    -------
    ShareLog

    Raises
    ------
    ShareLogError
        The log cannot be read (a folder, no permission).
    """
    path = log_path(config_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return ShareLog()
    except OSError as exc:
        raise ShareLogError(f"share log {path} cannot be read ({exc.strerror}); it must be a regular file: "
                            f"move it away") from None
    lines, problems = raw.split(b"\n"), []
    # share_id (or the line number, for lines without one) -> its latest line, in first-seen order.
    latest: dict = {}
    names = {f.name for f in fields(Share)}
    optional = {"share_id", "state"}  # absent from lines written before they existed
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        last = number == len(lines)  # no newline after it: the write did not finish
        try:
            data = parse_json(text, f"share log line {number}")  # duplicate keys and deep nesting refused too
            # Unknown keys are ignored so that a later version's lines still read.
            if not isinstance(data, dict) or not all(isinstance(data.get(k, "" if k in optional else None), str)
                                                     for k in names):
                raise ValueError("not a share entry")
            entry = Share(**{k: data.get(k, "") for k in names})
        except (ValueError, TypeError, UnicodeDecodeError):
            if last:
                problems.append(f"share log line {number} is incomplete (a write was interrupted); it was skipped")
            else:
                problems.append(f"share log line {number} is unreadable; it was skipped")
            continue
        latest[entry.share_id or number] = entry
    entries = tuple(e for e in latest.values() if e.state in ("", DELIVERED))
    unconfirmed = tuple(e for e in latest.values() if e.state == PENDING)
    return ShareLog(entries, tuple(problems), unconfirmed)
