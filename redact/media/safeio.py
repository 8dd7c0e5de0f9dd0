"""Outputs appear whole or not at all, and inputs are never touched.

Every file `redact` writes goes to a hidden temporary name beside its target and is renamed
into place only when complete, so a crash, Ctrl-C or kill never leaves a half-written file
under the final name. An output and its manifest are committed as a pair (`atomic_pair`):
the manifest is renamed first, the output last, so an output never stands without its
record; a manifest without its output is what a rerun repairs. One run at a time writes
an output (`output_lock`), so no run deletes another's temporary file.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import secrets
import signal
from pathlib import Path

PARTIAL_SUFFIX = ".redact-partial"
LOCK_SUFFIX = ".redact-lock"
#: Space reserved (then released) in the destination before any decoding, to find a full or
#: read-only destination before minutes of detection rather than after.
PROBE_BYTES = 1 << 20


class UsageError(ValueError):
    """The paths or options asked for cannot be carried out safely; nothing was written."""


class OutputBusyError(RuntimeError):
    """Another run is writing this output right now; this run left it alone."""


def is_internal(path: Path) -> bool:
    """Temporary and lock files of a run (never inputs, never outputs)."""
    name = Path(path).name
    return name.startswith(".") and name.endswith((PARTIAL_SUFFIX, LOCK_SUFFIX))


def _nearest_folder(path: Path) -> Path:
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def probe_writable(dst: Path) -> None:
    """Raise `UsageError` unless a file can be created and space reserved beside ``dst``.

    The probe goes in the nearest existing folder, so nothing is created when it fails.
    """
    folder = _nearest_folder(Path(dst))
    if not folder.is_dir():
        raise UsageError(f"output {dst}: {folder} is not a folder")
    probe = folder / f".redact-probe.{secrets.token_hex(4)}{PARTIAL_SUFFIX}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise _unwritable(dst, folder, exc) from None
    try:
        try:
            os.posix_fallocate(fd, 0, PROBE_BYTES)
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                raise _unwritable(dst, folder, exc) from None
            os.write(fd, bytes(PROBE_BYTES))  # file systems without fallocate
    except OSError as exc:
        raise _unwritable(dst, folder, exc) from None
    finally:
        os.close(fd)
        probe.unlink()


#: Why a file system refuses a write, in the words the user's fix starts from, and that fix:
#: freeing space does nothing for a folder this user may not write in, or a read-only disk.
_SPACE = "free space or choose another destination"
_REFUSED = {errno.ENOSPC: ("no space left", _SPACE),
            errno.EDQUOT: ("disk quota exceeded", "free space in your quota or choose another destination"),
            errno.EFBIG: ("file size limit reached", "the output is larger than this file system or the process's "
                          "file size limit (ulimit -f) allows; raise the limit or choose another destination"),
            errno.EROFS: ("read-only file system", "remount it read-write or choose another destination"),
            errno.EACCES: ("permission denied", "give this user write permission in that folder or choose "
                           "another destination"),
            errno.EPERM: ("operation not permitted", "give this user write permission in that folder or choose "
                          "another destination")}


def os_reason(exc: OSError) -> str:
    """An OS error's reason as a line says it in brackets: its text in lower case ("permission
    denied"), or its type's name when it carries none."""
    return (exc.strerror or type(exc).__name__).lower()


def _unwritable(dst, folder, exc: OSError) -> UsageError:
    reason, advice = _REFUSED.get(exc.errno or 0, (None, "choose another destination"))
    # Any other cause in the OS's own words (an I/O error, a name too long, ...).
    reason = reason or os_reason(exc)
    return UsageError(f"output {dst}: cannot write in {folder} ({reason}); {advice}")


def output_refused(dst, exc: BaseException) -> UsageError | None:
    """`probe_writable`'s one-line error for a write beside ``dst`` that the file system
    refused part way (it filled up, or the size limit was reached, after the probe), or None
    when ``exc`` is anything else. A write names no file; an error naming one elsewhere is
    not the output's."""
    if not isinstance(exc, OSError) or exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return None
    folder = Path(dst).parent
    if exc.filename is not None and Path(os.path.abspath(exc.filename)).parent != Path(os.path.abspath(folder)):
        return None
    return _unwritable(dst, folder, exc)


def not_a_file(path) -> UsageError:
    """The error for an input that is not a regular file, saying what it is instead."""
    path = Path(path)
    if not os.path.lexists(path):
        return UsageError(f"input {path} does not exist")
    if not path.exists():
        return UsageError(f"input {path} is a symbolic link to nothing ({os.readlink(path)}); give the clip itself")
    if path.is_dir():
        return UsageError(f"input {path} is a folder; give a file, or a folder as the only kind of input")
    # A FIFO or a device never ends (/dev/zero) or cannot be read twice (hashing, two passes).
    return UsageError(f"input {path} is not a regular file (a pipe, device or socket); save the clip to a file "
                      "first")


def real_path(path) -> Path:
    """``path`` with every symbolic link followed; a link loop is a `UsageError` (Python
    3.11's ``resolve`` raises RuntimeError for one, and ``exists`` says False)."""
    try:
        return Path(path).resolve()
    except (RuntimeError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno != errno.ELOOP:
            raise
        raise UsageError(f"{path} is a symbolic link loop; remove it or choose another name") from None


def check_paths(src, dst, *, overwrite: bool) -> tuple[Path, Path]:
    """Refuse an output that is the input, a folder, or exists without ``overwrite``."""
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise not_a_file(src)
    # samefile also catches hard links and other names of the same file.
    if real_path(dst) == real_path(src) or (dst.exists() and os.path.samefile(src, dst)):
        raise UsageError(f"output {dst} is the input file; choose another output path")
    if dst.is_dir():
        raise UsageError(f"output {dst} is a folder; give a file name")
    if dst.exists() and not overwrite:
        raise UsageError(f"output {dst} exists; pass --overwrite (overwrite=True) to replace it")
    return src, dst


def partial_path(final: Path) -> Path:
    """A fresh hidden temporary name in the target's folder (same file system: atomic rename)."""
    return final.with_name(f".{final.name}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")


def remove_stale_partials(final: Path) -> None:
    """Delete temporaries that a killed earlier run left for this target.

    Call it only while holding `output_lock` for ``final``: then no live run owns them.
    """
    # Names matched exactly, not by glob: a pattern would read "[1]" in a name as a wildcard
    # and delete another output's live temporary. The output's and its manifest's.
    pattern = re.compile(re.escape(f".{final.name}.") + r"(redaction\.json\.)?[0-9a-f]{8}" + re.escape(PARTIAL_SUFFIX))
    for stale in final.parent.iterdir():
        if pattern.fullmatch(stale.name):
            stale.unlink(missing_ok=True)


def make_folders(folder) -> list:
    """Create ``folder`` and its missing parents; return those created, deepest first."""
    folder = Path(folder)
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        try:
            path.mkdir(exist_ok=True)
        except FileNotFoundError:  # a parent removed meanwhile by a failed run beside us
            path.mkdir(parents=True, exist_ok=True)
    return missing


def remove_empty_folders(folders) -> None:
    """Remove each folder (deepest first) that is empty; a folder that is not, or has
    gone, is left as it is."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def is_partial_of(final, candidate) -> bool:
    """Whether ``candidate`` is a temporary name that `partial_path` gives ``final``'s output."""
    final, candidate = Path(final), Path(candidate)
    name = re.escape(f".{final.name}.") + r"[0-9a-f]{8}" + re.escape(PARTIAL_SUFFIX)
    return candidate.parent == final.parent and re.fullmatch(name, candidate.name) is not None


@contextlib.contextmanager
def output_lock(final):
    """Hold the right to write ``final`` (and its manifest) for the block's duration.

    Raises `OutputBusyError` at once when another run holds it. The lock is an advisory
    ``flock`` on a hidden file beside the target, released by the kernel if the holder dies.
    """
    final = Path(final)
    made = make_folders(final.parent)
    path = final.with_name(f".{final.name}{LOCK_SUFFIX}")
    while True:
        try:
            # O_NOFOLLOW: a link planted under the lock's name neither creates a file
            # elsewhere nor (dangling) keeps this loop spinning.
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except FileNotFoundError:
            if final.parent.is_dir():
                raise
            made += make_folders(final.parent)  # a failed run beside us removed the folder it had made
            continue
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UsageError(f"{path} is a symbolic link; remove it (redact's lock files are plain files)") \
                    from None
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputBusyError(f"another redact run is writing {final} now; left it to that run "
                                  "(run again once it has finished)") from None
        # The run before us may have removed the lock file after we opened it: only a lock
        # on the file that is still under the name counts.
        try:
            live = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            live = False
        if live:
            break
        os.close(fd)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)  # before unlocking, so a waiter re-checks the name
        remove_empty_folders(made)  # a refused or failed run leaves no empty folder behind
        os.close(fd)


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def fsync_folder(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` durable (the folder's entry, not the file)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


#: Set once the process is told to stop (SIGTERM, Ctrl-C). The signal handlers also raise
#: KeyboardInterrupt, but C code can swallow an exception raised while it calls back into
#: Python (NumPy clears any error while it looks up an operand's special methods, seen here
#: once in ~60 kills): the run then went on and committed. The flag cannot be lost. A plain
#: bool, not a `threading.Event`: a handler runs on the main thread between bytecodes and
#: may run again inside itself (a worker gets SIGTERM twice when its parent dies), and an
#: Event's lock taken there deadlocked a worker for good.
_stop = False


def request_stop() -> None:
    """From a signal handler: no output is committed from now on, and `check_stop` raises."""
    global _stop
    _stop = True


def stop_requested() -> bool:
    """Whether `request_stop` was called in this process."""
    return _stop


def check_stop() -> None:
    """Raise KeyboardInterrupt if `request_stop` was called: the run unwinds, deleting its
    temporaries, even when the handler's own exception was swallowed."""
    if _stop:
        raise KeyboardInterrupt("stop requested")


def stop_on_signal(signum, frame) -> None:
    """The SIGTERM and Ctrl-C handler of a run: set the flag (`request_stop`), then unwind
    (KeyboardInterrupt), so temporary outputs are removed and no final name appears. A
    second stop while unwinding is ignored: it must not cut the clean-up short."""
    if _stop:
        return
    request_stop()
    raise KeyboardInterrupt(f"signal {signum}")


def catch_stops() -> None:
    """Make SIGTERM and Ctrl-C stop a run (`stop_on_signal`); a Ctrl-C the shell ignores for
    this process (started in the background) stays ignored. Main thread only."""
    signal.signal(signal.SIGTERM, stop_on_signal)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, stop_on_signal)


#: The final outputs this process committed, or learnt a worker of it committed, in order:
#: what a stop leaves complete (`committed_outputs`).
_committed: list = []


def record_committed(final) -> None:
    """Note that ``final`` and its record were renamed into place, whole."""
    _committed.append(Path(final))


def committed_outputs() -> list:
    """Every output `record_committed` noted in this process, oldest first."""
    return list(_committed)


class PendingPair:
    """An output being written (at ``path``) and the record that must land with it."""

    def __init__(self, final: Path, companion: Path, partial: Path | None = None):
        self.final, self.companion = final, companion
        self.path = partial_path(final) if partial is None else partial
        self._companion_tmp = partial_path(companion)
        self.companion_bytes: bytes | None = None
        self.handed_off = False

    def hand_off(self) -> None:
        """Leave the finished output under its temporary name, unrecorded, for another
        process to record and commit (`atomic_pair` with ``partial=``); nothing final is
        written here. A rerun deletes it if that never happens (`remove_stale_partials`)."""
        self.handed_off = True

    def _commit(self) -> None:
        check_stop()
        if self.handed_off:
            _fsync(self.path)
            return
        if self.companion_bytes is None:
            raise RuntimeError(f"{self.final}: no record was made for the output; nothing was written")
        self._companion_tmp.write_bytes(self.companion_bytes)
        _fsync(self._companion_tmp)
        _fsync(self.path)
        # Record first: a kill between the renames leaves a record without its output, which
        # is never taken for a finished redaction and is redone by the next run.
        os.replace(self._companion_tmp, self.companion)
        os.replace(self.path, self.final)
        record_committed(self.final)
        fsync_folder(self.final.parent)

    def _discard(self) -> None:
        self.path.unlink(missing_ok=True)
        self._companion_tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_pair(final, companion, *, partial=None):
    """Yield a `PendingPair`: write the output to ``.path`` and set ``.companion_bytes``;
    both are renamed into place only when the block ends without an error.

    ``partial`` adopts an output already written under a temporary name of ``final``'s (one
    handed off by `PendingPair.hand_off`): it is committed, or deleted on an error, like
    one written in the block.
    """
    final = Path(final)
    if Path(companion).is_dir():  # found now, not by the rename after all the work
        raise UsageError(f"output {final}: its record's name {companion} is a folder; remove it or choose another "
                         "output name")
    final.parent.mkdir(parents=True, exist_ok=True)
    pair = PendingPair(final, Path(companion), None if partial is None else Path(partial))
    try:
        yield pair
        pair._commit()
    except BaseException:
        pair._discard()
        raise


@contextlib.contextmanager
def atomic_output(final):
    """Yield a temporary path; on success fsync and rename it to ``final``, else delete it."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(final)
    try:
        yield tmp
        _fsync(tmp)
        check_stop()
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(final, data: bytes) -> None:
    with atomic_output(final) as tmp:
        tmp.write_bytes(data)


def sha256_file(path) -> str:
    """The file's SHA-256, hex, read in 1 MiB pieces."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
