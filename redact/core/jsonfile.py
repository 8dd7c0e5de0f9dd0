"""Read a small JSON file that a person or another device handed over, safely.

An incident file or a received manifest can be anything: ``/dev/zero`` (read it whole and
memory runs out), 100 000 nested brackets (the parser's recursion blows up), or an object
naming one key twice (JSON parsers keep the last, a person reading the file sees the first,
and a signature covers only what was parsed). Each is refused with one line that names the
file.
"""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

#: Largest incident file read (a few kilobytes in practice).
INCIDENT_LIMIT = 1 << 20
#: Largest manifest read: its track list grows with the clip (about 100 bytes a track).
MANIFEST_LIMIT = 64 << 20


class JsonFileError(ValueError):
    """The file is not a JSON document this program reads; the message says why."""


def _unique(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise JsonFileError(f"key {key!r} appears twice in one object")
        seen[key] = value
    return seen


def parse_json(text, what: str):
    """Parse JSON text, refusing duplicate keys and nesting too deep to parse.

    Parameters
    ----------
    text : str or bytes
    what : str
        How the message names the document, e.g. ``"incident file inc.json"``.

    Raises
    ------
    JsonFileError
        One line: invalid JSON (with where), a duplicate key, or too deeply nested.

    Examples
    --------
    >>> parse_json('{"a": 1}', "x")
    {'a': 1}
    >>> parse_json('{"a": 1, "a": 2}', "x")
    Traceback (most recent call last):
    ...
    redact.core.jsonfile.JsonFileError: x: key 'a' appears twice in one object; each key may be given once
    """
    try:
        return json.loads(text, object_pairs_hook=_unique)
    except JsonFileError as exc:
        raise JsonFileError(f"{what}: {exc}; each key may be given once") from None
    except RecursionError:
        raise JsonFileError(f"{what}: nested too deeply to read; not a file this program wrote") from None
    except json.JSONDecodeError as exc:
        raise JsonFileError(f"{what}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except (ValueError, TypeError) as exc:  # bytes that are not UTF-8
        raise JsonFileError(f"{what}: not valid JSON ({exc})") from None


def read_json(path, what: str, limit: int):
    """Read and parse a JSON file of at most ``limit`` bytes (see `parse_json`).

    Parameters
    ----------
    path : str or path-like
    what : str
        How the message names the file, e.g. ``"incident file"``; the path follows.
    limit : int
        Bytes read at most; a longer file (or an endless one such as ``/dev/zero``) is refused.

    Raises
    ------
    FileNotFoundError
        The file does not exist (callers say what to give instead).
    JsonFileError
        Unreadable, too large, or not JSON as `parse_json` reads it.
    """
    path = Path(path)
    name = f"{what} {path}"
    try:
        # Not blocking in open: a named pipe nobody writes to would wait for a writer forever.
        # Reads then block as usual, so a pipe being written (--incident <(make-incident))
        # is read to its end, and one without a writer reads as empty.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        os.set_blocking(fd, True)
        with open(fd, "rb") as fh:
            data = fh.read(limit + 1)
            piped = stat.S_ISFIFO(os.fstat(fh.fileno()).st_mode)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise JsonFileError(f"{name} cannot be read ({exc.strerror or exc}); give a JSON file") from None
    if len(data) > limit:
        raise JsonFileError(f"{name} is larger than {limit >> 20} MiB; give the JSON file itself")
    if piped and not data:
        raise JsonFileError(f"{name} is a pipe nothing was written into; give a JSON file")
    return parse_json(data, name)
