"""Versioned schemas: the project's tables come from numbered migrations, applied once per database
(also by processes that open it at once), and a RunState carries its schema version.

SQLite in process for the fast tier; the PostgreSQL tests and the one with real processes are e2e."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cmo_agent.core.database import Database, open_database
from cmo_agent.core.errors import ConfigError, DatabaseMissing, DatabaseUnavailable
from cmo_agent.core.ledger import Ledger
from cmo_agent.core.migrations import LATEST, MIGRATIONS, Migration, SchemaTooNew, migrate, schema_version
from cmo_agent.core.state import STATE_VERSION, RunState, new_run_state
from cmo_agent.core.state_migrations import check_known, completion, lacks_completion, stamp

FIXTURE = Path(__file__).parents[1] / "fixtures" / "v0_5_0" / "cmo_agent.db"
TABLES = {
    "cmo_jobs",
    "cmo_pause_requests",
    "cmo_ledger",
    "cmo_suppressions",
    "cmo_github_cache",
    "cmo_sync_state",
    "cmo_sync_events",
}


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cmo.db'}"


def _applied(db: Database) -> list[tuple[int, str]]:
    return [(int(row[0]), str(row[1])) for row in db.execute("SELECT version, name FROM cmo_schema_version")]


def _tables(db: Database) -> set[str]:
    if db.postgres:
        rows = db.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
    else:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {str(row[0]) for row in rows}


def _check_fresh_database(url: str) -> None:
    with open_database(url) as db:
        assert schema_version(db) == LATEST
        assert _applied(db) == [(m.version, m.name) for m in MIGRATIONS]
        assert TABLES | {"cmo_schema_version"} <= _tables(db)
        assert "step" in db.columns("cmo_ledger")
        stamped = db.execute("SELECT applied_at FROM cmo_schema_version")
        assert migrate(db) == []  # applying again is a no-op
    with open_database(url) as db:  # and so is opening it again
        assert db.execute("SELECT applied_at FROM cmo_schema_version") == stamped


def test_a_fresh_database_gets_every_migration_once(tmp_path: Path) -> None:
    _check_fresh_database(_sqlite(tmp_path))


def test_versions_are_numbered_in_order_and_named() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert all(m.name and m.steps for m in MIGRATIONS)


def test_a_read_only_open_never_creates_a_database(tmp_path: Path) -> None:
    with pytest.raises(DatabaseMissing), open_database(_sqlite(tmp_path), create=False):
        pass
    assert not (tmp_path / "cmo.db").exists()


def _slow_migrations(calls: list[int], wait: float = 0.2) -> tuple[Migration, ...]:
    """Migration 1 takes `wait` seconds and counts its runs: long enough for others to try at once."""

    def slow(db: Database) -> None:
        calls.append(1)
        db.execute("CREATE TABLE slow_one (x INTEGER)")
        time.sleep(wait)

    return (Migration(1, "slow", (slow,)), Migration(2, "after", ("CREATE TABLE after_one (x INTEGER)",)))


def _migrate_at_once(url: str, workers: int) -> tuple[list[int], list[list[int]], list[BaseException]]:
    calls: list[int] = []
    applied: list[list[int]] = []
    failures: list[BaseException] = []
    start = threading.Barrier(workers)

    def worker() -> None:
        try:
            with open_database(url, migrate=False) as db:
                start.wait()
                applied.append(migrate(db, _slow_migrations(calls)))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return calls, applied, failures


def _check_concurrent(url: str) -> None:
    calls, applied, failures = _migrate_at_once(url, workers=4)
    assert failures == []
    assert calls == [1], "the slow migration ran more than once"
    assert sorted(applied) == [[], [], [], [1, 2]]
    with open_database(url, migrate=False) as db:
        assert _applied(db) == [(1, "slow"), (2, "after")]


def test_connections_migrating_at_once_apply_each_migration_once(tmp_path: Path) -> None:
    _check_concurrent(_sqlite(tmp_path))


def test_a_failing_migration_leaves_nothing_half_done(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    broken = (
        Migration(1, "fine", ("CREATE TABLE first_one (x INTEGER)",)),
        Migration(2, "broken", ("CREATE TABLE second_one (x INTEGER)", "INSERT INTO missing_table VALUES (1)")),
    )
    with open_database(url, migrate=False) as db:
        with pytest.raises(DatabaseUnavailable, match=r"migration 2 \(broken\).*missing_table"):
            migrate(db, broken)
        assert schema_version(db) == 0
        assert not {"first_one", "second_one"} & _tables(db)
        assert migrate(db, broken[:1]) == [1]  # fixed: the next open applies it


def test_a_database_from_a_newer_cmo_agent_is_refused(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    with open_database(url) as db:
        db.execute("INSERT INTO cmo_schema_version VALUES (?, 'from the future', 'later')", [LATEST + 1])
    with pytest.raises(SchemaTooNew, match=f"schema version {LATEST + 1}, newer"), open_database(url):
        pass
    assert issubclass(SchemaTooNew, ConfigError)  # one line, exit code 2


def test_the_050_fixture_migrates_keeping_its_rows(tmp_path: Path) -> None:
    """The committed 0.5.0 database: version 0, its ledger keyed by job and lead; after opening it,
    version LATEST, every table, the same jobs, and the ledger's rows as step 0."""
    db_file = tmp_path / "cmo.db"
    shutil.copyfile(FIXTURE, db_file)
    url = f"sqlite:///{db_file}"
    with open_database(url, migrate=False) as db:
        assert schema_version(db) == 0
        assert "step" not in db.columns("cmo_ledger")
        jobs = db.execute("SELECT job_id, status FROM cmo_jobs ORDER BY job_id")
        cached = db.execute("SELECT COUNT(*) FROM cmo_github_cache")
    with open_database(url) as db:
        assert schema_version(db) == LATEST
        assert _tables(db) >= TABLES
        assert db.execute("SELECT job_id, status FROM cmo_jobs ORDER BY job_id") == jobs
        assert jobs == [("v050-demo", "paused"), ("v050-done", "done"), ("v050-smtp", "done")]
        assert db.execute("SELECT COUNT(*) FROM cmo_github_cache") == cached
        entries = Ledger(db).entries("v050-smtp")
        assert len(entries) == 5
        assert {(e.step, e.state) for e in entries} == {(0, "sent")}


def test_a_new_run_state_carries_the_current_schema_version() -> None:
    assert new_run_state("job", "goal")["schema_version"] == STATE_VERSION


@pytest.mark.parametrize(
    ("state", "stamped"),
    [
        (RunState(job_id="old"), RunState(schema_version=STATE_VERSION)),
        (RunState(job_id="old", schema_version=0), RunState(schema_version=STATE_VERSION)),
        (RunState(job_id="new", schema_version=STATE_VERSION), RunState()),
    ],
)
def test_a_stage_step_writes_the_version_only_on_an_older_state(state: RunState, stamped: RunState) -> None:
    assert stamp(state) == stamped


def test_an_older_finished_state_is_completed_at_its_report_time() -> None:
    assert lacks_completion(RunState(job_id="v050"))
    assert not lacks_completion(RunState(job_id="v060", completed_at="then"))
    assert not lacks_completion(new_run_state("new", "goal"))
    assert completion("2026-11-27T09:30:00+00:00") == RunState(
        completed_at="2026-11-27T09:30:00+00:00", schema_version=STATE_VERSION
    )


def test_a_state_from_a_newer_cmo_agent_is_refused() -> None:
    check_known("job", RunState(schema_version=STATE_VERSION))
    with pytest.raises(ConfigError, match="newer cmo-agent"):
        check_known("job", RunState(schema_version=STATE_VERSION + 1))


@pytest.mark.e2e
def test_a_fresh_postgresql_database_gets_every_migration_once(postgres_url: str) -> None:
    _check_fresh_database(postgres_url)


@pytest.mark.e2e
def test_connections_migrating_a_postgresql_database_at_once_apply_each_migration_once(postgres_url: str) -> None:
    _check_concurrent(postgres_url)


@pytest.mark.e2e
def test_processes_opening_a_new_database_at_once_migrate_it_once(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    opener = f"from cmo_agent.core.database import open_database\nwith open_database({url!r}): pass\n"
    procs = [subprocess.Popen([sys.executable, "-c", opener]) for _ in range(6)]
    assert [proc.wait(timeout=60) for proc in procs] == [0] * 6
    with open_database(url, migrate=False) as db:
        assert _applied(db) == [(m.version, m.name) for m in MIGRATIONS]
