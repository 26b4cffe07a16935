"""Where the project's bundled files (prompts, demo snapshot) are, in a checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_path(relative: str) -> Path:
    """`relative` (e.g. "prompts/email") in the wheel's bundle, else in the source checkout."""
    bundled = _PACKAGE / "_bundled" / relative
    return bundled if bundled.exists() else _PACKAGE.parent / relative
