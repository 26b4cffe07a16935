"""Repository search past GitHub's cap of 1,000 results per query: the query is split into
narrower star ranges (keyset by stars), and a single star count with too many repositories into
creation-date windows."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

SEARCH_CAP = 1000
PER_PAGE = 100
FIRST_REPOSITORY_DAY = date(2007, 10, 1)

FetchPage = Callable[[str, int], tuple[int, bool, list[dict[str, Any]]]]
"""(query, page number) → (total_count, incomplete_results, raw items) of one search page."""

V = TypeVar("V", int, date)


@dataclass
class SearchLog:
    """What the search did: every query sent, pages flagged incomplete, windows GitHub cut short."""

    queries: list[str] = field(default_factory=list)
    incomplete_pages: int = 0
    truncated: list[str] = field(default_factory=list)


def take_range(query: str, key: str, cast: Callable[[str], V]) -> tuple[str, V | None, V | None] | None:
    """The query without its `key:` qualifier and that qualifier's inclusive bounds; None when the
    qualifier's value is not a plain range this module can narrow."""
    found = re.findall(rf"(?<!\S){key}:(\S+)", query)
    rest = " ".join(re.sub(rf"(?<!\S){key}:\S+", " ", query).split())
    if not found:
        return rest, None, None
    if len(found) > 1:
        return None
    value = found[0]
    step: Any = 1 if cast is int else timedelta(days=1)
    try:
        if ".." in value:
            low, high = value.split("..", 1)
            return rest, None if low == "*" else cast(low), None if high == "*" else cast(high)
        for op in (">=", "<=", ">", "<"):
            if value.startswith(op):
                bound = cast(value[len(op) :])
                return {
                    ">=": (rest, bound, None),
                    ">": (rest, bound + step, None),
                    "<=": (rest, None, bound),
                    "<": (rest, None, bound - step),
                }[op]
        exact = cast(value)
    except ValueError:
        return None
    return rest, exact, exact


def with_range(query: str, key: str, low: object | None, high: object | None) -> str:
    """`query` with `key:low..high` (`*` for an open end) appended, or unchanged when unbounded."""
    if low is None and high is None:
        return query
    return f"{query} {key}:{'*' if low is None else low}..{'*' if high is None else high}".strip()


def search_all(query: str, fetch: FetchPage, log: SearchLog, today: date | None = None) -> Iterator[dict[str, Any]]:
    """Every repository matching `query`, most starred first, each once; stop iterating to stop
    sending requests."""
    seen: set[str] = set()
    for item in _by_stars(query, fetch, log, today or datetime.now(UTC).date()):
        if item["full_name"] not in seen:
            seen.add(item["full_name"])
            yield item


def _pages(query: str, fetch: FetchPage, log: SearchLog) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """The pages GitHub shows for `query` (at most SEARCH_CAP results), with its total count."""
    for page in range(1, SEARCH_CAP // PER_PAGE + 1):
        log.queries.append(query)
        total, incomplete, items = fetch(query, page)
        log.incomplete_pages += int(incomplete)
        yield total, items
        if len(items) < PER_PAGE or page * PER_PAGE >= min(total, SEARCH_CAP):
            return


def _by_stars(query: str, fetch: FetchPage, log: SearchLog, today: date) -> Iterator[dict[str, Any]]:
    parsed = take_range(query, "stars", int)
    if parsed is None:
        yield from _shown(query, fetch, log)
        return
    base, low, high = parsed
    while high is None or high >= max(low or 0, 0):
        window = with_range(base, "stars", low, high)
        shown, total, first, last = 0, 0, None, None
        for page_total, items in _pages(window, fetch, log):
            total = page_total
            for item in items:
                shown += 1
                first = item["stargazers_count"] if first is None else first
                last = item["stargazers_count"]
                yield item
            if total > SEARCH_CAP and first == last:
                break  # So far one star count, with more than GitHub shows: split that one by dates.
        if shown >= total or first is None or last is None:
            return
        if first == last:
            yield from _by_created(with_range(base, "stars", last, last), fetch, log, today)
            high = last - 1
        else:
            high = last


def _by_created(query: str, fetch: FetchPage, log: SearchLog, today: date) -> Iterator[dict[str, Any]]:
    parsed = take_range(query, "created", date.fromisoformat)
    if parsed is None:
        log.truncated.append(query)
        yield from _shown(query, fetch, log)
        return
    base, low, high = parsed
    yield from _window(base, low or FIRST_REPOSITORY_DAY, high or today, fetch, log)


def _window(base: str, start: date, end: date, fetch: FetchPage, log: SearchLog) -> Iterator[dict[str, Any]]:
    query = with_range(base, "created", start.isoformat(), end.isoformat())
    pages = _pages(query, fetch, log)
    total, items = next(pages)
    if total > SEARCH_CAP and start < end:
        middle = start + (end - start) // 2
        yield from _window(base, start, middle, fetch, log)
        yield from _window(base, middle + timedelta(days=1), end, fetch, log)
        return
    if total > SEARCH_CAP:
        log.truncated.append(query)
    yield from items
    for _, more in pages:
        yield from more


def _shown(query: str, fetch: FetchPage, log: SearchLog) -> Iterator[dict[str, Any]]:
    for _, items in _pages(query, fetch, log):
        yield from items
