"""A 0.7.0 ledger (keyed by job and lead) is brought to the (job, lead, step) key when first opened
(schema migration 1): its rows become step 0 and keep their state, and a follow-up of the same lead
gets its own row."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmo_agent.core.database import open_database
from cmo_agent.core.ledger import Ledger

V070_SCHEMA = """
CREATE TABLE cmo_ledger (
    job_id TEXT NOT NULL,
    login TEXT NOT NULL,
    message_id TEXT NOT NULL,
    address TEXT NOT NULL,
    sender TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_code INTEGER,
    last_error TEXT,
    next_attempt_at DOUBLE PRECISION NOT NULL DEFAULT 0,
    sent_at DOUBLE PRECISION,
    planned_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (job_id, login)
)
"""


def _check_migration(url: str) -> None:
    with open_database(url, migrate=False) as db:  # a database from before versioned schemas
        db.execute(V070_SCHEMA)
        for login, state in (("ada", "sent"), ("bob", "unknown")):
            db.execute(
                "INSERT INTO cmo_ledger VALUES (?, ?, ?, ?, ?, ?, 1, 250, NULL, 0, 1764230400.0, 'then', 'then')",
                ["job", login, f"<{login}@x>", f"{login}@example.org", "dana@example.com", state],
            )
    with open_database(url) as db:
        ledger = Ledger(db)
        assert [(e.login, e.step, e.state, e.message_id) for e in ledger.entries("job")] == [
            ("ada", 0, "sent", "<ada@x>"),
            ("bob", 0, "unknown", "<bob@x>"),
        ]
        follow_up = ledger.plan("job", "ada", "<ada-1@x>", "ada@example.org", "dana@example.com", step=1)
        assert (follow_up.step, follow_up.state) == (1, "planned")
        assert ledger.begin_send("job", "ada", 1) and not ledger.begin_send("job", "ada", 0)
        assert ledger.sent_since("dana@example.com", 0) == [1764230400.0, 1764230400.0]
    with open_database(url) as db:  # opening it again changes nothing
        again = Ledger(db)
        assert [(e.login, e.step, e.state) for e in again.entries("job")] == [
            ("ada", 0, "sent"),
            ("ada", 1, "sending"),
            ("bob", 0, "unknown"),
        ]


def test_a_070_ledger_migrates_on_sqlite(tmp_path: Path) -> None:
    _check_migration(f"sqlite:///{tmp_path / 'cmo.db'}")


@pytest.mark.e2e
def test_a_070_ledger_migrates_on_postgres(postgres_url: str) -> None:
    _check_migration(postgres_url)
