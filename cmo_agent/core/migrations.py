"""Versioned migrations of the project's own tables (job records, pause requests, the delivery
ledger, the suppression list, the GitHub cache, sync's position and outcomes), applied whenever a
database is opened (`core.database.open_database`), so every process finds the schema its code reads.

`cmo_schema_version` holds one row per migration applied (`version`, `name`, `applied_at`); the
database's version is the highest. `migrate` applies the migrations a database lacks in order, all
in one transaction under a lock (SQLite: `BEGIN IMMEDIATE`, the database's write lock; PostgreSQL:
a transaction-level advisory lock), so processes that open a database at once apply each migration
exactly once, and a migration that fails leaves nothing half done (both databases change tables
transactionally). A database at the latest version costs one or two reads per open. LangGraph's
checkpoint tables are not here: its savers' `setup()` keeps their own migrations.

Hand-written rather than a library: yoyo-migrations (plain SQL, SQLite and PostgreSQL) keeps its
own bookkeeping tables and locks with a table row that a killed process leaves behind, and Alembic
brings SQLAlchemy for a handful of CREATE TABLEs; this is one table, one loop, and the locks the
project already relies on.

**Adding a change**: append `Migration(N + 1, "what it does", (...steps...))` to `MIGRATIONS` and
note it in the README's changelog. Never edit a migration that has shipped: a database that applied
it will not apply it again. A step is a SQL statement run on both databases (`?` placeholders) or a
function of the `Database` for what differs between them (`db.postgres`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cmo_agent.core.errors import DatabaseUnavailable, utc_now

if TYPE_CHECKING:
    from cmo_agent.core.database import Database

Step = str | Callable[["Database"], None]


@dataclass(frozen=True)
class Migration:
    """One numbered change of the schema."""

    version: int
    name: str
    steps: tuple[Step, ...]

    def apply(self, db: Database) -> None:
        for step in self.steps:
            if isinstance(step, str):
                db.execute(step)
            else:
                step(db)


class SchemaTooNew(DatabaseUnavailable):
    """The database was migrated by a newer cmo-agent than this one: its tables may not be what this code reads."""


_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS cmo_schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)"""

# Migration 1: the tables as 0.9.0 created them, each where it was created then (core/jobs.py,
# core/ledger.py, core/suppression.py, adapters/github_cache.py, sync/store.py). Every statement
# is idempotent, because a database from before versioned schemas (0.1.0 to 0.9.0) may hold any
# of these tables already: `IF NOT EXISTS`, and the ledger's key change of 0.8.0.
_JOBS = """CREATE TABLE IF NOT EXISTS cmo_jobs (
    job_id TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL,
    goal TEXT NOT NULL,
    status TEXT NOT NULL,
    params TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT,
    error TEXT,
    pid INTEGER,
    host TEXT
)"""
_PAUSE_REQUESTS = """CREATE TABLE IF NOT EXISTS cmo_pause_requests (
    job_id TEXT PRIMARY KEY,
    requested_at TEXT NOT NULL
)"""
_LEDGER = """CREATE TABLE IF NOT EXISTS cmo_ledger (
    job_id TEXT NOT NULL,
    login TEXT NOT NULL,
    step INTEGER NOT NULL DEFAULT 0,
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
    PRIMARY KEY (job_id, login, step)
)"""
_LEDGER_V070_COLUMNS = (
    "job_id, login, message_id, address, sender, state, attempts, last_code, last_error, next_attempt_at,"
    " sent_at, planned_at, updated_at"
)
_SUPPRESSIONS = """CREATE TABLE IF NOT EXISTS cmo_suppressions (
    entry TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    source TEXT NOT NULL,
    added_at TEXT NOT NULL
)"""
_GITHUB_CACHE = """CREATE TABLE IF NOT EXISTS cmo_github_cache (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    fetched_at DOUBLE PRECISION NOT NULL
)"""
_SYNC_STATE = """CREATE TABLE IF NOT EXISTS cmo_sync_state (
    mailbox TEXT PRIMARY KEY,
    uidvalidity BIGINT NOT NULL,
    last_uid BIGINT NOT NULL,
    synced_at TEXT NOT NULL
)"""
_SYNC_EVENTS = """CREATE TABLE IF NOT EXISTS cmo_sync_events (
    mailbox TEXT NOT NULL,
    uidvalidity BIGINT NOT NULL,
    uid BIGINT NOT NULL,
    job_id TEXT NOT NULL,
    login TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    received_at TEXT,
    found_at TEXT NOT NULL,
    applied_at TEXT,
    PRIMARY KEY (mailbox, uidvalidity, uid)
)"""


def _ledger_keyed_by_step(db: Database) -> None:
    """A ledger from before 0.8.0 (keyed by job and lead, without `step`) gets the (job, lead, step)
    key; its rows become step 0 and keep their state."""
    if "step" in db.columns("cmo_ledger"):
        return
    if db.postgres:
        db.execute(
            "ALTER TABLE cmo_ledger ADD COLUMN IF NOT EXISTS step INTEGER NOT NULL DEFAULT 0,"
            " DROP CONSTRAINT IF EXISTS cmo_ledger_pkey, ADD PRIMARY KEY (job_id, login, step)"
        )
        return
    # SQLite cannot change a primary key: the table is rebuilt (inside the migration's transaction).
    db.execute(_LEDGER.replace("cmo_ledger (", "cmo_ledger_v2 (", 1))
    db.execute(f"INSERT INTO cmo_ledger_v2 ({_LEDGER_V070_COLUMNS}) SELECT {_LEDGER_V070_COLUMNS} FROM cmo_ledger")  # noqa: S608 (constant column list)
    db.execute("DROP TABLE cmo_ledger")
    db.execute("ALTER TABLE cmo_ledger_v2 RENAME TO cmo_ledger")


def _work_queue(db: Database) -> None:
    """PostgreSQL: the work queue's tables and functions (procrastinate's schema, as the installed
    procrastinate ships it), unless they are there already. SQLite has no queue: nothing to do.
    Upgrading procrastinate across a schema change takes a new migration applying its migration files."""
    if not db.postgres:
        return
    if db.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")[0][0]:
        return
    from procrastinate.schema import SchemaManager

    db.execute_script(SchemaManager.get_schema())


def _ledger_account_id(db: Database) -> None:
    """The ledger's `account_id` (GitHub's numeric id of the recipient, NULL when unknown), so that a
    person is recognized across jobs after a change of login or address."""
    if "account_id" not in db.columns("cmo_ledger"):
        db.execute("ALTER TABLE cmo_ledger ADD COLUMN account_id BIGINT")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "baseline: jobs, pause requests, ledger keyed (job, lead, step), suppressions, GitHub cache, sync",
        (
            _JOBS,
            _PAUSE_REQUESTS,
            _LEDGER,
            _ledger_keyed_by_step,
            "CREATE INDEX IF NOT EXISTS cmo_ledger_sender_sent ON cmo_ledger (sender, sent_at)",
            "CREATE INDEX IF NOT EXISTS cmo_ledger_address ON cmo_ledger (address)",
            _SUPPRESSIONS,
            _GITHUB_CACHE,
            _SYNC_STATE,
            _SYNC_EVENTS,
        ),
    ),
    Migration(2, "the work queue (procrastinate 3.10's schema; PostgreSQL only)", (_work_queue,)),
    Migration(
        3,
        "ledger: the recipient's GitHub account id; indexes for recontact checks by address, login and account",
        (
            _ledger_account_id,
            "CREATE INDEX IF NOT EXISTS cmo_ledger_login_lower ON cmo_ledger (LOWER(login))",
            "CREATE INDEX IF NOT EXISTS cmo_ledger_address_lower ON cmo_ledger (LOWER(address))",
            "CREATE INDEX IF NOT EXISTS cmo_ledger_account ON cmo_ledger (account_id)",
        ),
    ),
)
LATEST = MIGRATIONS[-1].version
"""The schema version this code reads and writes."""

_ADVISORY_KEY = int.from_bytes(hashlib.sha256(b"cmo-agent/schema").digest()[:8], "big", signed=True)


def schema_version(db: Database) -> int:
    """The database's schema version: the highest migration applied, 0 before the first."""
    if db.postgres:
        found = db.execute("SELECT to_regclass('cmo_schema_version') IS NOT NULL")[0][0]
    else:
        found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cmo_schema_version'")
    if not found:
        return 0
    return int(db.execute("SELECT MAX(version) FROM cmo_schema_version")[0][0] or 0)


def migrate(db: Database, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Apply the migrations `db` lacks, in order, in one transaction under the schema lock; returns
    the versions applied (none when the database is current). SchemaTooNew when a newer cmo-agent
    migrated it; DatabaseUnavailable naming the migration when one fails."""
    latest = migrations[-1].version
    current = schema_version(db)
    _check_known(current, latest)
    if current >= latest:
        return []
    applied: list[int] = []
    step = "the schema lock"
    try:
        with db.transaction():
            if db.postgres:
                db.execute("SELECT pg_advisory_xact_lock(?)", [_ADVISORY_KEY])
            db.execute(_VERSION_TABLE)
            current = int(db.execute("SELECT MAX(version) FROM cmo_schema_version")[0][0] or 0)
            _check_known(current, latest)
            for migration in migrations:
                if migration.version <= current:
                    continue
                step = f"migration {migration.version} ({migration.name})"
                migration.apply(db)
                db.execute(
                    "INSERT INTO cmo_schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                    [migration.version, migration.name, utc_now()],
                )
                applied.append(migration.version)
    except Exception as exc:
        if not type(exc).__module__.startswith(("sqlite3", "psycopg")):
            raise
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DatabaseUnavailable(f"cannot bring the database to schema version {latest}: {step}: {reason}") from exc
    return applied


def _check_known(version: int, latest: int) -> None:
    if version > latest:
        raise SchemaTooNew(
            f"the database has schema version {version}, newer than this cmo-agent knows ({latest}):"
            " use the cmo-agent that wrote it, or a newer one"
        )
