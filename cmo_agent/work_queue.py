"""Campaigns as jobs on a PostgreSQL task queue (procrastinate): `run --enqueue`, `resume --enqueue`,
follow-up steps scheduled at their due time, and the task a `cmo-agent worker` runs.

One queued task per job at a time (procrastinate's queueing lock is the job id), and one runner
per job everywhere (the job's advisory lock, as for the CLI): a worker that finds the job held by
another process skips it. A worker killed mid-job leaves its task `doing` with a heartbeat that
stops; another worker puts it back (`recover_stalled`), and the job resumes from its last checkpoint,
the ledger keeping every message to at most one send.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from cmo_agent.core.config import Settings
from cmo_agent.core.database import is_postgres, redact_url
from cmo_agent.core.errors import ConfigError

TASK = "cmo.run_job"
QUEUE = "campaigns"

log = logging.getLogger(__name__)


def queue_url(settings: Settings) -> str:
    """The PostgreSQL database the queue lives in (the checkpoint database); ConfigError for SQLite."""
    url = settings.resolved_checkpoint_url()
    if not is_postgres(url):
        raise ConfigError(
            "the work queue needs PostgreSQL: set CMO_CHECKPOINT_URL=postgresql://... (it is "
            f"{redact_url(url)}); without a queue, `run` and `resume` run the job in this process"
        )
    return url


def ensure_queue_schema(url: str) -> None:
    """Bring the database to the latest schema, the queue's tables included (migration 2)."""
    from cmo_agent.core.database import open_database

    with open_database(url):
        pass


def queue_app(url: str) -> Any:
    """The procrastinate app on `url`, with the campaign task registered."""
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))
    app.task(name=TASK, queue=QUEUE, pass_context=True)(run_job)
    return app


@contextmanager
def opened_queue(settings: Settings) -> Iterator[Any]:
    """The queue app, open for deferring (its schema created if needed)."""
    url = queue_url(settings)
    ensure_queue_schema(url)
    app = queue_app(url)
    with app.open():
        yield app


def defer_job(app: Any, job_id: str, at: float | None = None) -> bool:
    """Queue the job (at `at`, a Unix time, when given); False when it is already queued."""
    from procrastinate.exceptions import AlreadyEnqueued

    options: dict[str, Any] = {"queueing_lock": job_id, "lock": job_id}
    if at is not None:
        options["schedule_at"] = datetime.fromtimestamp(at, UTC)
    try:
        app.configure_task(TASK, **options).defer(job_id=job_id)
    except AlreadyEnqueued:
        return False
    return True


_worker_stop = threading.Event()
"""Set when the worker process drains: every job it runs drains with it (`runner.Host`)."""


def run_job(context: Any, job_id: str) -> None:
    """The task: run (or resume) the job here until it ends, pauses or waits; a job that waits for
    its next follow-up step is queued again for its due time."""
    from cmo_agent.core.job_lock import JobBusy
    from cmo_agent.runner import Host, hosted_by, resume_campaign

    settings = Settings()
    with hosted_by(Host(signals=False, stop=_worker_stop)):
        try:
            outcome = resume_campaign(settings, job_id)
        except JobBusy as exc:  # another process runs it: look again once that may have ended
            log.info("job %s skipped for now: %s", job_id, exc)
            with opened_queue(settings) as app:
                defer_job(app, job_id, at=time.time() + settings.worker_stalled_after)
            return
    log.info("job %s: %s%s", job_id, outcome.status, f" ({outcome.reason})" if outcome.reason else "")
    if outcome.status == "paused" and _worker_stop.is_set():
        with opened_queue(settings) as app:  # drained by this worker's stop: another worker goes on
            defer_job(app, job_id)
    elif outcome.status == "waiting":
        from cmo_agent.stages.follow_up import due_at

        due = due_at(outcome.state)
        if due is not None:
            with opened_queue(settings) as app:
                defer_job(app, job_id, at=due)


def drain_worker() -> None:
    """Ask every job this process runs to finish its step, checkpoint and stop."""
    _worker_stop.set()


async def recover_stalled(app: Any, seconds: float) -> int:
    """Put back the tasks of workers whose heartbeat stopped `seconds` ago (killed, lost); how many."""
    recovered = 0
    for job in await app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=seconds):
        try:
            await app.job_manager.retry_job(job)
        except Exception as exc:  # another worker put it back first
            log.debug("stalled task %s not retried: %s", job.id, exc)
            continue
        log.warning("task %s (job %s) of a stalled worker is queued again", job.id, job.task_kwargs.get("job_id"))
        recovered += 1
    return recovered
