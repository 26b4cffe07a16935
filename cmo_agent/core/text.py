"""Untrusted text (from GitHub, the model or the user) made safe to show or send.

Terminal escape sequences, control characters and bidirectional overrides are removed, so text can
neither drive a terminal nor disguise itself; what remains is printed as text, never as markup.
"""

from __future__ import annotations

import re

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), and the other escapes: ESC, intermediates, a final.
_ESCAPE_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -/]*[0-~]?")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BIDI_CONTROL = re.compile("[\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x85]+")


def strip_controls(text: str, keep_newlines: bool = True) -> str:
    """`text` without escape sequences, control characters (tab and, if kept, newline aside) or
    bidirectional overrides. Carriage returns become newlines first, so no line is overwritten."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ESCAPE_SEQUENCE.sub("", text)
    if not keep_newlines:
        text = _LINE_BREAKS.sub(" ", text)
    return _BIDI_CONTROL.sub("", _CONTROL.sub("", text))


def one_line(text: str) -> str:
    """Untrusted text for one line (a header, a table cell): controls stripped, line breaks as spaces."""
    return strip_controls(text, keep_newlines=False)


def terminal_text(value: object) -> str:
    """Any value as text safe for a terminal (print it with markup off)."""
    return strip_controls(str(value))


def is_valid_utf8(text: str) -> bool:
    """False for text that came from bytes that were not UTF-8 (Python keeps them as lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
