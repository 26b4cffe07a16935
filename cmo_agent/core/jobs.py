"""Job records (status and timestamps) kept in the same database as the checkpoints."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from cmo_agent.core.checkpointer import thread_id_for
from cmo_agent.core.database import Database, open_database
from cmo_agent.core.errors import JobNotFound, utc_now
from cmo_agent.core.job_lock import jobs_running
from cmo_agent.core.records import RunParams

JobStatus = Literal["queued", "running", "paused", "waiting", "awaiting_approval", "done", "failed"]

_COLUMNS = (
    "job_id",
    "thread_id",
    "goal",
    "status",
    "params",
    "created_at",
    "updated_at",
    "finished_at",
    "error",
    "pid",
    "host",
)


@dataclass
class Job:
    """One campaign: what was asked, and where it stands."""

    job_id: str
    thread_id: str
    goal: str
    status: JobStatus
    params: RunParams = field(default_factory=lambda: RunParams())
    created_at: str = ""
    updated_at: str = ""
    finished_at: str | None = None
    error: str | None = None
    pid: int | None = None
    host: str | None = None

    locked: bool = False
    """Whether some process holds the job's lock right now (is running it), read from the database."""

    @property
    def shown_status(self) -> str:
        """The status for people: a `running` job that nobody runs was interrupted (killed, crashed),
        and a job someone has just taken up is running whatever its record says yet."""
        if self.locked:
            return "running"
        if self.status == "running":
            return "interrupted"
        return self.status

    @property
    def runner(self) -> str:
        """Who last ran the job, for messages: `process PID on HOST`."""
        return f"process {self.pid} on {self.host}" if self.pid else "another process"

    def as_dict(self) -> dict[str, Any]:
        record = {name: getattr(self, name) for name in _COLUMNS}
        return record | {"recorded_status": self.status, "status": self.shown_status, "shown_status": self.shown_status}


class JobStore:
    """Reads and writes job records (`cmo_jobs`), and pause requests from other processes
    (`cmo_pause_requests`); both tables come from `core/migrations.py`."""

    def __init__(self, db: Database, url: str) -> None:
        self._execute = db.execute
        self._url = url

    def request_pause(self, job_id: str) -> None:
        self._execute(
            "INSERT INTO cmo_pause_requests (job_id, requested_at) VALUES (?, ?) ON CONFLICT (job_id) DO NOTHING",
            [job_id, utc_now()],
        )

    def pause_requested(self, job_id: str) -> bool:
        return bool(self._execute("SELECT 1 FROM cmo_pause_requests WHERE job_id = ?", [job_id]))

    def clear_pause(self, job_id: str) -> None:
        self._execute("DELETE FROM cmo_pause_requests WHERE job_id = ?", [job_id])

    def create(self, job_id: str, goal: str, params: RunParams) -> Job:
        now = utc_now()
        job = Job(
            job_id, thread_id_for(job_id), goal, "running", params, now, now, pid=os.getpid(), host=socket.gethostname()
        )
        self._execute(
            f"INSERT INTO cmo_jobs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",  # noqa: S608 (constant column names)
            [job.job_id, job.thread_id, goal, job.status, json.dumps(params), now, now, None, None, job.pid, job.host],
        )
        return job

    def exists(self, job_id: str) -> bool:
        return bool(self._execute("SELECT 1 FROM cmo_jobs WHERE job_id = ?", [job_id]))

    def get(self, job_id: str) -> Job:
        rows = self._execute(f"SELECT {', '.join(_COLUMNS)} FROM cmo_jobs WHERE job_id = ?", [job_id])  # noqa: S608 (constant column names)
        if not rows:
            raise JobNotFound(f"no job {job_id!r} in this database")
        job = _job_from_row(rows[0])
        job.locked = job_id in jobs_running(self._url, [job_id])
        return job

    def list(self) -> list[Job]:
        rows = self._execute(f"SELECT {', '.join(_COLUMNS)} FROM cmo_jobs ORDER BY created_at DESC")  # noqa: S608 (constant column names)
        jobs = [_job_from_row(row) for row in rows]
        running = jobs_running(self._url, [job.job_id for job in jobs])
        for job in jobs:
            job.locked = job.job_id in running
        return jobs

    def set_status(self, job_id: str, status: JobStatus, error: str | None = None) -> None:
        now = utc_now()
        finished = now if status in ("done", "failed") else None
        pid = os.getpid() if status == "running" else None
        self._execute(
            "UPDATE cmo_jobs SET status = ?, updated_at = ?, finished_at = ?, error = ?, pid = ?, host = ?"
            " WHERE job_id = ?",
            [status, now, finished, error, pid, socket.gethostname(), job_id],
        )


def _job_from_row(row: tuple[Any, ...]) -> Job:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["params"] = json.loads(values["params"] or "{}")
    return Job(**values)


@contextmanager
def open_job_store(url: str, create: bool = True) -> Iterator[JobStore]:
    """The job store in the database named by the checkpoint URL."""
    with open_database(url, create=create) as db:
        yield JobStore(db, url)
