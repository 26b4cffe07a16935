"""One runner per job: a lock taken atomically before a run and held until it ends.

PostgreSQL: a session advisory lock on a connection of its own. SQLite: an exclusive `flock` on a
file beside the database. Both are released by the system when the holder dies (kill -9
included), so a crashed job never stays "locked"; a process id is never trusted for this.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cmo_agent.core.checkpointer import thread_id_for
from cmo_agent.core.database import connect_postgres, is_postgres, sqlite_path
from cmo_agent.core.errors import ConfigError


class JobBusy(ConfigError):
    """Another process holds the job's lock (it is running the job)."""


def advisory_key(job_id: str) -> int:
    """The job's signed 64-bit PostgreSQL advisory lock key."""
    digest = hashlib.sha256(f"cmo-agent/job/{job_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_file(url: str, job_id: str) -> Path:
    """Where a SQLite database keeps the lock file of a job (named by its thread UUID: always a safe name)."""
    db = sqlite_path(url)
    return db.with_name(db.name + ".locks") / f"{thread_id_for(job_id)}.lock"


@contextmanager
def hold_job_lock(url: str, job_id: str, wait: float = 2.0) -> Iterator[None]:
    """Hold `job_id`'s lock for the block; JobBusy when another process holds it for `wait` seconds.

    The short wait lets a concurrent `status` probe (which holds a shared lock for microseconds)
    pass; two runners started together still never both get it.
    """
    if is_postgres(url):
        with _hold_advisory(url, job_id, wait):
            yield
        return
    path = lock_file(url, job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _take(lambda: _try_flock(fd, fcntl.LOCK_EX), wait, job_id)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def _hold_advisory(url: str, job_id: str, wait: float) -> Iterator[None]:
    key = advisory_key(job_id)
    with connect_postgres(url) as conn:
        _take(lambda: bool(conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]), wait, job_id)  # type: ignore[index]
        try:
            yield
        finally:
            # Closing the connection releases the lock too: an unlock that fails (the server dropped
            # the connection mid-run) must not hide how the run ended.
            with contextlib.suppress(Exception):
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


def _take(try_lock: Callable[[], bool], wait: float, job_id: str) -> None:
    """Call `try_lock` until it succeeds; JobBusy once `wait` seconds have passed."""
    deadline = time.monotonic() + wait
    while not try_lock():
        if time.monotonic() >= deadline:
            raise JobBusy(f"job {job_id!r} is being run by another process")
        time.sleep(0.05)


def _try_flock(fd: int, kind: int) -> bool:
    try:
        fcntl.flock(fd, kind | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def jobs_running(url: str, job_ids: Iterable[str]) -> set[str]:
    """Which of `job_ids` some process is running now (holds the lock of). Creates nothing."""
    job_ids = list(job_ids)
    if not job_ids:
        return set()
    if is_postgres(url):
        with connect_postgres(url) as conn:
            # A bigint key shows as classid (high 32 bits) and objid (low); the shift wraps back to the signed key.
            rows = conn.execute(
                "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks"
                " WHERE locktype = 'advisory' AND objsubid = 1 AND granted AND database ="
                " (SELECT oid FROM pg_database WHERE datname = current_database())"
            ).fetchall()
        held = {int(row[0]) for row in rows}
        return {job_id for job_id in job_ids if advisory_key(job_id) in held}
    return {job_id for job_id in job_ids if _flock_held(lock_file(url, job_id))}


def _flock_held(path: Path) -> bool:
    """True when another open file holds an exclusive lock on `path` (probed with a shared lock)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        if not _try_flock(fd, fcntl.LOCK_SH):
            return True
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
