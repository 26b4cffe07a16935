"""What `sync` remembers between runs, in the checkpoint database: where it stopped reading each
mailbox folder, and the outcomes it found that are not in their job yet.

An outcome is written before the folder's position moves past its message, and marked applied
only once its job's state holds it, so a crash anywhere loses nothing and repeats nothing (the
same message is one row, keyed by folder, UIDVALIDITY and UID).
"""

from __future__ import annotations

from dataclasses import dataclass

from cmo_agent.core.database import Database
from cmo_agent.core.errors import utc_now


@dataclass(frozen=True)
class Event:
    """One incoming message's outcome for one lead of one job."""

    mailbox: str
    uidvalidity: int
    uid: int
    job_id: str
    login: str
    kind: str
    detail: str
    received_at: str | None


class SyncStore:
    """`cmo_sync_state` and `cmo_sync_events` (tables from `core/migrations.py`)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def position(self, mailbox: str) -> tuple[int | None, int]:
        """(UIDVALIDITY, last UID read) of `mailbox`, or (None, 0) before its first sync."""
        rows = self._db.execute("SELECT uidvalidity, last_uid FROM cmo_sync_state WHERE mailbox = ?", [mailbox])
        return (int(rows[0][0]), int(rows[0][1])) if rows else (None, 0)

    def advance(self, mailbox: str, uidvalidity: int, last_uid: int) -> None:
        self._db.execute(
            "INSERT INTO cmo_sync_state (mailbox, uidvalidity, last_uid, synced_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity,"
            " last_uid = excluded.last_uid, synced_at = excluded.synced_at",
            [mailbox, uidvalidity, last_uid, utc_now()],
        )

    def record(self, event: Event) -> None:
        self._db.execute(
            "INSERT INTO cmo_sync_events (mailbox, uidvalidity, uid, job_id, login, kind, detail, received_at,"
            " found_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (mailbox, uidvalidity, uid) DO NOTHING",
            [
                event.mailbox,
                event.uidvalidity,
                event.uid,
                event.job_id,
                event.login,
                event.kind,
                event.detail,
                event.received_at,
                utc_now(),
            ],
        )

    def pending(self, job_id: str | None = None) -> list[Event]:
        """Outcomes not yet in their job's state (of one job, or of all), oldest first."""
        sql = (
            "SELECT mailbox, uidvalidity, uid, job_id, login, kind, detail, received_at FROM cmo_sync_events"
            " WHERE applied_at IS NULL"
        )
        params: list[object] = []
        if job_id is not None:
            sql += " AND job_id = ?"
            params.append(job_id)
        rows = self._db.execute(sql + " ORDER BY found_at, uid", params)
        return [Event(str(r[0]), int(r[1]), int(r[2]), str(r[3]), str(r[4]), str(r[5]), str(r[6]), r[7]) for r in rows]

    def mark_applied(self, events: list[Event]) -> None:
        now = utc_now()
        for event in events:
            self._db.execute(
                "UPDATE cmo_sync_events SET applied_at = ? WHERE mailbox = ? AND uidvalidity = ? AND uid = ?",
                [now, event.mailbox, event.uidvalidity, event.uid],
            )
