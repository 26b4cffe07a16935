"""The world's fixed "now" and its timestamp format: every date derives from TAKEN_AT, never the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

TAKEN_AT = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    """GitHub's timestamp format, e.g. ``2026-11-20T12:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def days_ago(days: float) -> datetime:
    """The moment `days` before TAKEN_AT, to the second."""
    return (TAKEN_AT - timedelta(days=days)).replace(microsecond=0)


def day(text: str) -> datetime:
    """Midnight UTC of a ``YYYY-MM-DD`` date."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
