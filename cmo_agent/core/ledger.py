"""The delivery ledger: one row per (job, lead, step), written before and after every SMTP
transaction, in the checkpoint database. It, not the graph's state, decides whether a message may be
sent. Step 0 is a lead's first message, step n its follow-up n.

planned → sending → sent | bounced | deferred (4xx, retried later) | failed | suppressed
A row caught in `sending` by a crash becomes `unknown`: the message may or may not have gone out,
so it is not sent again unless the operator says so (`resume --resend-unknown`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TypeGuard, get_args

from cmo_agent.core.config import Settings
from cmo_agent.core.database import Database, open_database
from cmo_agent.core.errors import utc_now

LedgerState = Literal["planned", "sending", "sent", "bounced", "deferred", "failed", "suppressed", "unknown"]
FinalState = Literal["sent", "bounced", "failed", "suppressed", "unknown"]
"""Decided for good: a message in one of these states is never sent again."""
FINAL_STATES: frozenset[str] = frozenset(get_args(FinalState))


def is_final(state: LedgerState) -> TypeGuard[FinalState]:
    return state in FINAL_STATES


MAY_HAVE_GONE: tuple[str, ...] = ("sending", "sent", "bounced", "unknown")
"""Ledger states of a message that reached (or may have reached) the relay."""


@dataclass(frozen=True)
class Entry:
    job_id: str
    login: str
    step: int
    message_id: str
    address: str
    sender: str
    state: LedgerState
    attempts: int
    last_code: int | None
    last_error: str | None
    next_attempt_at: float
    sent_at: float | None
    account_id: int | None = None
    """The recipient's GitHub account id, when enrichment knew it (migration 3)."""


@dataclass(frozen=True)
class Contact:
    """A message another job sent (or may have sent) to a person: `Ledger.contacted_since`."""

    job_id: str
    address: str
    login: str
    account_id: int | None
    at: float
    """When (Unix time): sent, or last updated for an `unknown` message."""


_COLUMNS = (
    "job_id, login, step, message_id, address, sender, state, attempts, last_code, last_error, next_attempt_at,"
    " sent_at, account_id"
)


class Ledger:
    """Reads and conditional writes of the delivery ledger (`cmo_ledger`, from `core/migrations.py`,
    which also brought 0.7.0 ledgers to the (job, lead, step) key); each write is its own committed
    statement."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def plan(
        self,
        job_id: str,
        login: str,
        message_id: str,
        address: str,
        sender: str,
        step: int = 0,
        account_id: int | None = None,
    ) -> Entry:
        """The row for this message, created as `planned` if it does not exist yet (`account_id`: the
        recipient's GitHub account id, so later jobs recognize the person under another login or address)."""
        now = utc_now()
        self._db.execute(
            f"INSERT INTO cmo_ledger ({_COLUMNS}, planned_at, updated_at)"  # noqa: S608 (constant column list)
            " VALUES (?, ?, ?, ?, ?, ?, 'planned', 0, NULL, NULL, 0, NULL, ?, ?, ?)"
            " ON CONFLICT (job_id, login, step) DO NOTHING",
            [job_id, login, step, message_id, address, sender, account_id, now, now],
        )
        entry = self.get(job_id, login, step)
        assert entry is not None
        return entry

    def get(self, job_id: str, login: str, step: int = 0) -> Entry | None:
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM cmo_ledger WHERE job_id = ? AND login = ? AND step = ?",  # noqa: S608
            [job_id, login, step],
        )
        return Entry(*rows[0]) if rows else None

    def mailed_elsewhere(self, job_id: str, address: str) -> str | None:
        """Another job that sent (or may have sent) `address` anything, if one did."""
        marks = ", ".join("?" * len(MAY_HAVE_GONE))
        rows = self._db.execute(
            f"SELECT job_id FROM cmo_ledger WHERE address = ? AND job_id <> ? AND state IN ({marks})"  # noqa: S608
            " ORDER BY planned_at LIMIT 1",
            [address, job_id, *MAY_HAVE_GONE],
        )
        return str(rows[0][0]) if rows else None

    def contacted_since(
        self,
        job_id: str,
        since: float,
        addresses: Iterable[str] = (),
        logins: Iterable[str] = (),
        account_ids: Iterable[int] = (),
    ) -> list[Contact]:
        """Messages other jobs than `job_id` sent over SMTP (`sent`, or `unknown`: it may have gone) since
        `since` (Unix time) to any of these addresses (compared lowercased), logins (likewise) or
        account ids; one row per (job, address, login, account), newest first. Uses the ledger's
        indexes on address, login and account_id, in chunks of 300 keys."""
        since_text = datetime.fromtimestamp(since, UTC).isoformat(timespec="seconds")
        found: dict[tuple[str, str, str, int | None], float] = {}
        for column, keys in (
            ("LOWER(address)", sorted({a.lower() for a in addresses})),
            ("LOWER(login)", sorted({x.lower() for x in logins})),
            ("account_id", sorted(set(account_ids))),
        ):
            for start in range(0, len(keys), 300):
                chunk: list[str | int] = list(keys[start : start + 300])
                marks = ", ".join("?" * len(chunk))
                rows = self._db.execute(
                    "SELECT job_id, address, login, account_id, COALESCE(sent_at, 0), updated_at FROM cmo_ledger"  # noqa: S608 (constant columns)
                    f" WHERE {column} IN ({marks}) AND job_id <> ? AND state IN ('sent', 'unknown')"
                    " AND (sent_at >= ? OR (sent_at IS NULL AND updated_at >= ?))",
                    [*chunk, job_id, since, since_text],
                )
                for row in rows:
                    when = float(row[4]) or datetime.fromisoformat(str(row[5])).timestamp()
                    key = (str(row[0]), str(row[1]), str(row[2]), None if row[3] is None else int(row[3]))
                    found[key] = max(when, found.get(key, 0.0))
        return sorted(
            (Contact(job, address, login, account, when) for (job, address, login, account), when in found.items()),
            key=lambda c: (-c.at, c.job_id),
        )

    def all_entries(self) -> list[Entry]:
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM cmo_ledger ORDER BY job_id, login, step")  # noqa: S608
        return [Entry(*row) for row in rows]

    def entries(self, job_id: str) -> list[Entry]:
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM cmo_ledger WHERE job_id = ? ORDER BY login, step", [job_id])  # noqa: S608
        return [Entry(*row) for row in rows]

    def begin_send(self, job_id: str, login: str, step: int = 0) -> bool:
        """Move a planned or deferred row to `sending`; False when it is in any other state (never send then)."""
        rows = self._db.execute(
            "UPDATE cmo_ledger SET state = 'sending', attempts = attempts + 1, updated_at = ?"
            " WHERE job_id = ? AND login = ? AND step = ? AND state IN ('planned', 'deferred') RETURNING login",
            [utc_now(), job_id, login, step],
        )
        return bool(rows)

    def finish(
        self,
        job_id: str,
        login: str,
        state: LedgerState,
        code: int | None = None,
        error: str | None = None,
        step: int = 0,
    ) -> None:
        """Record how a transaction ended (`sent` also records when, for pacing)."""
        sent_at = time.time() if state in ("sent", "bounced") else None
        self._db.execute(
            "UPDATE cmo_ledger SET state = ?, last_code = ?, last_error = ?, sent_at = COALESCE(?, sent_at),"
            " updated_at = ? WHERE job_id = ? AND login = ? AND step = ?",
            [state, code, error, sent_at, utc_now(), job_id, login, step],
        )

    def defer(self, job_id: str, login: str, code: int | None, error: str, retry_at: float, step: int = 0) -> None:
        """A temporary failure (4xx): try again at `retry_at`, never counted as sent."""
        self._db.execute(
            "UPDATE cmo_ledger SET state = 'deferred', last_code = ?, last_error = ?, next_attempt_at = ?,"
            " updated_at = ? WHERE job_id = ? AND login = ? AND step = ?",
            [code, error, retry_at, utc_now(), job_id, login, step],
        )

    def release(self, job_id: str, login: str, error: str, step: int = 0) -> None:
        """Back to `planned` after a transaction that never reached the recipient stage (no connection)."""
        self._db.execute(
            "UPDATE cmo_ledger SET state = 'planned', attempts = attempts - 1, last_error = ?, updated_at = ?"
            " WHERE job_id = ? AND login = ? AND step = ? AND state = 'sending'",
            [error, utc_now(), job_id, login, step],
        )

    def settle_interrupted(self, job_id: str, resend_unknown: bool = False) -> list[tuple[str, int]]:
        """After a crash: rows left in `sending` become `unknown` (or `planned` again with
        `resend_unknown`, which also requeues earlier unknowns). Returns the (login, step)s affected."""
        states = "('sending', 'unknown')" if resend_unknown else "('sending')"
        target = "planned" if resend_unknown else "unknown"
        rows = self._db.execute(
            f"UPDATE cmo_ledger SET state = ?, updated_at = ? WHERE job_id = ? AND state IN {states}"  # noqa: S608
            " RETURNING login, step",
            [target, utc_now(), job_id],
        )
        return sorted((str(row[0]), int(row[1])) for row in rows)

    def sent_since(self, sender: str, since: float) -> list[float]:
        """When this sender's messages went out (sent or bounced) since `since`, oldest first, across jobs."""
        rows = self._db.execute(
            "SELECT sent_at FROM cmo_ledger WHERE sender = ? AND sent_at IS NOT NULL AND sent_at >= ? ORDER BY sent_at",
            [sender, since],
        )
        return [float(row[0]) for row in rows]

    def outcomes_since(self, job_id: str, since: float) -> tuple[int, int]:
        """(messages that went out, of which hard bounces) for the job since `since`."""
        rows = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN state = 'bounced' THEN 1 ELSE 0 END), 0) FROM cmo_ledger"
            " WHERE job_id = ? AND sent_at IS NOT NULL AND sent_at >= ?",
            [job_id, since],
        )
        return int(rows[0][0]), int(rows[0][1])


@contextmanager
def open_ledger(settings: Settings) -> Iterator[Ledger]:
    """The ledger in the settings' checkpoint database."""
    with open_database(settings.resolved_checkpoint_url()) as db:
        yield Ledger(db)
