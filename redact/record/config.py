"""The device's config folder, where its key and share log live, and the error for a folder
or key file that cannot be used safely."""
from __future__ import annotations

import os
from pathlib import Path

CONFIG_DIR_ENV = "REDACT_CONFIG_DIR"


class KeyFileError(ValueError):
    """A key file or key text cannot be used safely; the message says how to fix it."""



def config_dir(override=None) -> Path:
    """The user's redact config folder (not created here).

    Parameters
    ----------
    override : str or path-like, optional
        Used as is when given.

    Returns
    -------
    Path
        ``override``, else ``$REDACT_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/redact``, else
        ``~/.config/redact``.

    Examples
    --------
    >>> config_dir("/tmp/somewhere").as_posix()
    '/tmp/somewhere'
    """
    if override is not None:
        return Path(override).expanduser()
    if os.environ.get(CONFIG_DIR_ENV):
        return Path(os.environ[CONFIG_DIR_ENV]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base).expanduser() / "redact"


def ensure_config_dir(override=None) -> Path:
    """`config_dir`, created owner-only (0700) when missing; an existing folder is left as is."""
    path = config_dir(override)
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise KeyFileError(f"config folder {path} cannot be made ({exc.strerror or exc}); it must be a folder "
                           f"you can write, or set ${CONFIG_DIR_ENV} to one") from None
    return path
