"""The project's exceptions and the error records that nodes put in RunState."""

from __future__ import annotations

import hashlib
import traceback
from datetime import UTC, datetime
from typing import Any


class CmoError(Exception):
    """Base of the project's own errors."""


class ConfigError(CmoError):
    """Bad input or configuration: reported in one line, exit code 2, nothing started."""


class JobNotFound(ConfigError):
    """No job with that id in the database."""


class MalformedAnswer(CmoError):
    """An outside service answered with data the product cannot use (a field missing or of the wrong type).

    It fails the step (the job is resumable) rather than being stored or guessed around.
    """


class DatabaseUnavailable(ConfigError):
    """The checkpoint database cannot be opened or reached (unreadable, corrupt, refused)."""


class DatabaseMissing(DatabaseUnavailable):
    """A read-only command found no SQLite database (and created none)."""


def quoted(text: str, limit: int) -> str:
    """Untrusted text (model output, profile text) for a note or reason: repr-escaped, on one line, cut short."""
    return repr(text[:limit] + ("…" if len(text) > limit else ""))


def utc_now() -> str:
    """The current time as an ISO 8601 UTC string."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def error_record(stage: str, item: str, exc: BaseException, **context: Any) -> dict[str, Any]:
    """An entry for RunState.errors: stage, item, the exception with its trace, and input context.

    The id is derived from stage, item and message, so recording the same failure twice keeps one.
    """
    message = f"{type(exc).__name__}: {exc}"
    digest = hashlib.sha256(f"{stage}|{item}|{message}".encode()).hexdigest()[:16]
    return {
        "id": digest,
        "stage": stage,
        "item": item,
        "error": message,
        "traceback": "".join(traceback.format_exception(exc)),
        "context": context,
        "at": utc_now(),
    }
