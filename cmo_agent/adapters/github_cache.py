"""GitHub answers kept across jobs for a while, so a second campaign over the same people costs little.

Entries live in the checkpoint database, keyed by API base URL and what was asked (a repository's
contributors or commit page, a person's profile or commits), and expire after the configured TTL.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cmo_agent.core.config import Settings
from cmo_agent.core.database import Database, open_database

_MISS = object()


class GitHubCache:
    """A TTL cache of JSON values (`cmo_github_cache`, from `core/migrations.py`); safe to share
    between the threads of one node."""

    def __init__(self, db: Database, scope: str, ttl: float) -> None:
        self._db = db
        self._scope = scope
        self._ttl = ttl
        self._lock = threading.Lock()

    def get(self, *key: str) -> Any:
        """The cached value, or `MISS` when absent or older than the TTL."""
        with self._lock:
            rows = self._db.execute("SELECT value, fetched_at FROM cmo_github_cache WHERE key = ?", [self._key(key)])
        if not rows or time.time() - float(rows[0][1]) > self._ttl:
            return _MISS
        return json.loads(rows[0][0])

    def put(self, value: Any, *key: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO cmo_github_cache (key, value, fetched_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value, fetched_at = excluded.fetched_at",
                [self._key(key), json.dumps(value), time.time()],
            )

    def _key(self, key: tuple[str, ...]) -> str:
        return "|".join((self._scope, *key))


MISS = _MISS


@contextmanager
def open_github_cache(settings: Settings) -> Iterator[GitHubCache | None]:
    """The cache for this GitHub host, or None when `CMO_GITHUB_CACHE_TTL` is 0."""
    if settings.github_cache_ttl <= 0:
        yield None
        return
    with open_database(settings.resolved_checkpoint_url()) as db:
        yield GitHubCache(db, settings.github_api_url.rstrip("/"), settings.github_cache_ttl)
