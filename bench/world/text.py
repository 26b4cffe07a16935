"""Text helpers shared by the world's generators."""

from __future__ import annotations


def upper_first(text: str) -> str:
    """`text` with its first character in upper case and the rest untouched."""
    return text[:1].upper() + text[1:]
