"""What a graph step has used so far (GitHub requests, model tokens), readable even when the step
fails before it could report it: counters count what really happened."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol


class UsageSource(Protocol):
    """Anything that counts what it used: a GitHub request meter, an LLM client."""

    def counters(self) -> dict[str, int]: ...


_sources: ContextVar[list[UsageSource] | None] = ContextVar("cmo_usage_sources", default=None)


def track(source: UsageSource) -> None:
    """Count `source` in the step running now (nothing happens outside a step)."""
    sources = _sources.get()
    if sources is not None:
        sources.append(source)


@contextmanager
def collecting() -> Iterator[Callable[[], dict[str, int]]]:
    """Within the block, sources that are tracked are remembered; the yielded function sums their counters."""
    sources: list[UsageSource] = []
    token = _sources.set(sources)

    def total() -> dict[str, int]:
        summed: Counter[str] = Counter()
        for source in sources:
            summed.update(source.counters())
        return {name: value for name, value in summed.items() if value}

    try:
        yield total
    finally:
        _sources.reset(token)
