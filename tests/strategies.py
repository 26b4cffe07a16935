"""Hypothesis strategies shared by the property tests: hostile text and checkpoint-safe JSON values.

Hostile text mixes plain characters with the fragments attacks are made of (terminal escapes, Rich
markup, RFC 2047 encoded-words, header lines), so shrinking ends on a short, readable example.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import strategies as st

C0_C1 = "".join(chr(c) for c in [*range(0x00, 0x20), *range(0x7F, 0xA0)])
BIDI_OVERRIDES = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
LINE_SEPARATORS = "\u2028\u2029\x85"

# Terminal control (besides newline and tab), escapes and bidirectional overrides.
UNSAFE_FOR_TERMINAL = re.compile(f"[{re.escape(C0_C1.replace(chr(10), '').replace(chr(9), ''))}{BIDI_OVERRIDES}]")
# Anything that may not appear in a one-line value (a header, a table cell).
UNSAFE_ON_ONE_LINE = re.compile(f"[{re.escape(C0_C1)}{BIDI_OVERRIDES}{LINE_SEPARATORS}]")

_ALPHABET = (
    "abcxyzABC019 .,:;@<>\"'()[]{}/\\=?_-+*#%&!"
    + C0_C1
    + BIDI_OVERRIDES
    + LINE_SEPARATORS
    + "\u200b\u200e\ufeff\u00e4\u00df\u0130\u03a3\u4f60\U0001f600\u0301\u3000\u00a0"
)
_FRAGMENTS = [
    "\r\n",
    "\n",
    "\r",
    "\x1b[31m",
    "\x1b[2J",
    "\x1b]8;;http://evil.example\x07",
    "\x1b]8;;\x1b\\",
    "\x1b]0;title\x07",
    "\x9b31m",
    "[/x]",
    "[/]",
    "[link=http://evil.example]",
    "[/link]",
    "[bold]",
    "[",
    "]",
    "\\",
    ":smile:",
    "=?utf-8?q?",
    "=?us-ascii?Q?",
    "=?utf-8?b?",
    "?=",
    "=0D",
    "=0A",
    "=2C",
    "=40",
    "_",
    "Bcc: ",
    "Cc: ",
    "To: ",
    "evil@evil.example",
    "DQo=",
]

hostile_text = st.lists(
    st.one_of(st.sampled_from(_FRAGMENTS), st.text(alphabet=_ALPHABET, max_size=4)), max_size=12
).map("".join)
"""Arbitrary text that leans on the characters and fragments attacks use."""

_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=6)
plain_text = st.text(alphabet="abc xyz-_/\\\"'\n\x00\x1b\u00e4\u00df\u4f60\U0001f600\u202e", max_size=8)
"""Short text with a few characters that serializers tend to get wrong (NUL, escapes, astral, bidi)."""
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | plain_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_names, inner, max_size=3),
    max_leaves=4,
)
"""Plain JSON-like values, the kind of value a checkpoint stores faithfully (no tuples, no NaN)."""
