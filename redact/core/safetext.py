"""Text that people type and files carry, kept from lying on screen.

A request, recipient or purpose travels into the signed manifest and the share log, and
comes back out on a terminal (`redact log`, `redact verify`) and on the review sheet. Some
code points make text display other than it reads: U+202E (right-to-left override) shows
``"\\u202eDP nwotynA"`` as "Anytown PD"; control characters move the cursor or recolour the
terminal; U+2028 breaks a line; a lone surrogate cannot even be printed. Such text is
refused where it comes in (`unsafe_reason`) and escaped wherever it goes out (`shown`), so a
line written before these checks, or by hand, neither crashes nor lies.

Ordinary text of every script passes: accents, Arabic, Hebrew, CJK, emoji, and the
zero-width (non-)joiners that Persian words and emoji sequences need.
"""
from __future__ import annotations

import json
import unicodedata

# Format characters that are part of ordinary writing (Persian, Indic scripts, emoji).
_JOINERS = {"\u200c", "\u200d"}
# Format characters that reorder what follows them on screen.
_BIDI = {"\u061c", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))}
_WHY = {
    "Cc": "a control character",
    "Cf": "an invisible formatting character",
    "Cs": "a lone surrogate (half of a character, not text)",
    "Co": "a private-use character (each device draws it differently)",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}


def _why(ch: str) -> str | None:
    """Why ``ch`` cannot be shown as itself, or None when it can."""
    if ch in _BIDI:
        return "a bidirectional control (it reorders how the text displays)"
    category = unicodedata.category(ch)
    if category == "Cf" and ch in _JOINERS:
        return None
    return _WHY.get(category)


def _name(ch: str) -> str:
    code = f"U+{ord(ch):04X}"
    name = unicodedata.name(ch, "")
    return f"{code} {name}" if name else code


def unsafe_reason(text: str) -> str | None:
    """Why ``text`` would not display as it reads, or None when it is safe to show.

    Parameters
    ----------
    text : str

    Returns
    -------
    str or None
        E.g. ``"character 1 is U+202E RIGHT-TO-LEFT OVERRIDE, a bidirectional control (it
        reorders how the text displays)"``: the first offending code point, named, never
        the character itself.

    Examples
    --------
    >>> unsafe_reason("Anytown PD") is None
    True
    >>> unsafe_reason("ab\\x7f")
    'character 3 is U+007F, a control character'
    """
    for index, ch in enumerate(text, start=1):
        why = _why(ch)
        if why is not None:
            return f"character {index} is {_name(ch)}, {why}"
    return None


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def shown(value) -> str:
    """``value`` as text that displays as it reads: unsafe code points as ``\\u202e``-style escapes.

    Parameters
    ----------
    value : object
        Text, or any JSON value (shown as JSON).

    Returns
    -------
    str
        Printable on any terminal (a lone surrogate becomes ``\\ud800``, so printing
        never raises).

    Examples
    --------
    >>> shown("\\u202eDP nwotynA")
    '\\\\u202eDP nwotynA'
    >>> shown("Zoë\\u2028x")
    'Zoë\\\\u2028x'
    """
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return "".join(_escape(ch) if _why(ch) is not None else ch for ch in text)
