"""The clock that waits are measured by (follow-ups, send windows); tests freeze it with `frozen`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

_frozen: list[float] = []


def now() -> float:
    """The current Unix time, or the instant `frozen` holds."""
    return _frozen[-1] if _frozen else time.time()


@contextmanager
def frozen(at: datetime | float) -> Iterator[None]:
    """Make `now()` return `at` (an aware datetime, or Unix time) in every thread until the block ends.

    For tests and benchmarks that run a campaign in process at a chosen instant; nothing in the
    product freezes it."""
    _frozen.append(at.timestamp() if isinstance(at, datetime) else float(at))
    try:
        yield
    finally:
        _frozen.pop()
