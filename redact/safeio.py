"""Outputs appear whole or not at all, and inputs are never touched.

Every file `redact` writes goes to a hidden temporary name beside its target and is renamed
into place only when complete, so a crash, Ctrl-C or kill never leaves a half-written file
under the final name.
"""
from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

PARTIAL_SUFFIX = ".redact-partial"


class UsageError(ValueError):
    """The paths or options asked for cannot be carried out safely; nothing was written."""


def check_paths(src, dst, *, overwrite: bool) -> tuple[Path, Path]:
    """Refuse an output that is the input, or that exists without ``overwrite``."""
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise UsageError(f"input {src} does not exist or is not a file")
    # samefile also catches hard links and other names of the same file.
    if dst.resolve() == src.resolve() or (dst.exists() and os.path.samefile(src, dst)):
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
    """Delete temporaries that a killed earlier run left for this target."""
    for stale in final.parent.glob(f".{final.name}.*{PARTIAL_SUFFIX}"):
        stale.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_output(final):
    """Yield a temporary path; on success fsync and rename it to ``final``, else delete it."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(final)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(final, data: bytes) -> None:
    with atomic_output(final) as tmp:
        tmp.write_bytes(data)
